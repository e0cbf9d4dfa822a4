#!/usr/bin/env python3
"""A batch job whose speed depends on two settings it reads from the environment.

    WORKERS      worker processes (default 1)
    BATCH_SIZE   items handed to a worker at a time (default 1)

Each batch pays a fixed setup cost (like loading a model's state or opening a connection) and
then a cost per item, so small batches waste time on setup and hand-offs between processes, and
large ones leave workers idle at the end of the job. The best pair depends on the machine; the
job prints its throughput for paratune to read:

    throughput: <items per second>

Standard library only (python3 >= 3.8).
"""
import hashlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ITEMS = int(os.environ.get("ITEMS", "1000"))
# Hash rounds per item and per batch set-up: the per-item and fixed costs of the job.
ROUNDS_PER_ITEM = 60
ROUNDS_PER_BATCH = 120


def positive(name, default):
    text = os.environ.get(name, str(default))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        sys.exit(f"{name} must be a positive whole number, got {text!r}")
    return value


def chain(seed, rounds):
    digest = seed
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest


def process_batch(first, count):
    state = chain(b"setup", ROUNDS_PER_BATCH)
    checksum = 0
    for item in range(first, first + count):
        checksum ^= chain(state + item.to_bytes(8, "little"), ROUNDS_PER_ITEM)[0]
    return checksum


def main():
    workers = positive("WORKERS", 1)
    batch = positive("BATCH_SIZE", 1)
    batches = [(first, min(batch, ITEMS - first)) for first in range(0, ITEMS, batch)]
    started = time.perf_counter()
    checksum = 0
    if workers == 1:
        for first, count in batches:
            checksum ^= process_batch(first, count)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(process_batch, *zip(*batches)):
                checksum ^= result
    seconds = time.perf_counter() - started
    print(f"workers={workers} batch={batch} items={ITEMS} checksum={checksum} seconds={seconds:.3f}")
    print(f"throughput: {ITEMS / seconds:.1f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A small data-parallel training run whose speed depends on how it is launched.

    torchrun --standalone --nproc_per_node N train.py

reads, like the pipelines it stands for, its settings from the environment:

    NPROC_PER_NODE  processes on this node; must match torchrun's --nproc_per_node
    BATCH_SIZE      samples per process per step (default 32)
    STEPS           timed steps (default 20), after WARMUP_STEPS untimed ones (default 5)

Each process trains a copy of a small transformer language model on random tokens with
DistributedDataParallel: NCCL on GPUs (one per process), gloo on CPUs. Rank 0 prints

    throughput: <samples per second, all processes together>

timed between barriers after the warm-up steps, so start-up and compilation are not part of it.
Needs PyTorch; nothing is downloaded.
"""
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

VOCAB = 8192
SEQ_LEN = 256
D_MODEL = 768
LAYERS = 6
HEADS = 12


def positive(name, default):
    text = os.environ.get(name, str(default))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        sys.exit(f"{name} must be a positive whole number, got {text!r}")
    return value


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D_MODEL)
        self.position = nn.Parameter(torch.zeros(1, SEQ_LEN, D_MODEL))
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, 4 * D_MODEL, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.head = nn.Linear(D_MODEL, VOCAB)

    def forward(self, tokens):
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1], device=tokens.device)
        x = self.embed(tokens) + self.position[:, : tokens.shape[1]]
        return self.head(self.blocks(x, mask=mask, is_causal=True))


def main():
    batch = positive("BATCH_SIZE", 32)
    steps = positive("STEPS", 20)
    warmup = positive("WARMUP_STEPS", 5)
    nproc = positive("NPROC_PER_NODE", 1)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if local_world != nproc:
        sys.exit(f"NPROC_PER_NODE={nproc} but torchrun started {local_world} processes on this node: pass the same number to both")

    cuda = torch.cuda.is_available()
    if cuda and torch.cuda.device_count() < local_world:
        sys.exit(f"{local_world} processes per node but only {torch.cuda.device_count()} GPUs")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if not cuda:
        # Processes share the CPU cores: one thread pool each, of the node's share.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))

    torch.manual_seed(1234 + rank)
    model = TinyLM().to(device)
    ddp = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    optimizer = torch.optim.AdamW(ddp.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    tokens = torch.randint(0, VOCAB, (batch, SEQ_LEN + 1), device=device)
    amp = torch.autocast(device_type="cuda", dtype=torch.bfloat16) if cuda else torch.autocast(device_type="cpu", enabled=False)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with amp:
            logits = ddp(tokens[:, :-1])
            loss = loss_fn(logits.reshape(-1, VOCAB).float(), tokens[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    dist.barrier()
    started = time.perf_counter()
    for _ in range(steps):
        loss = step()
    if cuda:
        torch.cuda.synchronize()
    dist.barrier()
    seconds = time.perf_counter() - started

    if rank == 0:
        samples = batch * steps * world
        where = f"{world} x {torch.cuda.get_device_name(local_rank)}" if cuda else f"{world} CPU processes"
        print(f"processes={world} batch={batch} steps={steps} loss={loss.item():.3f} seconds={seconds:.3f} on {where}")
        print(f"throughput: {samples / seconds:.1f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Replays Optuna's TPE sampler on a paratune landscape, with the statistics `paratune replay`
prints, so the two can be compared on the same recorded data (bench/tuners-vs-tpe.sh).

Rules, kept the same as src/replay.ts:
- a row with "ok": 0 or an objective of 0 is a failed trial; configurations not in the table are
  outside the space;
- each seed runs at least N trials, then on until 99% of the table's best is reached (or every
  configuration has been measured), so trials-to-target is a number for every seed;
- quartiles use the same rule (linear interpolation, Infinity for a seed that never got there).

Where TPE differs from our tuners we give it the benefit of the doubt: a configuration TPE suggests
again is answered from a cache and not counted as a trial, and a suggestion outside the table is
failed without counting. Numeric parameters are suggested as an integer index into their sorted
values (so TPE sees their order; for powers of two that is a log scale), categorical ones with
suggest_categorical. A failed trial is told the worst possible value (0 for a maximized
objective), which TPE can learn from; Optuna's own FAIL state would hide it from TPE.
"""

import argparse
import json
import math
import sys
import time

import optuna


def quantile(xs, p):
    # linear interpolation (numpy type 7) with Infinity for seeds that never got there, as in
    # src/replay.ts
    idx = (len(xs) - 1) * p
    lo, hi = math.floor(idx), math.ceil(idx)
    if lo == hi or xs[lo] == xs[hi]:
        return xs[lo]
    if math.isinf(xs[hi]):
        return math.inf
    return xs[lo] + (idx - lo) * (xs[hi] - xs[lo])


def quartiles(values):
    xs = sorted(values)
    return {"q1": quantile(xs, 0.25), "median": quantile(xs, 0.5), "q3": quantile(xs, 0.75)}


def load(path, params, objective):
    rows = {}
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        ok = r.get("ok", 1) in (1, True)
        v = r.get(objective)
        value = v if ok and isinstance(v, (int, float)) and v != 0 else None
        rows[tuple(r[p] for p in params)] = value
    return rows


def run_seed(rows, params, values_of, best, minimize, trials, seed):
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="minimize" if minimize else "maximize", sampler=sampler)
    worst = max(v for v in rows.values() if v is not None) * 10 if minimize else 0.0
    seen = {}
    best_fraction = 0.0
    reach95 = reach99 = None
    fraction_at_n = 0.0
    curve = []
    asked = 0
    # TPE keeps re-suggesting measured points once it has settled (its ask also slows down as the
    # study grows); give up after 5 suggestions per configuration: the target counts as never reached.
    limit = 5 * len(rows)
    while len(seen) < len(rows) and asked < limit:
        if len(curve) >= trials and reach99 is not None:
            break
        asked += 1
        trial = study.ask()
        key = []
        for p in params:
            vals = values_of[p]
            if all(isinstance(v, (int, float)) for v in vals):
                key.append(vals[trial.suggest_int(p, 0, len(vals) - 1)])
            else:
                key.append(trial.suggest_categorical(p, vals))
        key = tuple(key)
        if key not in rows:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        value = rows[key]
        told = worst if value is None else value
        if key in seen:
            study.tell(trial, told)
            continue
        seen[key] = value
        study.tell(trial, told)
        if value is not None:
            best_fraction = max(best_fraction, best / value if minimize else value / best)
        curve.append(best_fraction)
        t = len(curve)
        if reach95 is None and best_fraction >= 0.95 - 1e-12:
            reach95 = t
        if reach99 is None and best_fraction >= 0.99 - 1e-12:
            reach99 = t
        if t <= trials:
            fraction_at_n = best_fraction
    return {"seed": seed, "reach95": reach95, "reach99": reach99, "fractionAtN": fraction_at_n, "trials": len(curve), "suggestions": asked}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--landscape", required=True)
    ap.add_argument("--params", required=True)
    ap.add_argument("--objective", required=True)
    ap.add_argument("--minimize", action="store_true")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = [p.strip() for p in a.params.split(",") if p.strip()]
    rows = load(a.landscape, params, a.objective)
    values_of = {}
    for i, p in enumerate(params):
        vals = sorted({k[i] for k in rows}, key=lambda v: (isinstance(v, str), v))
        values_of[p] = vals
    ok = [v for v in rows.values() if v is not None]
    best = min(ok) if a.minimize else max(ok)
    started = time.time()
    seeds = [run_seed(rows, params, values_of, best, a.minimize, a.trials, a.seed + s) for s in range(a.seeds)]
    inf = lambda v: math.inf if v is None else v
    result = {
        "tuner": "tpe",
        "optuna": optuna.__version__,
        "configurations": len(rows),
        "reach95": quartiles([inf(s["reach95"]) for s in seeds]),
        "reach99": quartiles([inf(s["reach99"]) for s in seeds]),
        "fractionAtN": quartiles([s["fractionAtN"] for s in seeds]),
        "successAtN": sum(1 for s in seeds if s["reach95"] is not None and s["reach95"] <= a.trials) / len(seeds),
        "seeds": seeds,
        "elapsedMs": (time.time() - started) * 1000,
    }
    if a.json:
        # JSON has no Infinity: a seed that never got there is null, as in `paratune replay --json`.
        def clean(o):
            if isinstance(o, float) and math.isinf(o):
                return None
            if isinstance(o, dict):
                return {k: clean(v) for k, v in o.items()}
            if isinstance(o, list):
                return [clean(v) for v in o]
            return o
        json.dump(clean(result), sys.stdout, indent=2)
        print()
    else:
        f = lambda q, d=0: " ".join(("never" if math.isinf(q[k]) else f"{q[k]:.{d}f}") for k in ("median", "q1", "q3"))
        print(f"tpe (optuna {optuna.__version__}) on {a.landscape}: {len(rows)} configurations, {a.seeds} seeds, N = {a.trials}")
        print(f"  trials to 95%  median q1 q3: {f(result['reach95'])}")
        print(f"  trials to 99%  median q1 q3: {f(result['reach99'])}")
        print(f"  best after N   median q1 q3: {f({k: v * 100 for k, v in result['fractionAtN'].items()}, 1)} %")
        print(f"  95% within N: {result['successAtN'] * 100:.0f} %   time {result['elapsedMs'] / 1000:.1f}s")


if __name__ == "__main__":
    main()

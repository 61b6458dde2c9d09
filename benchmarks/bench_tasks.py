"""Benchmark: how fast the N-back generator is and how much memory trial sets take.

Prints sequences per second and megabytes for one million MTMF sequences (T = 6) on a synthetic stimulus
layout matching the quick profile (4 categories x 12 identities x 4 angles x 4 locations, training pool
= 60 % of identities x 3 angles), plus the per-step cost of TrialStream.sample_batch at training batch sizes.
Run: .venv/bin/python benchmarks/bench_tasks.py [n_sequences]
"""
from __future__ import annotations

import sys
import time

import numpy as np

from wmnb.tasks import TrialStream, generate_trials


def synthetic_labels(K=12, n_angles=4):
    idx = np.arange(4 * K * n_angles * 4)
    ident = idx // (4 * n_angles)
    return {"location": idx % 4, "identity": ident, "category": ident // K, "angle": (idx // 4) % n_angles}


def main(n_sequences: int = 1_000_000) -> None:
    K = 12
    labels = synthetic_labels(K)
    pool = np.flatnonzero((labels["angle"] < 3) & (labels["identity"] % K < int(K * 0.6)))
    per = -(-n_sequences // 9)
    generate_trials(labels, pool, "MTMF", 10, seed=0)          # warm-up
    best = np.inf
    for rep in range(3):
        t0 = time.perf_counter()
        tr = generate_trials(labels, pool, "MTMF", per, seed=rep)
        best = min(best, time.perf_counter() - t0)
    B = len(tr)
    print(f"generate_trials MTMF: {B:,} sequences x {tr.seq_len} steps (pool {pool.size} images)")
    print(f"  time {best:.2f} s (best of 3)  ->  {B / best:,.0f} sequences/s")
    print(f"  memory {tr.nbytes / 1e6:.0f} MB for all index arrays (int64 per the contract); "
          f"stimuli alone {tr.stimuli.nbytes / 1e6:.0f} MB")
    del tr
    stream = TrialStream(labels, pool, "MTMF")
    rng = np.random.default_rng(0)
    for bs in (32, 256):
        n = 2000
        t0 = time.perf_counter()
        for _ in range(n):
            stream.sample_batch(rng, bs)
        dt = (time.perf_counter() - t0) / n
        print(f"TrialStream.sample_batch(batch_size={bs}): {dt * 1e6:.0f} us per batch")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

"""Time for one quick MTMF GRU run to reach 97 % masked novel-angle accuracy: alone on the machine's cores (how
the book trained before, one run after another) and two runs side by side on one torch thread each (how
``wmnb book build`` trains now, :func:`wmnb.book.pretrain`).

    .venv/bin/python benchmarks/bench_time_to_accuracy.py [--target 0.97] [--seeds 0 1] [--threads-alone 2]

Every run is trained from scratch into a temporary cache (the stimulus world and its features come from the
default cache; run ``wmnb assets`` first). The time to the target is the training wall time at the first
evaluation (every 100 steps at quick) whose novel-angle masked accuracy is >= the target ("not reached" when
none is). Prints one row per run and, for the paired mode, the wall time per run (wall / 2). Figures depend on
the machine and its load (printed).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time


def _train(seed: int, threads: int, cache: str, target: float) -> dict:
    import torch

    from wmnb import pipeline
    from wmnb.training import train

    torch.set_num_threads(threads)
    w = pipeline.world()
    cfg = pipeline.train_config("MTMF", "gru", seed=seed, profile="quick", threads=threads)
    t0 = time.perf_counter()
    run = train(w.stimuli, w.features, cfg, cache_dir=cache, progress=False)
    wall = time.perf_counter() - t0
    h = run.history
    na = h[(h.split == "novel_angle") & (h.feature == "all")]
    hit = na[na.accuracy >= target]
    return dict(seed=seed, threads=threads, wall_s=wall, train_s=float(run.info["train_seconds"]),
                step_to_target=int(hit.step.iloc[0]) if len(hit) else None,
                s_to_target=float(hit.seconds.iloc[0]) if len(hit) else None,
                final=float(na.accuracy.iloc[-1]))


def _row(mode: str, r: dict) -> str:
    to = "not reached" if r["s_to_target"] is None else f"{r['s_to_target']:6.1f} s (step {r['step_to_target']})"
    return (f"{mode:>8} seed {r['seed']} threads {r['threads']}: to target {to}; whole run {r['train_s']:6.1f} s; "
            f"final novel-angle accuracy {r['final']:.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, default=0.97)
    ap.add_argument("--seeds", type=int, nargs=2, default=[0, 1])
    ap.add_argument("--threads-alone", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--skip-alone", action="store_true")
    a = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}; target {a.target}")
    ctx = mp.get_context("spawn")
    if not a.skip_alone:
        with tempfile.TemporaryDirectory() as cache, ctx.Pool(1) as pool:
            r = pool.apply(_train, (a.seeds[0], a.threads_alone, cache, a.target))
        print(_row("alone", r), flush=True)
    with tempfile.TemporaryDirectory() as cache, ctx.Pool(2) as pool:
        t0 = time.perf_counter()
        rs = pool.starmap(_train, [(s, 1, cache, a.target) for s in a.seeds])
        wall = time.perf_counter() - t0
    for r in rs:
        print(_row("paired", r))
    print(f"  paired: two runs in {wall:.1f} s of wall time = {wall / 2:.1f} s per run "
          f"(alone: one run at a time on {a.threads_alone} threads)")


if __name__ == "__main__":
    main()

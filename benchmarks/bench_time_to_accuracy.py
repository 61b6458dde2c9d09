"""Time for one quick MTMF GRU run to reach 97 % masked novel-angle accuracy, before and after the training
levers of issue 14:

* **before**: float32 training, one run alone on the machine's cores (how the book trained until stop 9);
* **after**: the quick profile's precision (``precision="auto"``: bfloat16 autocast where the CPU or GPU
  multiplies bfloat16 natively, float32 elsewhere; :func:`wmnb.training.native_bf16`), one run alone;
* **paired** (``--paired``): two float32 runs side by side on one torch thread each, the lever that did not pay
  on a 2-core machine (stop 9: 61 s per run against 55 s alone).

    .venv/bin/python benchmarks/bench_time_to_accuracy.py [--target 0.97] [--seeds 0 1] [--threads 2] [--paired]

Every run is trained from scratch into a temporary cache (the stimulus world and its features come from the
default cache; run ``wmnb assets`` first), each in a fresh process. The time to the target is the training wall
time at the first evaluation (every 100 steps at quick) whose novel-angle masked accuracy is >= the target ("not
reached" when none is). Figures depend on the machine and its load (both printed): run it on an idle machine.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time


def _train(seed: int, threads: int, cache: str, target: float, precision: str) -> dict:
    import torch

    from wmnb import pipeline
    from wmnb.training import train

    torch.set_num_threads(threads)
    w = pipeline.world()
    cfg = pipeline.train_config("MTMF", "gru", seed=seed, profile="quick", threads=threads, precision=precision)
    t0 = time.perf_counter()
    run = train(w.stimuli, w.features, cfg, cache_dir=cache, progress=False)
    wall = time.perf_counter() - t0
    h = run.history
    na = h[(h.split == "novel_angle") & (h.feature == "all")]
    hit = na[na.accuracy >= target]
    return dict(seed=seed, threads=threads, precision=cfg.precision, wall_s=wall,
                train_s=float(run.info["train_seconds"]),
                step_to_target=int(hit.step.iloc[0]) if len(hit) else None,
                s_to_target=float(hit.seconds.iloc[0]) if len(hit) else None,
                final=float(na.accuracy.iloc[-1]))


def _row(mode: str, r: dict) -> str:
    to = "not reached" if r["s_to_target"] is None else f"{r['s_to_target']:6.1f} s (step {r['step_to_target']})"
    return (f"{mode:>7} {r['precision']} seed {r['seed']} threads {r['threads']}: to target {to}; "
            f"whole run {r['train_s']:6.1f} s; final novel-angle accuracy {r['final']:.3f}")


def main(argv=None):
    from wmnb.training import native_bf16

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, default=0.97)
    ap.add_argument("--seeds", type=int, nargs=2, default=[0, 1])
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--paired", action="store_true", help="also train two fp32 runs side by side")
    a = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}, native bfloat16: "
          f"{native_bf16('cpu')}; target {a.target}")
    ctx = mp.get_context("spawn")
    for mode, precision in (("before", "fp32"), ("after", "auto")):
        with tempfile.TemporaryDirectory() as cache, ctx.Pool(1) as pool:
            r = pool.apply(_train, (a.seeds[0], a.threads, cache, a.target, precision))
        print(_row(mode, r), flush=True)
    if a.paired:
        with tempfile.TemporaryDirectory() as cache, ctx.Pool(2) as pool:
            t0 = time.perf_counter()
            rs = pool.starmap(_train, [(s, 1, cache, a.target, "fp32") for s in a.seeds])
            wall = time.perf_counter() - t0
        for r in rs:
            print(_row("paired", r))
        print(f"  paired: two runs in {wall:.1f} s of wall time = {wall / 2:.1f} s per run")


if __name__ == "__main__":
    main()

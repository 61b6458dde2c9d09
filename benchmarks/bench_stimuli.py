"""Stimulus-set throughput: images per second per mesh source, with the numpy renderer.

Usage: ``.venv/bin/python benchmarks/bench_stimuli.py [--identities 12] [--image-size 224]``

For each available source (procedural always; debian when ``wmnb assets`` has been run) it builds the
default stimulus set cold (fresh stimulus cache and, for debian, a fresh parsed-mesh cache) and then loads
it from the cache, and prints the times and images per second. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from wmnb.stimuli import StimulusConfig, build_stimulus_set, procedural_mesh
from wmnb.stimuli.render import render_object


def _time(fn, repeat=1):
    t = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t) / repeat, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=12)
    ap.add_argument("--image-size", type=int, default=224)
    args = ap.parse_args()
    S, K = args.image_size, args.identities
    print(f"bench_stimuli: K={K}, image_size={S}, renderer=numpy z-buffer (wmnb.stimuli.render), "
          f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}")

    t_mesh, mesh = _time(lambda: [procedural_mesh(c, k) for c in ("airplane", "car", "chair", "table")
                                  for k in range(8)])
    print(f"  procedural mesh build: {1000 * t_mesh / 32:.1f} ms per object")
    m = procedural_mesh("chair", 1)
    t_r, _ = _time(lambda: render_object(m, 30, 15, S // 2, supersample=3), repeat=5)
    print(f"  render one {S // 2}px crop (supersample 3, {m.n_faces} faces): {1000 * t_r:.1f} ms")

    sources = ["procedural"]
    try:
        from wmnb.stimuli import debian

        if debian.assets_present():
            sources.append("debian")
        else:
            print(f"  debian: skipped (assets not in {debian.default_assets_dir()}; run `wmnb assets`)")
    except Exception as exc:  # pragma: no cover
        print(f"  debian: skipped ({exc})")

    for src in sources:
        cfg = StimulusConfig(source=src, identities_per_category=K, image_size=S)
        with tempfile.TemporaryDirectory(prefix="wmnb-bench-") as tmp:
            if src == "debian":  # reuse the extracted packages, but parse meshes cold
                (Path(tmp) / "assets").mkdir()
                os.symlink(debian.default_assets_dir().resolve(), Path(tmp) / "assets" / "debian")
            t_cold, stim = _time(lambda: build_stimulus_set(cfg, cache_dir=tmp, progress=False))
            t_warm, _ = _time(lambda: build_stimulus_set(cfg, cache_dir=tmp, progress=False))
        n, crops = len(stim), len(stim.crops)
        print(f"  {src:10s} cold build: {t_cold:6.1f} s for {n} images ({crops} renders): "
              f"{n / t_cold:7.1f} images/s, {crops / t_cold:6.1f} renders/s; "
              f"cached load: {t_warm:5.2f} s ({n / t_warm:7.0f} images/s)")


if __name__ == "__main__":
    main()

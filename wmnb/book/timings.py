"""The measured wall time of every executed page (``book/_executed/timings.json``) and the table of it that the
reproducibility page includes.

Besides one entry per page, two entries describe the last execution as a whole: ``_training`` (the runs the
chapters needed, trained first, ``jobs`` at a time, with each run's own training time) and ``_wall`` (the wall
time of the whole execution, pages run ``jobs`` at a time: less than the sum of the pages' times).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..cache import atomic_write_json
from .chapters import CHAPTERS

TIMINGS = "timings.json"


def record_time(out_dir: Path, page: str, profile: str, seconds: float) -> None:
    """Keep the wall time of a page's last execution in ``out_dir/timings.json`` (one entry per page)."""
    path = out_dir / TIMINGS
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[page] = dict(profile=profile, seconds=round(float(seconds), 1),
                      when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()), cores=os.cpu_count())
    atomic_write_json(path, data)


def _update(out_dir: Path, name: str, entry: dict) -> None:
    path = out_dir / TIMINGS
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = dict(entry, when=time.strftime("%Y-%m-%d %H:%M", time.gmtime()), cores=os.cpu_count())
    atomic_write_json(path, data)


def record_training(out_dir: Path, profile: str, seconds: float, jobs: int, runs: dict[str, float]) -> None:
    """Keep the wall time of the training stage and each run's training time (label -> seconds)."""
    _update(out_dir, "_training", dict(profile=profile, seconds=round(float(seconds), 1), jobs=int(jobs),
                                       runs={k: float(v) for k, v in runs.items()}))


def record_wall(out_dir: Path, profile: str, seconds: float, jobs: int, pages: int) -> None:
    """Keep the wall time of the last execution (training stage included) of ``pages`` pages."""
    _update(out_dir, "_wall", dict(profile=profile, seconds=round(float(seconds), 1), jobs=int(jobs),
                                   pages=int(pages)))


def timings_markdown(out_dir: Path) -> str:
    """The measured time of every page's last execution, as the Markdown table the reproducibility page
    includes (``book/_executed/timings.md``)."""
    path = out_dir / TIMINGS
    data = json.loads(path.read_text()) if path.is_file() else {}
    rows = [(r.page, data[r.page]) for r in CHAPTERS if r.page in data]
    if not rows:
        return "No chapter of this build has been executed and timed yet.\n"
    lines = ["| page | profile | executed (UTC) | wall time |", "|---|---|---|---|"]
    for page, d in rows:
        lines.append(f"| `{page}` | {d['profile']} | {d['when']} | {d['seconds'] / 60:.1f} min |")
    total = sum(d["seconds"] for _, d in rows)
    lines.append(f"| **all pages above, one after another** | | | **{total / 60:.1f} min** |")
    tr = data.get("_training")
    if tr:
        lines.append(f"| training stage before the pages ({len(tr['runs'])} runs, {tr['jobs']} at a time) | "
                     f"{tr['profile']} | {tr['when']} | {tr['seconds'] / 60:.1f} min |")
    wall = data.get("_wall")
    if wall:
        lines.append(f"| **last execution, wall time** ({wall['pages']} pages, {wall['jobs']} at a time, training "
                     f"stage included) | {wall['profile']} | {wall['when']} | **{wall['seconds'] / 60:.1f} min** |")
    if tr and tr["runs"]:
        secs = sorted(tr["runs"].values())
        how = ("one at a time on all of torch's threads" if tr["jobs"] == 1
               else f"{tr['jobs']} at a time, one torch thread each")
        lines += ["", f"Training times of the {len(secs)} runs of that stage ({how}): median "
                  f"{secs[len(secs) // 2]:.0f} s, longest {secs[-1]:.0f} s ({max(tr['runs'], key=tr['runs'].get)})."]
    return "\n".join(lines) + "\n"

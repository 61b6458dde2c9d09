"""The measured wall time of every executed page (``book/_executed/timings.json``) and the table of it that the
reproducibility page includes."""
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
    lines.append(f"| **all pages above** | | | **{total / 60:.1f} min** |")
    return "\n".join(lines) + "\n"

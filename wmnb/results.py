"""A cache for computed result tables, so a chapter and the claims dashboard share one computation.

``cached_table("cross_task", {"runs": [...keys], "n": 2000}, compute)`` returns the DataFrame ``compute()``
made the first time for that exact description, read back from ``<cache>/results/<kind>-<hash>/table.csv``
afterwards. Writes are atomic and verified like every wmnb cache.

The key is the sha256 of the description (the caller's parameters and the runs/recordings it read) *and* of
the code that computes tables (:func:`code_hash`: the source of every module listed in :data:`CODE_SOURCES`),
so editing an analysis function recomputes its tables on the next build; no version number needs bumping.
"""
from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .cache import CacheEntry, atomic_write_bytes, config_hash, default_cache_dir, entry_lock

#: the package folder whose modules the code hash reads
PACKAGE_DIR = Path(__file__).resolve().parent
#: modules (files or packages, relative to :data:`PACKAGE_DIR`) whose source decides a table's numbers.
#: Coarse on purpose: an edit in any of them recomputes every table, which is always correct.
CODE_SOURCES = ("analysis", "experiments", "recording.py", "tasks.py", "models.py", "pipeline.py")


def _source_files(root: Path, sources: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for name in sources:
        p = root / name
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return files


@functools.lru_cache(maxsize=None)
def _hash_sources(root: Path, sources: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for f in _source_files(root, sources):
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes() if f.exists() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()[:16]


def code_hash() -> str:
    """sha256 (16 hex digits) of the source of :data:`CODE_SOURCES`, computed once per process."""
    return _hash_sources(PACKAGE_DIR, tuple(CODE_SOURCES))


def cached_table(kind: str, description: Any, compute: Callable[[], pd.DataFrame], *, cache_dir=None,
                 force: bool = False, sources: tuple[str, ...] = CODE_SOURCES) -> pd.DataFrame:
    """Return ``compute()`` for ``description`` and the current analysis code, computing it at most once
    per cache.

    ``sources`` (paths relative to the package, files or folders) are the code whose source is part of the
    key; the default is the analysis stack (:data:`CODE_SOURCES`). A chapter with its own self-contained
    module (e.g. ``("superposition.py",)``) names it, so its edits recompute only its own tables.
    """
    code = _hash_sources(PACKAGE_DIR, tuple(sources))
    key = config_hash({"description": description, "code": code}, kind=kind)
    entry = CacheEntry(cache_dir or default_cache_dir(), "results", f"{kind}-{key}")
    if not force and entry.complete():
        return pd.read_csv(entry.path("table.csv"), keep_default_na=False, na_values=[""])
    # one writer per table across processes: a chapter executing in parallel that needs the same table waits
    # for it and reads it, instead of computing it a second time
    with entry_lock(entry):
        if force or not entry.complete():
            table = compute()
            if not isinstance(table, pd.DataFrame):
                raise TypeError(f"compute() for {kind!r} must return a pandas DataFrame, "
                                f"got {type(table).__name__}")
            entry.begin()
            buf = io.StringIO()
            table.to_csv(buf, index=False)
            atomic_write_bytes(entry.path("table.csv"), buf.getvalue().encode())
            entry.commit({"kind": kind, "rows": len(table), "code": code})
    return pd.read_csv(entry.path("table.csv"), keep_default_na=False, na_values=[""])

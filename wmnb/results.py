"""A cache for computed result tables, so a chapter and the claims dashboard share one computation.

``cached_table("cross_task", {"runs": [...keys], "n": 2000}, compute)`` returns the DataFrame ``compute()``
made the first time for that exact description (sha256 of its canonical JSON), read back from
``<cache>/results/<kind>/<hash>/table.csv`` afterwards. Writes are atomic and verified like every wmnb cache.
"""
from __future__ import annotations

import io
from typing import Any, Callable

import pandas as pd

from .cache import CacheEntry, atomic_write_bytes, config_hash, default_cache_dir


def cached_table(kind: str, description: Any, compute: Callable[[], pd.DataFrame], *, cache_dir=None,
                 force: bool = False) -> pd.DataFrame:
    """Return ``compute()`` for ``description``, computing it at most once per cache."""
    entry = CacheEntry(cache_dir or default_cache_dir(), "results", f"{kind}-{config_hash(description, kind=kind)}")
    if not force and entry.complete():
        return pd.read_csv(entry.path("table.csv"), keep_default_na=False, na_values=[""])
    table = compute()
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"compute() for {kind!r} must return a pandas DataFrame, got {type(table).__name__}")
    entry.begin()
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    atomic_write_bytes(entry.path("table.csv"), buf.getvalue().encode())
    entry.commit({"kind": kind, "rows": len(table)})
    return pd.read_csv(entry.path("table.csv"), keep_default_na=False, na_values=[""])

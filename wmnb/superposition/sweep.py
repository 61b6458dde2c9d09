"""Profiles, parameter checks and the cached sweep over (kind, d, S, seed).

Everything trained here is trained once per (parameters, code): :func:`sweep_table` goes through
:func:`wmnb.results.cached_table` with ``sources`` = the task/model, measures and sweep modules.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import SUPERPOSITION, check_seeds, sizes
from ..errors import ConfigError, check_choice, check_float, check_int
from .measures import COS_BINS, measure_stack
from .model import StackConfig, train_stack

__all__ = ["SOURCES", "HIST_COLUMNS", "check_params", "sweep_configs", "sweep_table", "stacks_table",
           "histogram"]

#: the code whose source is part of the cache keys (edits elsewhere, e.g. in the claim rules, keep the caches)
SOURCES = ("superposition/model.py", "superposition/measures.py", "superposition/sweep.py")
#: cosine-histogram columns of the tables (counts per bin of :data:`wmnb.superposition.measures.COS_BINS`)
HIST_COLUMNS = [f"h{i:02d}" for i in range(len(COS_BINS) - 1)]


def check_params(profile: str, n=None, k=None, d=None, sparsities=None, seeds=None, nonlinear=None) -> dict:
    """The sweep's parameters with the profile's defaults filled in, validated before any work (ConfigError
    naming parameter, value and what is allowed)."""
    p = dict(sizes(SUPERPOSITION, profile))
    if n is not None:
        p["n"] = check_int("n", n, low=2, high=64)
    if k is not None:
        p["k"] = check_int("k", k, low=1, high=12)
    if d is not None:
        p["d"] = check_int("d", d, low=1, high=256)
    if sparsities is not None:
        vals = (sparsities,) if isinstance(sparsities, (int, float)) else tuple(sparsities)
        if len(vals) < 2:
            raise ConfigError(f"sparsities={sparsities!r} needs at least two values in [0, 1)")
        vals = tuple(sorted(check_float("sparsities", s, low=0.0, high=0.999) for s in vals))
        if len(set(vals)) != len(vals):
            raise ConfigError(f"sparsities={sparsities!r} has repeated values")
        p["sparsities"] = vals
    if seeds is not None:
        p["seeds"] = check_seeds("seeds", [seeds] if isinstance(seeds, int) else seeds, allow_none=False)
    if nonlinear is not None:
        p["nonlinear"] = check_choice("nonlinear", nonlinear, ("tanh", "relu", "none"))
    p["phase_ds"] = tuple(sorted({x for x in p["phase_ds"] if x != p["d"]}))
    return p


def sweep_configs(p: dict) -> list[StackConfig]:
    """The stacks of one sweep: linear nets over (phase_ds + d + the control d = n*k) x S x seeds, and the
    nonlinear nets at d over S x seeds."""
    ds = tuple(sorted(set(p["phase_ds"]) | {p["d"], p["n"] * p["k"]}))
    common = dict(n=p["n"], k=p["k"], sparsities=p["sparsities"], seeds=p["seeds"], steps=p["steps"],
                  batch=p["batch"], lr=p["lr"])
    out = [StackConfig(kind="linear", ds=ds, **common)]
    if p.get("nonlinear", "none") != "none":
        out.append(StackConfig(kind=p["nonlinear"], ds=(p["d"],), **common))
    return out


def _histogram_columns(hist: pd.DataFrame, keys) -> pd.DataFrame:
    wide = hist.pivot_table(index=keys, columns="bin_lo", values="count", aggfunc="sum").reset_index()
    bins = [c for c in wide.columns if c not in keys]
    return wide.rename(columns={b: HIST_COLUMNS[i] for i, b in enumerate(sorted(bins))})


def sweep_table(p: dict, *, device="auto", progress: bool = True, cache_dir=None) -> pd.DataFrame:
    """Train (once; cached) and measure every network of the sweep ``p`` (from :func:`check_params`).

    Returns one row per network: the columns of :func:`wmnb.superposition.measures.measure_stack` plus
    ``final_train_loss``, ``train_seconds`` (of its whole stack) and the cosine histogram ``h00``..``h19``."""
    from ..results import cached_table

    desc = {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()}

    return cached_table("superposition_sweep", desc, lambda: stacks_table(sweep_configs(p), device, progress),
                        cache_dir=cache_dir, sources=SOURCES)


def stacks_table(configs, device="auto", progress: bool = False) -> pd.DataFrame:
    """Train each :class:`StackConfig` of ``configs`` and measure its networks: one row per network with the
    measures of :func:`wmnb.superposition.measures.measure_stack`, ``final_train_loss``, ``train_seconds`` (of
    its whole stack) and the cosine histogram ``h00``..``h19`` (uncached; the sweeps cache it)."""
    tables = []
    for cfg in configs:
        trained = train_stack(cfg, device=device, progress=progress)
        nets, hist = measure_stack(trained)
        nets["final_train_loss"] = trained.loss_curve[-1]
        nets["train_seconds"] = trained.seconds
        keys = ["kind", "n", "k", "d", "sparsity", "seed"]
        tables.append(nets.merge(_histogram_columns(hist, keys), on=keys))
    return pd.concat(tables, ignore_index=True)


def histogram(table: pd.DataFrame) -> np.ndarray:
    """(rows, 20) cosine-histogram counts of a sweep or N-back table."""
    return table[HIST_COLUMNS].to_numpy(dtype=float)

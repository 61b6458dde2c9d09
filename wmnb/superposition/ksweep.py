"""The sweep over the delay k at a fixed capacity ratio d / (n k).

The S sweep and the phase diagram of :mod:`wmnb.superposition.sweep` vary the hidden size at one delay k.
This sweep varies k (1 = no temporal load: one item recalled after one step) and scales the hidden size with
it, ``d_k = round(d * k / k_main)``, so that every k sits at the main sweep's ratio d / (n k): what changes
between the rows is how the same relative capacity is spread over time, not how much capacity there is.
Linear RNNs only (the T1/T2 model), same n, S grid, seeds and training as the main sweep, so the k = k_main
row is the main sweep's own networks (reused, not retrained: :func:`with_main`).

Cached per (parameters, code) under its own kind (``superposition_ksweep``) with its own sources, so neither
sweep invalidates the other.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..config import SUPERPOSITION_KS, sizes
from ..errors import ConfigError, check_int
from .model import StackConfig

__all__ = ["KSWEEP_SOURCES", "check_ks", "k_hidden_size", "ksweep_configs", "ksweep_table", "with_main",
           "k_summary"]

#: the code whose source is part of the k sweep's cache key
KSWEEP_SOURCES = ("superposition/model.py", "superposition/measures.py", "superposition/sweep.py",
                  "superposition/ksweep.py")
#: largest k of the sweep (the sequence is 2 k steps long)
MAX_K = 12


def check_ks(ks, profile: str = "quick") -> tuple[int, ...]:
    """The k grid (None: the profile's :data:`wmnb.config.SUPERPOSITION_KS`), validated before any work: at least two distinct delays in
    1..:data:`MAX_K`, returned sorted. Raises ConfigError naming ``ks``, its value and what is allowed."""
    if ks is None:
        return sizes(SUPERPOSITION_KS, profile)
    vals = (ks,) if isinstance(ks, (int, np.integer)) else tuple(ks)
    if len(vals) < 2:
        raise ConfigError(f"ks={ks!r} needs at least two delays, integers in 1..{MAX_K}")
    vals = tuple(sorted(check_int("ks", x, low=1, high=MAX_K) for x in vals))
    if len(set(vals)) != len(vals):
        raise ConfigError(f"ks={ks!r} has repeated values; allowed: distinct integers in 1..{MAX_K}")
    return vals


def k_hidden_size(p: dict, k: int) -> int:
    """Hidden size of the delay-``k`` networks: ``round(d * k / k_main)`` (at least 1), i.e. the main
    sweep's d / (n k) at every k; ``p`` from :func:`wmnb.superposition.sweep.check_params`."""
    return max(1, int(round(p["d"] * k / p["k"])))


def ksweep_configs(p: dict, ks: Sequence[int]) -> list[StackConfig]:
    """One linear stack per k of ``ks`` other than the main k (d = :func:`k_hidden_size`, the main sweep's
    n, S grid, seeds, steps, batch and learning rate)."""
    common = dict(n=p["n"], sparsities=p["sparsities"], seeds=p["seeds"], steps=p["steps"], batch=p["batch"],
                  lr=p["lr"])
    return [StackConfig(kind="linear", k=int(k), ds=(k_hidden_size(p, k),), **common)
            for k in ks if int(k) != int(p["k"])]


def ksweep_table(p: dict, ks: Sequence[int], *, device="auto", progress: bool = True, cache_dir=None
                 ) -> pd.DataFrame:
    """Train (once; cached) and measure the networks of :func:`ksweep_configs`.

    Returns one row per network with the columns of :func:`wmnb.superposition.sweep.sweep_table` (kind, n, k,
    d, ratio, sparsity, seed, loss, frac_recovered, spectral_radius, frac_filtered, ... and the cosine
    histogram ``h00``..``h19``), for the delays of ``ks`` other than the main k; an empty table (same
    columns absent) when ``ks`` holds only the main k."""
    from ..results import cached_table
    from .sweep import stacks_table

    configs = ksweep_configs(p, ks)
    if not configs:
        return pd.DataFrame()
    desc = dict(n=p["n"], sparsities=list(p["sparsities"]), seeds=list(p["seeds"]), steps=p["steps"],
                batch=p["batch"], lr=p["lr"], stacks=[dict(k=c.k, d=c.ds[0]) for c in configs])
    return cached_table("superposition_ksweep", desc, lambda: stacks_table(configs, device, progress),
                        cache_dir=cache_dir, sources=KSWEEP_SOURCES)


def with_main(ktable: pd.DataFrame, main: pd.DataFrame, p: dict, ks: Sequence[int]) -> pd.DataFrame:
    """The k sweep's rows plus, when the main k is in ``ks``, the main sweep's linear networks at d = d_main
    (the k = k_main row), sorted by (k, sparsity, seed)."""
    parts = [ktable] if len(ktable) else []
    if int(p["k"]) in {int(k) for k in ks}:
        sel = main[(main["kind"] == "linear") & (main["d"] == p["d"]) & (main["k"] == p["k"])]
        if sel.empty:
            raise ConfigError(f"the main sweep has no linear networks with d={p['d']}, k={p['k']}")
        parts.append(sel)
    if not parts:
        raise ConfigError(f"ks={list(ks)} selects no networks")
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["k", "sparsity", "seed"]).reset_index(drop=True)


def k_summary(table: pd.DataFrame, *, controls_pass: bool) -> pd.DataFrame:
    """Per delay k, T1's and T2's measures and rules (:func:`wmnb.superposition.claims.rule_t1` /
    ``rule_t2``) on the k sweep's networks.

    Parameters
    ----------
    table : the rows of :func:`with_main` (linear networks, one hidden size per k)
    controls_pass : the main sweep's planted full-capacity control (a failed one makes every verdict
        inconclusive)

    Returns
    -------
    One row per k: ``k``, ``d``, ``ratio`` (d / (n k)), ``transition_lo`` / ``transition_hi`` (the S interval
    of the largest step of the seed-mean ``frac_filtered`` curve), ``seed_mid_min`` / ``seed_mid_max`` (range
    over seeds of the midpoint of each seed's own largest step: the seed spread of the location), ``sharpness``, ``change`` / ``change_lo`` /
    ``change_hi`` (|sparse end - dense end| of ``frac_filtered``, paired by seed, 95 % seed interval),
    ``t1_verdict``, ``radius_drop`` / ``radius_drop_lo`` / ``radius_drop_hi`` (spectral radius, dense side
    minus sparse side of the transition), ``t2_verdict``, ``radius_dense`` / ``radius_sparse`` (seed means at
    the two ends of the S grid), ``recovered_dense`` / ``recovered_sparse`` (fraction of the n k
    item-features recovered at the two ends) and ``n_seeds``.
    """
    from .claims import STATISTIC, rule_t1, rule_t2, transition_point

    rows = []
    for k, sub in table.groupby("k"):
        piv = sub.pivot_table(index="sparsity", columns="seed", values=STATISTIC).sort_index()
        rad = sub.pivot_table(index="sparsity", columns="seed", values="spectral_radius").sort_index()
        rec = sub.groupby("sparsity")["frac_recovered"].mean().sort_index()
        curve = piv.mean(axis=1)
        i, _, sharp = transition_point(curve.index, curve.values)
        s = list(curve.index)
        lo_s, hi_s = float(s[i]), float(s[min(i + 1, len(s) - 1)])
        v1, (m1, l1, h1) = rule_t1(piv.iloc[0].values, piv.iloc[-1].values, sharp, controls_pass=controls_pass)
        dense = rad[rad.index <= lo_s].mean(axis=0)
        sparse = rad[rad.index >= hi_s].mean(axis=0)
        v2, (m2, l2, h2) = rule_t2(dense.values, sparse.values, t1_verdict=v1, controls_pass=controls_pass)
        d = int(sub["d"].iloc[0])
        mids = []                                                   # each seed's own largest step
        for seed in piv.columns:
            j = transition_point(piv.index, piv[seed].values)[0]
            mids.append(0.5 * (s[j] + s[min(j + 1, len(s) - 1)]))
        rows.append(dict(k=int(k), d=d, ratio=d / (int(sub["n"].iloc[0]) * int(k)), transition_lo=lo_s,
                         transition_hi=hi_s, seed_mid_min=float(min(mids)), seed_mid_max=float(max(mids)),
                         sharpness=sharp, change=m1, change_lo=l1, change_hi=h1,
                         t1_verdict=v1, radius_drop=m2, radius_drop_lo=l2, radius_drop_hi=h2, t2_verdict=v2,
                         radius_dense=float(rad.iloc[0].mean()), radius_sparse=float(rad.iloc[-1].mean()),
                         recovered_dense=float(rec.iloc[0]), recovered_sparse=float(rec.iloc[-1]),
                         n_seeds=int(piv.shape[1])))
    return pd.DataFrame(rows)

"""Procrustes reconstruction and swap tests on trained runs (F6, F7; paper Fig. 4f, 4g).

For every transition ``(i, j) -> (i, j+1)`` of stimulus i (encoding -> memory when j == i, memory -> memory
after), decoders of the **remembered** stimulus' property are fit on training sequences, rotations between
decoder stacks are fitted on them (orthogonal Procrustes with a common scale, the paper's standardisation), and
every decoder -- fitted, reconstructed, swapped -- is scored on **held-out** sequences (disjoint from the ones
the decoders and rotations were fit on). See :mod:`wmnb.analysis.procrustes` for the exact procedure.

Cost control (documented choices)
---------------------------------
* ``n_back=(2,)``: only the N = 2 cells of each task feature by default (14 decoders per property and seed;
  N = 3 alone would need 17 and N = 1 has no memory -> memory transition).
* ``properties="relevant"``: each task cell is analysed for its own task-relevant property.
* ``max_sequences=1000`` sequences per cell (seeded subsample), 70 % to fit, 30 % held out.

Claims: :func:`claim_F6` (reconstructed ~ fitted), :func:`claim_F7` (same-age swap >> other-interval swap).
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_float, check_int
from .dynamics import (ExperimentTables, _per_seed_tables, add_seed, aggregate, check_features, claim_dict,
                       feature_cells, iter_feature_blocks, relevant_cells, resolve_seeds, run_table, seed_ci,
                       subsample_rows)

__all__ = ["swap_tests", "claim_F6", "claim_F7"]


def swap_tests(w, scenario: str = "MTMF", core: str = "gru", *, seeds: Optional[Iterable[int]] = None,
               n_seeds: Optional[int] = None, split: str = "train", properties="relevant",
               features: Optional[Sequence[str]] = None, n_back: Sequence[int] = (2,),
               max_sequences: Optional[int] = 1000, test_fraction: float = 0.3,
               C: float = 1.0, subsample_seed: int = 0, cache_dir=None, progress: bool = False) -> ExperimentTables:
    """Fitted vs reconstructed vs swapped decoders per transition, per seed.

    Parameters
    ----------
    w : wmnb.pipeline.World
    scenario, core, seeds, n_seeds, split : as :func:`wmnb.experiments.dynamics.cross_time`.
    properties : ``"relevant"`` or a tuple of properties decoded in every selected task cell.
    features : task features analysed (None = all in the scenario).
    n_back : N values of the task cells analysed.
    max_sequences : sequences per task cell (seeded subsample); None = all.
    test_fraction : held-out fraction of sequences (decoders and rotations use the rest).

    Returns
    -------
    ExperimentTables
        ``per_seed``: :func:`wmnb.analysis.procrustes.swap_test` columns (``property, task_feature, n, stim,
        step_from, step_to, age, kind_to, swap, source_stim, source_step, accuracy, ci_low, ci_high, chance,
        n_test, disparity, scale``) plus ``seed``. ``summary``: :func:`~wmnb.analysis.procrustes.swap_summary`
        per seed and (property, task_feature, n): one column per swap kind (``fitted, correct, none,
        same_stimulus_other_interval, other_stimulus_same_age``), ``chance``, ``same_age_minus_other_interval``.
        ``aggregated``: summary across seeds. ``extra["reconstruction"]``: per-seed
        :func:`~wmnb.analysis.procrustes.procrustes_reconstruction` rows (``seed, property, task_feature, n,
        stim, step_from, step_to, age, kind_to, transition, fitted_accuracy, reconstructed_accuracy,
        no_rotation_accuracy, gap, disparity, scale, chance, n_test``); ``extra["reconstruction_aggregated"]``:
        those per (property, task_feature, n, transition) averaged per seed then aggregated across seeds.
    """
    from ..analysis.procrustes import procrustes_reconstruction, swap_summary, swap_test

    seeds = resolve_seeds(w, seeds, n_seeds)
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    n_back = tuple(sorted({check_int("n_back", k, low=1, high=3) for k in n_back}))
    if not n_back:
        raise ConfigError("n_back is empty; choose N values from (1, 2, 3)")
    if max_sequences is not None:
        max_sequences = check_int("max_sequences", max_sequences, low=4)
    relevant_cells(properties)
    features = check_features(features)
    params = dict(properties=properties if isinstance(properties, str) else list(properties), n_back=list(n_back),
                  features=None if features is None else list(features),
                  max_sequences=max_sequences, test_fraction=test_fraction, C=C, subsample_seed=subsample_seed,
                  decoder="logreg")

    def compute_one(rec, run, seed):
        rows = subsample_rows(rec.feature, rec.n, max_sequences, subsample_seed,
                              cells=feature_cells(features, n_back))
        parts = []
        for fname, r, props in iter_feature_blocks(rec, rows, properties):
            parts.append(swap_test(rec.hidden[r], {p: rec.labels[p][r] for p in props}, rec.n[r], rec.seq_id[r],
                                   feature=rec.feature[r], properties=props, by_feature=True,
                                   test_fraction=test_fraction, seed=seed, C=C))
        return pd.concat(parts, ignore_index=True)

    per = _per_seed_tables(w, scenario, core, seeds, "exp_swap_test", params, compute_one, split, progress,
                           cache_dir)
    per_seed = pd.concat(per, ignore_index=True)
    keys = ["property", "task_feature", "n"]
    summaries, recon = [], []
    for s, t in zip(seeds, per):
        t = t.drop(columns="seed")
        if len(t):
            summaries.append(add_seed(swap_summary(t, by=keys), s))
            recon.append(add_seed(procrustes_reconstruction(t), s))
    if not summaries:
        raise ConfigError("the swap test produced no transitions (too few sequences or classes?)")
    summary = pd.concat(summaries, ignore_index=True)
    recon = pd.concat(recon, ignore_index=True)
    rk = [*keys, "transition"]
    recon_seed = recon.groupby(["seed", *rk], as_index=False)[
        ["fitted_accuracy", "reconstructed_accuracy", "no_rotation_accuracy", "gap", "disparity", "chance"]].mean()
    return ExperimentTables("swap_test", per_seed, summary, aggregate(summary, keys),
                            run_table(w, scenario, core, seeds, progress), params,
                            extra=dict(reconstruction=recon, reconstruction_aggregated=aggregate(recon_seed, rk)))


def _source(source, scenario, core, kw):
    if isinstance(source, ExperimentTables):
        return source
    if isinstance(source, pd.DataFrame):
        return source
    return swap_tests(source, scenario, core, **kw)


def claim_F6(source, scenario: str = "MTMF", core: str = "gru", *, margin: float = 0.1, **kw) -> dict:
    """F6: encoding -> memory and memory -> memory transformations are a rotation plus a common scale.

    Parameters
    ----------
    source : World (runs :func:`swap_tests` with ``scenario, core, **kw``), its :class:`ExperimentTables`, or a
        reconstruction DataFrame with ``seed`` (optional), ``fitted_accuracy, reconstructed_accuracy,
        no_rotation_accuracy, chance`` (one row per transition).

    Rule
    ----
    Per seed, average over transitions: fitted F, reconstructed R, no-rotation control N0, chance c.
    ``value`` = F - R (mean over seeds; CI = t interval across seeds).

    **holds** if value <= margin and F - c > margin (there is something to reconstruct); **does not hold** if
    value > 2 * margin; **mixed** otherwise (including an uninformative test with F near chance).
    """
    margin = check_float("margin", margin, low=0.0)
    src = _source(source, scenario, core, kw)
    rec = src.extra["reconstruction"] if isinstance(src, ExperimentTables) else src
    if "seed" not in rec.columns:
        rec = rec.assign(seed=0)
    per = rec.groupby("seed")[["fitted_accuracy", "reconstructed_accuracy", "no_rotation_accuracy", "chance"]].mean()
    gap = per["fitted_accuracy"] - per["reconstructed_accuracy"]
    m, lo, hi = seed_ci(gap)
    F, c = float(per["fitted_accuracy"].mean()), float(per["chance"].mean())
    informative = F - c > margin
    if m <= margin and informative:
        verdict = "holds"
    elif m > 2 * margin:
        verdict = "does not hold"
    else:
        verdict = "mixed"
    disp = float(rec["disparity"].mean()) if "disparity" in rec.columns else np.nan
    return claim_dict(
        "F6", "Encoding -> memory and memory -> memory transformations are structured (a rotation plus a common "
              "scale): decoders reconstructed by orthogonal Procrustes nearly match the fitted decoders.",
        m, (lo, hi), "small fitted - reconstructed gap (Fig. 4f)", verdict,
        dict(fitted=F, reconstructed=float(per["reconstructed_accuracy"].mean()),
             no_rotation=float(per["no_rotation_accuracy"].mean()), chance=c, disparity=disp,
             informative=bool(informative), margin=margin, n_seeds=int(len(per)), n_transitions=int(len(rec)),
             per_seed=[float(x) for x in gap], value_name="fitted - reconstructed accuracy",
             rule="holds: gap <= margin and fitted > chance + margin; does not hold: gap > 2*margin; "
                  "mixed: otherwise"))


def claim_F7(source, scenario: str = "MTMF", core: str = "gru", *, margin: float = 0.1, **kw) -> dict:
    """F7: a different stimulus' rotation at the same age works; the same stimulus' rotation at another
    interval does not (chronological memory subspaces, H2).

    Parameters
    ----------
    source : World (runs :func:`swap_tests`), its :class:`ExperimentTables`, or a per-seed summary DataFrame
        with ``seed`` (optional), ``correct, same_stimulus_other_interval, other_stimulus_same_age, chance``.

    Rule
    ----
    Per seed, average over task cells: correct rotation C, same-age swap S (other stimulus), other-interval
    swap O (same stimulus). ``value`` = S - O (mean over seeds; CI = t interval across seeds).

    **holds** if value > margin, ci_low > 0 when a CI exists, and S >= C - margin (the swap costs little);
    **does not hold** if value <= 0; **mixed** otherwise.
    """
    margin = check_float("margin", margin, low=0.0)
    src = _source(source, scenario, core, kw)
    s = src.summary if isinstance(src, ExperimentTables) else src
    if "seed" not in s.columns:
        s = s.assign(seed=0)
    cols = ["correct", "same_stimulus_other_interval", "other_stimulus_same_age", "chance"]
    missing = [c for c in cols if c not in s.columns]
    if missing:
        raise ConfigError(f"swap summary lacks columns {missing}; it has {list(s.columns)}")
    per = s.groupby("seed")[cols].mean()
    diff = per["other_stimulus_same_age"] - per["same_stimulus_other_interval"]
    m, lo, hi = seed_ci(diff)
    C = float(per["correct"].mean())
    S = float(per["other_stimulus_same_age"].mean())
    if m > margin and (not np.isfinite(lo) or lo > 0) and S >= C - margin:
        verdict = "holds"
    elif m <= 0:
        verdict = "does not hold"
    else:
        verdict = "mixed"
    return claim_dict(
        "F7", "Swapping in the rotation of a different stimulus at the same age keeps decoding high; swapping in "
              "the rotation of the same stimulus at a different time interval degrades it.",
        m, (lo, hi), "same-age swap >> same-stimulus/other-interval swap (Fig. 4g)", verdict,
        dict(correct=C, same_age=S, other_interval=float(per["same_stimulus_other_interval"].mean()),
             chance=float(per["chance"].mean()), margin=margin, n_seeds=int(len(per)),
             per_seed=[float(x) for x in diff], value_name="same-age swap - other-interval swap accuracy",
             rule="holds: S - O > margin (CI > 0 when available) and S >= correct - margin; "
                  "does not hold: S - O <= 0; mixed: otherwise"))

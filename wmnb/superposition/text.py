"""What chapter 13 says about its tables: the sentences around the toy sweep, the k sweep, the N-back bridge
(T3) and the comparison with the paper, as Markdown built from the tables and claim records (nothing is
computed here that the sweep, ksweep, bridge and claims modules do not already hold).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..book import report
from .claims import T3_TOLERANCE
from .sweep import HIST_COLUMNS

__all__ = ["recovery_markdown", "ksweep_markdown", "ksweep_display", "gaps_fall", "t3_markdown",
           "t3_meaning_markdown", "comparison_markdown"]


def recovery_markdown(lin: pd.DataFrame, d: int) -> str:
    """Pairs of recovered item-features per sparsity S of the linear sweep ``lin`` at hidden size ``d``, the
    share of nearly antipodal pairs, and how many item-features a network recovers at the densest S and at
    most over the grid (superposition when more than ``d``)."""
    main = lin[lin["d"] == d]
    hist = main.groupby("sparsity")[HIST_COLUMNS].sum()
    pairs = hist.sum(axis=1)
    anti = hist[HIST_COLUMNS[0]] / pairs.where(pairs > 0)
    recovered = main["n_recovered"].groupby(main["sparsity"]).mean()
    return ("Pairs of recovered item-features per S (all seeds): "
            + ", ".join(f"S = {s_:g}: {int(n_)}" for s_, n_ in pairs.items())
            + ". Share of nearly antipodal pairs (cos < −0.9): "
            + ", ".join(f"{report.fmt(a, 2)}" for a in anti.values)
            + "."
            + (f" At the densest S a network recovers "
               f"{main[main['sparsity'] == main['sparsity'].min()]['n_recovered'].mean():.1f} "
               f"item-features on average, at most {recovered.max():.1f} over the S grid, with d = {d} dimensions"
               + (": sparse items are held in superposition." if recovered.max() > d else ".")))


def ksweep_markdown(ksum: pd.DataFrame, n_sparsities: int, n: int) -> str:
    """The reading of the k sweep's summary ``ksum`` (:func:`wmnb.superposition.ksweep.k_summary`): at how many
    delays T1's and T2's rules hold, where the largest step lies at the first and the last k (on a grid of
    ``n_sparsities``), and, when the step exists already at k = 1 with fewer dimensions than the ``n``
    features, that the ReLU-filtering regime needs no temporal load."""
    first, last = ksum.iloc[0], ksum.iloc[-1]
    n_t1 = int((ksum["t1_verdict"] == "holds").sum())
    n_t2 = int((ksum["t2_verdict"] == "holds").sum())
    return (
        f"Left: the share of interference removed by the ReLU against S, one line per delay; middle: the spectral "
        f"radius; right: the S interval holding the largest step of the left curve (seed means), coloured by "
        f"T1's verdict at that k, and beside it the range of the seeds' own steps. By T1's rule the change between "
        f"the dense and the sparse end holds at "
        f"{n_t1} of {len(ksum)} delays; by T2's rule the radius drops across the step at {n_t2} of {len(ksum)}. "
        f"At k = {int(first['k'])} (d = {int(first['d'])}) the largest step lies between S = "
        f"{first['transition_lo']:g} and {first['transition_hi']:g} (seeds' own steps centred between "
        f"{first['seed_mid_min']:g} and {first['seed_mid_max']:g}); at k = {int(last['k'])} (d = {int(last['d'])}) "
        f"between S = {last['transition_lo']:g} and {last['transition_hi']:g} (seeds: {last['seed_mid_min']:g} to "
        f"{last['seed_mid_max']:g}). The location is read on a grid of {n_sparsities} sparsities, so it is "
        "known to one grid step at best, and it is not tested as a claim."
        + (f" The step exists already at k = 1, where nothing has to be held over time: the ReLU-filtering regime "
           "does not need temporal load, only more features than dimensions." if first["k"] == 1
           and first["d"] < n and first["t1_verdict"] == "holds" else ""))


def ksweep_display(ksum: pd.DataFrame) -> pd.DataFrame:
    """The k sweep's summary as the chapter shows it, one row per k: the largest step, the change of the
    interference share and the radius drop with their intervals, T1's and T2's verdicts, recovered counts."""
    def iv(m, lo, hi):
        return report.interval(m, lo, hi, nd=2)

    return pd.DataFrame({
        "k": ksum["k"], "d": ksum["d"],
        "largest step (S)": [f"{a:g}–{b:g}" for a, b in zip(ksum["transition_lo"], ksum["transition_hi"])],
        "change of the interference share": [iv(m, lo, hi) for m, lo, hi in
                                             zip(ksum["change"], ksum["change_lo"], ksum["change_hi"])],
        "T1 rule": ksum["t1_verdict"],
        "radius drop": [iv(m, lo, hi) for m, lo, hi in
                        zip(ksum["radius_drop"], ksum["radius_drop_lo"], ksum["radius_drop_hi"])],
        "T2 rule": ksum["t2_verdict"],
        "recovered (dense → sparse)": [f"{a:.2f} → {b:.2f}" for a, b in
                                       zip(ksum["recovered_dense"], ksum["recovered_sparse"])]}).set_index("k")


def gaps_fall(t3: dict) -> bool:
    """True when T3's temporal overlap falls strictly with the gap between the ages (``details["gaps"]``)."""
    return bool(np.all(np.diff(list(t3["details"]["gaps"].values())) < 0))


def _iv3(t, nd=2):
    return report.interval(*t, nd=nd)


def t3_markdown(t3: dict, nb: pd.DataFrame) -> str:
    """What the N-back networks' (``nb``, :func:`wmnb.superposition.bridge.nback_table`) temporal overlap reads,
    next to T3's plants and null, by age gap and without whitening; and what the first measure read."""
    d3 = t3["details"]
    c3, pc, old = d3["controls"], d3["per_core"], d3["old_measure"]
    return (
        f"The N-back networks have {report.fmt(nb['ratio'].mean(), 1)} hidden units per property-by-age feature"
        + (": no capacity pressure in the toy's sense. " if nb["ratio"].min() >= 1 else ". ")
        + f"Their plants read "
        f"{report.fmt(c3['orthogonal'], 3)} for orthogonal ages and {report.fmt(c3['positive'], 3)} for ages "
        f"superposed at {c3['planted_cos']:g} (spread over networks SD {report.fmt(c3['plant_sd'], 3)}). The "
        "same value at two ages has, in the networks, cosine "
        + "; ".join(f"{c_} {_iv3(p_['network'])} (like a plant at c = {report.fmt(p_['position'][0], 2)})"
                    for c_, p_ in pc.items())
        + f". By the gap between the ages (1, 2, 3 steps) it is "
        + ", ".join(report.fmt(v_, 2) for v_ in d3["gaps"].values())
        + f" (all networks{': it falls with the gap' if gaps_fall(t3) else ''}), and it does not hinge on the "
          f"whitening: without it the same pairs read "
        + ", ".join(f"{report.fmt(g_['temporal_cos_raw'].mean(), 2)} ({c_})"
                    for c_, g_ in nb.groupby("core", sort=False))
        + f". The label-permutation null, {_iv3(d3['null'], 3)}, is reported but is not the floor: the permuted "
        "labels keep their N-back correlations between ages and fit pure noise that is smooth in time, so "
        "neighbouring ages pick up the same noise; the orthogonal plant has the same labels and noise *and* a code, "
        "and is the floor the rule uses."
        + (f" The first, total-covariance measure read {report.fmt(old['superposed'], 3)} for the plant superposed "
           f"at {c3['planted_cos']:g} and {report.fmt(old['orthogonal'], 3)} for the orthogonal one"
           + (": blind." if old["superposed"] - old["orthogonal"] < c3["planted_cos"] / 2 else ".")
           if old else ""))


def t3_meaning_markdown(t3: dict, nb: pd.DataFrame) -> str:
    """**What the verdict means**: T3's question, its tolerance, the excess over the orthogonal plant over all
    networks and per architecture, and the verdict."""
    d3 = t3["details"]
    c3, pc = d3["controls"], d3["per_core"]
    return (
        f"**What the verdict means.** T3 asks whether the networks hold their properties *without* temporal "
        f"superposition, i.e. whether their excess over the orthogonal plant stays below {T3_TOLERANCE} (a "
        "cosine that shares at most 5 % of a code's variance with the same value at another age, 1/12 of the "
        f"planted superposition; the plants' own spread, 3 SD = {report.fmt(3 * c3['plant_sd'], 3)}, resolves it). "
        f"Excess over all {len(nb)} networks: {_iv3((t3['value'], t3['ci_low'], t3['ci_high']), 3)}; per "
        "architecture " + ", ".join(f"{c_} {_iv3(p_['excess'], 3)} ({p_['verdict']})" for c_, p_ in pc.items())
        + f". Verdict: **{t3['verdict']}**"
        + (f" — the networks hold one value at different ages in partly shared directions, and any tolerance below "
           f"{report.fmt(min(p_['excess'][1] for p_ in pc.values()), 2)} would give the same verdict for every "
           "architecture." if t3["verdict"] == "does not hold" else "."))


def comparison_markdown(t1: dict, t2: dict, t3: dict, nb: pd.DataFrame, ksum: pd.DataFrame,
                        sparsities: Sequence[float], n: int, k: int, d: int) -> str:
    """The chapter's comparison with the paper, one bullet per finding: T1 (with the nonlinear RNNs when run),
    T2, T3 and the delay k, from the claim records, the bridge table ``nb``, the k summary ``ksum`` and the
    sweep's ``sparsities`` and sizes ``n``, ``k``, ``d``."""
    det1 = t1["details"]
    nl = det1.get("nonlinear")

    def iv(r):
        return report.interval(r["value"], r["ci_low"], r["ci_high"], nd=3)

    lo_s, hi_s = det1["transition_between"]
    return (
        f"* **T1, the transition** (paper: a phase transition between a dense, effectively linear regime and a "
        f"sparse regime using an interference-free space). Here the share of interference removed by the ReLU "
        f"changes by {iv(t1)} between S = {sparsities[0]:g} and S = {sparsities[-1]:g}, with its "
        f"largest step between S = {lo_s:g} and {hi_s:g}: **{t1['verdict']}**"
        + (f"; the {nl['kind']} RNNs at the same size give **{nl['verdict']}** by the same rule." if nl else ".")
        + f"\n* **T2, the spectral radius** (paper: it decreases in the sparse regime). Here the radius on the "
        f"dense side minus the sparse side is {iv(t2)}: **{t2['verdict']}**"
        + (" — the radius does not drop across our transition, unlike the paper's. Our networks are smaller and "
           f"trained for fewer steps, and the sweep stops at S = {sparsities[-1]:g}; which of these matters is "
           "not tested here." if t2["verdict"] != "holds" else ".")
        + f"\n* **T3** is not a claim of the paper: it asks the paper's question of the networks of this book. In the "
        "paper's toy, a network with room for every feature-at-a-lag keeps them in separate directions, and "
        f"superposition appears under capacity pressure. The N-back networks have "
        f"{nb['ratio'].mean():.0f} units per property-by-age feature"
        + (", room to spare, yet they hold one property value at different ages in partly shared directions"
           if t3["verdict"] == "does not hold" else "")
        + f" (excess over the orthogonal plant {iv(t3)}, tolerance {T3_TOLERANCE}): **{t3['verdict']}**."
        + (" Their overlap falls with the age gap, as the toy's lag directions $W^j W_\\text{in}$ do when the "
           "recurrence carries a trace forward rather than moving it to a fresh slot; that this is their mechanism "
           "is not tested here." if gaps_fall(t3) else "")
        + f"\n* **The delay k** (paper: temporal and spatial superposition trade off). Here, at a fixed "
        f"d / (n k) = {d / (n * k):.2f}, T1's step holds at {int((ksum['t1_verdict'] == 'holds').sum())} of "
        f"{len(ksum)} delays k ∈ {{{', '.join(map(str, ksum['k']))}}}, and the radius drop at "
        f"{int((ksum['t2_verdict'] == 'holds').sum())}; the paper's own k dependence could not be compared in numbers.")

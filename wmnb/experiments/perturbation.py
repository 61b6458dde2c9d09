"""Causal perturbation on trained runs: shift the memory state across a decoder hyperplane (F8; paper Fig. A7).

Procedure, per seed and task cell (feature F, N), at an executive step t (default the last step, T - 1, which
is executive for every N):

1. The remembered stimulus at step t is stimulus ``r = t - N``; its task-relevant property F is what the
   network must compare with the stimulus shown at t.
2. A one-vs-rest decoder (``ovr_logreg``) of F of stimulus r is fit on the hidden states ``h_{t-1}`` of
   *other* sequences (a sequence split of the cell: 70 % fit the decoder, 30 % are perturbed).
3. Trials: held-out sequences whose target at t is **match** and (``require_correct=True``) whose recorded
   prediction at t is match too.
4. Direction ``u_b = -normal(class of the trial's remembered value)`` in **raw** hidden coordinates
   (``LinearDecoder.normals("raw")``): d > 0 moves the state out of the remembered value's side of its
   hyperplane, d < 0 deeper into it.
5. Magnitudes d are in units of the median distance of the trials' states to their hyperplane: at d = 1 the
   median trial sits on the hyperplane, at d = 2 as far beyond it as it was inside (``unit`` column; if the
   decoder puts the median trial on the wrong side, the unit falls back to the SD of the projections).
6. ``h'_{t-1} = h_{t-1} + d * unit * u_b``; the model runs **one recurrent step** with the real input of step t
   (:meth:`wmnb.models.WMModel.step`, the shown image and task vector; an LSTM keeps its recorded cell state
   ``c_{t-1}``) and reads out P(no_action), P(non_match), P(match)
   (:func:`wmnb.analysis.perturbation.perturb_along_normal`).
7. Control: a random unit direction per trial, shifted by the same Euclidean lengths.
8. Everything is reported against d = 0 (paired per trial), which reproduces the recorded probabilities
   (``d0_max_abs_diff`` column).

Claim: :func:`claim_F8`.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_choice, check_float, check_int
from .dynamics import (FEATURES, ExperimentTables, _per_seed_tables, aggregate, check_features, claim_dict,
                       resolve_seeds, run_table, seed_ci)

__all__ = ["RESPONSES", "perturb_cell", "perturbation", "claim_F8"]

RESPONSES = ("no_action", "non_match", "match")
MATCH = 2
DEFAULT_MAGNITUDES = (-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


def _summarise(probs: dict, mags: Sequence[float], level: float = 0.95) -> list[dict]:
    """Per-magnitude means with t CIs and paired deltas vs d = 0 from per-trial probabilities."""
    from scipy import stats as st

    p0 = probs[0.0]
    B = p0.shape[0]
    z = float(st.t.ppf(0.5 + level / 2, max(B - 1, 1)))
    rows = []
    for d in mags:
        p = probs[d]
        row = dict(magnitude=float(d), n_trials=int(B))
        arg = p.argmax(1)
        for k, r in enumerate(RESPONSES):
            m = float(p[:, k].mean())
            sd = float(p[:, k].std(ddof=1)) if B > 1 else np.nan
            row[f"p_{r}"] = m
            row[f"p_{r}_ci_low"], row[f"p_{r}_ci_high"] = m - z * sd / np.sqrt(B), m + z * sd / np.sqrt(B)
            dd = p[:, k] - p0[:, k]
            dm = float(dd.mean())
            dsd = float(dd.std(ddof=1)) if B > 1 else np.nan
            row[f"delta_{r}"] = dm
            row[f"delta_{r}_ci_low"], row[f"delta_{r}_ci_high"] = dm - z * dsd / np.sqrt(B), dm + z * dsd / np.sqrt(B)
            row[f"frac_argmax_{r}"] = float(np.mean(arg == k))
        rows.append(row)
    return rows


def perturb_cell(model, h_prev: np.ndarray, stimulus: np.ndarray, task_vector: np.ndarray, directions: np.ndarray,
                 lengths: Sequence[float], c_prev: Optional[np.ndarray] = None) -> dict:
    """Run :func:`wmnb.analysis.perturbation.perturb_along_normal` with ``model.step`` and keep per-trial output.

    Parameters
    ----------
    model : WMModel (eval mode)
    h_prev : (B, H) states before the step; stimulus : (B,) image index shown at the step;
    task_vector : (B, 6); directions : (B, H) (normalised inside); lengths : raw shift lengths (0 added);
    c_prev : (B, H) LSTM cell states or None.

    Returns
    -------
    dict with ``table`` (perturb_along_normal's DataFrame) and ``probs``: raw length -> (B, 3) per-trial
    probabilities (no_action, non_match, match).
    """
    import torch

    from ..analysis.perturbation import perturb_along_normal

    dev = next(model.parameters()).device
    stim_t = torch.as_tensor(np.asarray(stimulus, dtype=np.int64), device=dev)
    tv_t = torch.as_tensor(np.asarray(task_vector, dtype=np.float32), device=dev)
    c_t = None if c_prev is None else torch.as_tensor(np.asarray(c_prev, dtype=np.float32), device=dev)
    captured = []

    def step(hp, x):
        with torch.no_grad():
            out = model.step(torch.as_tensor(hp, device=dev), x[0], x[1], x[2])
        p = out.probs.detach().cpu().numpy().astype(np.float64)
        captured.append(p)
        return out.hidden, p

    lengths = sorted(set(float(v) for v in lengths) | {0.0})
    table = perturb_along_normal(step, h_prev, (stim_t, tv_t, c_t), directions, magnitudes=lengths, units="raw")
    if len(captured) != len(lengths):
        raise RuntimeError("perturb_along_normal called the step an unexpected number of times")
    return dict(table=table, probs=dict(zip(lengths, captured)))


def perturbation(w, scenario: str = "MTMF", core: str = "gru", *, seeds: Optional[Iterable[int]] = None,
                 n_seeds: Optional[int] = None, split: str = "train", features: Optional[Sequence[str]] = None,
                 step: Optional[int] = None,
                 magnitudes: Sequence[float] = DEFAULT_MAGNITUDES, decoder_kind: str = "ovr_logreg",
                 max_train: Optional[int] = 1000, max_trials: Optional[int] = 300, test_fraction: float = 0.3,
                 require_correct: bool = True, C: float = 1.0, subsample_seed: int = 0, cache_dir=None,
                 progress: bool = False) -> ExperimentTables:
    """Recurrent-pass perturbation of match trials along the remembered property's decoder normal, per seed.

    Parameters
    ----------
    w : wmnb.pipeline.World
    scenario, core, seeds, n_seeds, split : as :func:`wmnb.experiments.dynamics.cross_time`.
    features : task features analysed (None = all in the scenario).
    step : executive step t (default T - 1); cells with t < N are skipped.
    magnitudes : shifts d in units of the median distance to the hyperplane (0 is added).
    decoder_kind : ``"ovr_logreg"`` or ``"ovr_svm"`` (one-vs-rest hyperplanes).
    max_train : decoder training sequences per cell (seeded subsample); max_trials : perturbed trials per cell.
    test_fraction : fraction of each cell's sequences perturbed (the decoder never sees them).
    require_correct : keep only trials the model answered "match" (recorded argmax).

    Returns
    -------
    ExperimentTables
        ``per_seed``: one row per (seed, task_feature, n, direction, magnitude); ``task_feature == "all"``,
        ``n == 0`` pools the trials of every cell. Columns: ``seed, task_feature, n, step, remembered_stim,
        direction`` ("decoder" | "random"), ``magnitude``, ``shift_norm`` (mean Euclidean shift), ``unit``,
        ``unit_kind``, ``n_trials``, for r in (no_action, non_match, match): ``p_<r>, p_<r>_ci_low,
        p_<r>_ci_high, delta_<r>, delta_<r>_ci_low, delta_<r>_ci_high`` (paired change vs d = 0, t interval),
        ``frac_argmax_<r>``; ``frac_crossed`` (fraction of trials whose shifted state lies beyond their class
        hyperplane), ``d0_max_abs_diff`` (max |P(d=0) - recorded P|), ``decoder_accuracy`` (held-out accuracy of
        the decoder on the perturbed cell's held-out sequences), ``chance``.
        ``summary``: the pooled rows. ``aggregated``: per_seed aggregated across seeds per (task_feature, n,
        direction, magnitude).
    """
    from ..analysis.decoding import fit_decoder, score, split_sequences

    seeds = resolve_seeds(w, seeds, n_seeds)
    check_choice("decoder_kind", decoder_kind, ("ovr_logreg", "ovr_svm"))
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    mags = sorted(set(float(check_float("magnitude", m)) for m in magnitudes) | {0.0})
    if step is not None:
        step = check_int("step", step, low=1)
    if max_train is not None:
        max_train = check_int("max_train", max_train, low=2)
    if max_trials is not None:
        max_trials = check_int("max_trials", max_trials, low=2)
    features = check_features(features)
    params = dict(features=None if features is None else list(features), step=step, magnitudes=mags,
                  decoder_kind=decoder_kind, max_train=max_train, max_trials=max_trials,
                  test_fraction=test_fraction, require_correct=bool(require_correct), C=C,
                  subsample_seed=subsample_seed, direction="minus class normal, raw space")

    def compute_one(rec, run, seed):
        model = run.model()
        B, T, H = rec.hidden.shape
        t = T - 1 if step is None else step
        if t >= T:
            raise ConfigError(f"step={t} is not allowed; the trials have {T} steps (0..{T - 1})")
        rng = np.random.default_rng([subsample_seed, seed])
        rows_out, pooled = [], {"decoder": {d: [] for d in mags}, "random": {d: [] for d in mags}}
        pooled_extra = {"decoder": {d: [] for d in mags}, "random": {d: [] for d in mags}}
        pooled_units, pooled_dacc, pooled_chance = [], [], []
        for fc in np.unique(rec.feature):
            for nv in np.unique(rec.n):
                cell = np.flatnonzero((rec.feature == fc) & (rec.n == nv))
                if cell.size < 4 or t < nv or (features is not None and FEATURES[int(fc)] not in features):
                    continue
                fname, r_idx = FEATURES[int(fc)], int(t - nv)
                tr, te = split_sequences(rec.seq_id[cell], test_fraction, seed)
                tr_rows, te_rows = cell[tr], cell[te]
                if max_train is not None and tr_rows.size > max_train:
                    tr_rows = np.sort(rng.choice(tr_rows, max_train, replace=False))
                y = rec.labels[fname][:, r_idx]
                if np.unique(y[tr_rows]).size < 2:
                    continue
                dec = fit_decoder(rec.hidden[tr_rows, t - 1], y[tr_rows], kind=decoder_kind, C=C, seed=seed)
                sc = score(dec, rec.hidden[te_rows, t - 1], y[te_rows])
                ok = (rec.targets[te_rows, t] == MATCH) & np.isin(y[te_rows], dec.classes)
                if require_correct:
                    ok &= rec.probs[te_rows, t].argmax(-1) == MATCH
                trials = te_rows[ok]
                if max_trials is not None and trials.size > max_trials:
                    trials = np.sort(rng.choice(trials, max_trials, replace=False))
                if trials.size < 2:
                    continue
                h = rec.hidden[trials, t - 1].astype(np.float64)
                ci = np.searchsorted(dec.classes, y[trials])
                normals = dec.normals("raw")[ci]                      # (b, H), unit, pointing into the class
                w_raw = dec.raw_coef()[ci]
                dist = dec.decision_function(h)[np.arange(trials.size), ci] / np.linalg.norm(w_raw, axis=1)
                med = float(np.median(dist))
                if med > 0:
                    unit, unit_kind = med, "median_distance"
                else:
                    unit = float(np.std(np.sum(h * normals, axis=1))) or 1.0
                    unit_kind = "projection_sd"
                rand = rng.normal(size=h.shape)
                rand /= np.linalg.norm(rand, axis=1, keepdims=True)
                c_prev = None if rec.cell is None else rec.cell[trials, t - 1]
                base = dict(task_feature=fname, n=int(nv), step=int(t), remembered_stim=r_idx, unit=unit,
                            unit_kind=unit_kind, decoder_accuracy=float(sc["accuracy"]), chance=float(sc["chance"]))
                for dname, dirs in (("decoder", -normals), ("random", rand)):
                    out = perturb_cell(model, h, rec.stimuli[trials, t], rec.task_vector[trials], dirs,
                                       [d * unit for d in mags], c_prev=c_prev)
                    probs = {d: out["probs"][float(d * unit)] for d in mags}
                    d0 = float(np.abs(probs[0.0] - rec.probs[trials, t]).max())
                    crossed = {d: dist + d * unit * np.sum(dirs * normals, axis=1)
                               / np.linalg.norm(dirs, axis=1) < 0 for d in mags}
                    for row in _summarise(probs, mags):
                        d = row["magnitude"]
                        rows_out.append(dict(base, direction=dname, shift_norm=abs(d) * unit, **row,
                                             frac_crossed=float(crossed[d].mean()), d0_max_abs_diff=d0))
                        pooled[dname][d].append(probs[d])
                        pooled_extra[dname][d].append(np.c_[crossed[d], np.full(trials.size, abs(d) * unit)])
                pooled_units.append(unit)
                pooled_dacc.append(sc["accuracy"])
                pooled_chance.append(sc["chance"])
        if not rows_out:
            raise ConfigError("no match trials to perturb (too few sequences, or the model never answers match)")
        d0_all = max(r["d0_max_abs_diff"] for r in rows_out)
        for dname in ("decoder", "random"):
            probs = {d: np.concatenate(pooled[dname][d]) for d in mags}
            for row in _summarise(probs, mags):
                d = row["magnitude"]
                ex = np.concatenate(pooled_extra[dname][d])
                rows_out.append(dict(task_feature="all", n=0, step=int(t), remembered_stim=-1,
                                     unit=float(np.mean(pooled_units)), unit_kind="per cell",
                                     decoder_accuracy=float(np.mean(pooled_dacc)),
                                     chance=float(np.mean(pooled_chance)), direction=dname,
                                     shift_norm=float(ex[:, 1].mean()), **row, frac_crossed=float(ex[:, 0].mean()),
                                     d0_max_abs_diff=d0_all))
        cols = ["task_feature", "n", "step", "remembered_stim", "direction", "magnitude", "shift_norm", "unit",
                "unit_kind", "n_trials"]
        for r in RESPONSES:
            cols += [f"p_{r}", f"p_{r}_ci_low", f"p_{r}_ci_high", f"delta_{r}", f"delta_{r}_ci_low",
                     f"delta_{r}_ci_high", f"frac_argmax_{r}"]
        cols += ["frac_crossed", "d0_max_abs_diff", "decoder_accuracy", "chance"]
        return pd.DataFrame(rows_out)[cols]

    per = _per_seed_tables(w, scenario, core, seeds, "exp_perturbation", params, compute_one, split, progress,
                           cache_dir)
    per_seed = pd.concat(per, ignore_index=True)
    summary = per_seed[per_seed["task_feature"] == "all"].reset_index(drop=True)
    keys = ["task_feature", "n", "direction", "magnitude"]
    agg = aggregate(per_seed.drop(columns=["unit_kind"]), keys)
    return ExperimentTables("perturbation", per_seed, summary, agg, run_table(w, scenario, core, seeds, progress),
                            params)


def claim_F8(source, scenario: str = "MTMF", core: str = "gru", *, min_effect: float = 0.05, **kw) -> dict:
    """F8: pushing match-trial states across the remembered property's hyperplane, then running the recurrent
    step, lowers P(match) and raises P(no_action).

    Parameters
    ----------
    source : World (runs :func:`perturbation` with ``scenario, core, **kw``), its :class:`ExperimentTables`, or
        a per-seed summary DataFrame (the pooled rows) with ``seed`` (optional), ``direction, magnitude,
        delta_match, delta_no_action, delta_non_match`` (+ ``*_ci_low/_ci_high`` used with a single seed).
    min_effect : float, smallest probability change that counts (default 0.05).

    Rule (at the largest positive magnitude d_max, pooled over task cells, change vs d = 0)
    ------------------------------------------------------------------------------------
    CIs: t interval across seeds with >= 2 seeds, else the paired per-trial interval of the single seed.

    * A, *match falls*: delta_match < -min_effect and its CI high < 0.
    * B, *no-action rises*: delta_no_action > min_effect and its CI low > 0.
    * S, *specific*: |delta_match(decoder)| > |delta_match(random)| + min_effect (the random direction of the
      same length does clearly less).

    ``value`` = delta_no_action (decoder). **holds** if A, B and S; **mixed** if A and S but not B (the match
    probability goes elsewhere, e.g. to non-match); **does not hold** otherwise (no specific drop of P(match)).
    """
    min_effect = check_float("min_effect", min_effect, low=0.0)
    if isinstance(source, ExperimentTables):
        s = source.summary
    elif isinstance(source, pd.DataFrame):
        s = source
    else:
        s = perturbation(source, scenario, core, **kw).summary
    if "seed" not in s.columns:
        s = s.assign(seed=0)
    if "task_feature" in s.columns:
        s = s[s["task_feature"] == "all"]
    dmax = float(s["magnitude"].max())
    if dmax <= 0:
        raise ConfigError("the perturbation has no positive magnitude; cannot test F8")
    at = s[s["magnitude"] == dmax]
    dec, rnd = at[at["direction"] == "decoder"], at[at["direction"] == "random"]
    one = dec["seed"].nunique() < 2

    def stat(frame, col):
        if one:
            r = frame.iloc[0]
            lo = r.get(f"{col}_ci_low", np.nan)
            hi = r.get(f"{col}_ci_high", np.nan)
            return float(r[col]), float(lo), float(hi)
        return seed_ci(frame.groupby("seed")[col].mean())

    dm, dn, dnm = stat(dec, "delta_match"), stat(dec, "delta_no_action"), stat(dec, "delta_non_match")
    rm = stat(rnd, "delta_match") if len(rnd) else (0.0, np.nan, np.nan)
    a = bool(dm[0] < -min_effect and (not np.isfinite(dm[2]) or dm[2] < 0))
    b = bool(dn[0] > min_effect and (not np.isfinite(dn[1]) or dn[1] > 0))
    spec = bool(abs(dm[0]) > abs(rm[0]) + min_effect)
    verdict = "holds" if a and b and spec else ("mixed" if a and spec else "does not hold")
    details = dict(magnitude=dmax, delta_match=dm[0], delta_match_ci=(dm[1], dm[2]), delta_non_match=dnm[0],
                   delta_non_match_ci=(dnm[1], dnm[2]), random_delta_match=rm[0],
                   random_delta_no_action=float(stat(rnd, "delta_no_action")[0]) if len(rnd) else np.nan,
                   match_falls=a, no_action_rises=b, specific=spec, min_effect=min_effect,
                   n_seeds=int(dec["seed"].nunique()), ci_kind="paired per-trial t interval (one seed)" if one
                   else "t interval across seeds", value_name="change in P(no_action) at the largest shift",
                   rule="holds: P(match) falls (< -min_effect, CI < 0) and P(no_action) rises (> min_effect, CI > 0) "
                        "and the drop beats a random direction by min_effect; mixed: specific drop of P(match) "
                        "without the rise of P(no_action); does not hold: otherwise")
    for col in ("p_match", "p_no_action", "p_non_match", "frac_crossed", "n_trials"):
        if col in dec.columns:
            details[f"{col}_at_dmax"] = float(dec[col].mean())
            z = s[(s["direction"] == "decoder") & (s["magnitude"] == 0.0)]
            if len(z):
                details[f"{col}_at_0"] = float(z[col].mean())
    return claim_dict(
        "F8", "Perturbing match-trial states along a decoder's hyperplane normal, then running the recurrent step, "
              "lowers P(match) and raises P(no_action); P(non_match) is largely unchanged.",
        dn[0], (dn[1], dn[2]), "P(match) ~0.85 -> 0.25, P(no_action) ~0.10 -> 0.61 (Fig. A7; quoted, unverified)",
        verdict, details)

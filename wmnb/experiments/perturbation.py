"""Causal perturbation on trained runs: move the memory state and watch the decision (F8; paper Fig. A7).

Procedure, per seed and task cell (feature F, N), at an executive step t (default the last step, T - 1, which
is executive for every N); the remembered stimulus is ``r = t - N`` and the network must compare its value of
F with the stimulus shown at t.

1. **Held-out trials.** The cell's sequences are split by the *remembered* image (``holdout_split``,
   ``protocol="image"``, image = stimulus r's image, stratified by its identity): directions are fitted on the
   training images, the perturbed trials are held-out match trials (correct answer match, and with
   ``require_correct`` answered match).
2. **Variants.** ``one_step`` (the paper's): perturb ``h_{t-1}`` and run the one recurrent step t with its
   real input. ``encoding``: perturb ``h_r``, the state when the remembered stimulus was shown (E(r, r)), and
   run the N real recurrent steps r+1 .. t to the decision. An LSTM keeps its recorded cell state.
3. **Directions** (raw hidden coordinates, unit length), each from the trial's remembered value toward a
   randomly drawn other value (the target): ``decoder`` (``W[target] - W[own]`` of a multinomial logistic on
   raw centred states), ``class_mean`` (``mu[target] - mu[own]``), ``random`` (the control).
4. **Magnitudes** ``rel``: shift length = rel x ``||h - mean||`` (the state's distance from the mean training
   state), swept to >= 1; ``shift_norm`` gives the absolute length.
5. **Positive control** ``substitution``: the whole state (h and c) replaced by the state, at the same step, of
   a training trial of the same task whose remembered value is the target value. If that does not move
   P(match) the cell cannot show anything (F8 inconclusive).
6. Every change is paired per trial against rel = 0, which reproduces the recorded probabilities
   (``d0_max_abs_diff``, one-step variant).

All shifts of a cell go through the model as one batch (:func:`wmnb.analysis.perturbation.perturbation_sweep`).

Claim: :func:`claim_F8` with the pure rule :func:`rule_F8`.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import FEATURES
from ..errors import ConfigError, check_choice, check_float, check_int
from ..verdicts import INCONCLUSIVE, combine
from ..pipeline import RunSet
from .core import ExperimentTables, aggregate, check_features, claim_dict, per_seed_tables, run_table, seed_ci
from .dynamics import _model_of, _one_model
from .dynamics import needs  # noqa: F401  (the same runs: one model per core, every seed)

__all__ = ["needs", "RESPONSES", "VARIANTS", "DIRECTIONS", "perturb_cell", "make_step_fn", "perturbation", "rule_F8",
           "claim_F8", "claim_F8_by_core"]

RESPONSES = ("no_action", "non_match", "match")
MATCH = 2
VARIANTS = ("one_step", "encoding")
#: perturbation directions; ``substitution`` is the positive control (rows with ``rel == -1``)
DIRECTIONS = ("decoder", "class_mean", "random", "substitution")
DEFAULT_REL = (0.25, 0.5, 1.0, 1.5)
PAPER_F8 = "P(match) ~0.85 -> 0.25, P(no_action) ~0.10 -> 0.61 (Fig. A7; quoted, unverified)"


def make_step_fn(model, stimuli: np.ndarray, task_vector: np.ndarray):
    """``step_fn(h, c, rows) -> probs`` running ``model.step`` over the steps of ``stimuli``.

    ``stimuli`` (B, k): the images shown at the k steps to run (k = 1: the one-step variant); ``task_vector``
    (B, 6). ``rows`` (M,) select the trial (inputs) of each state; ``c`` is the LSTM cell state or None.
    Returns the (M, 3) response probabilities after the last step.
    """
    import torch

    dev = next(model.parameters()).device
    stim = torch.as_tensor(np.asarray(stimuli, dtype=np.int64).reshape(len(stimuli), -1), device=dev)
    tv = torch.as_tensor(np.asarray(task_vector, dtype=np.float32), device=dev)

    def step_fn(h, c, rows):
        rows_t = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=dev)
        hh = torch.as_tensor(np.asarray(h, dtype=np.float32), device=dev)
        cc = None if c is None else torch.as_tensor(np.asarray(c, dtype=np.float32), device=dev)
        out = None
        with torch.no_grad():
            for k in range(stim.shape[1]):
                out = model.step(hh, stim[rows_t, k], tv[rows_t], cc)
                hh, cc = out.hidden, out.cell
        return out.probs.detach().cpu().numpy().astype(np.float64)

    return step_fn


def perturb_cell(model, h_prev: np.ndarray, stimulus: np.ndarray, task_vector: np.ndarray, directions: np.ndarray,
                 lengths: Sequence[float], c_prev: Optional[np.ndarray] = None) -> dict:
    """One recurrent step after shifting ``h_prev`` (B, H) along ``directions`` (B, H) by absolute ``lengths``.

    Kept for direct use and tests: returns ``table`` (:func:`wmnb.analysis.perturbation.perturb_along_normal`)
    and ``probs``: length -> (B, 3) per-trial probabilities (no_action, non_match, match).
    """
    from ..analysis.perturbation import perturb_along_normal

    step_fn = make_step_fn(model, np.asarray(stimulus).reshape(-1, 1), task_vector)
    captured = []
    c = None if c_prev is None else np.asarray(c_prev)

    def step(hp, _x):
        p = step_fn(hp, c, np.arange(len(hp)))
        captured.append(p)
        return None, p

    lengths = sorted(set(float(v) for v in lengths) | {0.0})
    if model.has_cell and c is None:
        raise ConfigError("c_prev=None is not allowed for an LSTM core; pass the cell state (B, H)")
    table = perturb_along_normal(step, h_prev, None, directions, magnitudes=lengths, units="raw")
    return dict(table=table, probs=dict(zip(lengths, captured)))


def perturbation(runs: RunSet, *, split: str = "train", features: Optional[Sequence[str]] = None,
                 step: Optional[int] = None, rel_magnitudes: Sequence[float] = DEFAULT_REL,
                 variants: Sequence[str] = VARIANTS, max_train: Optional[int] = 1000,
                 max_trials: Optional[int] = 100, test_fraction: float = 0.3, require_correct: bool = True,
                 C: float = 1.0, subsample_seed: int = 0, cache_dir=None, progress: bool = False) -> ExperimentTables:
    """Perturb held-out match trials along decoder / class-mean / random directions, with the substitution
    control, per seed (module docstring).

    Parameters
    ----------
    runs, split : as :func:`wmnb.experiments.dynamics.cross_time` (one model, one run per seed).
    features : task features analysed (None = all in the scenario).
    step : decision step t (default T - 1); cells with t < N are skipped.
    rel_magnitudes : shift lengths relative to ``||h - mean||`` (0 added; the largest should be >= 1).
    variants : subset of :data:`VARIANTS`.
    max_train : training sequences per cell for the directions; max_trials : perturbed trials per cell.
    test_fraction : fraction of the remembered images held out (the perturbed trials come from them).

    Returns
    -------
    ExperimentTables
        ``per_seed``: one row per (seed, variant, task_feature, n, direction, rel); ``task_feature == "all"``,
        ``n == 0`` pools every cell's trials. Columns: ``seed, variant, task_feature, n, step,
        perturbed_step, remembered_stim, direction`` (:data:`DIRECTIONS`), ``rel`` (-1 for the substitution
        control), ``shift_norm`` (mean absolute length), ``control_rel`` (substitution: mean ||donor - h|| /
        ||h - mean||), ``n_trials``, ``p_<r>``, ``delta_<r>``, ``delta_<r>_ci_low``, ``delta_<r>_ci_high``
        (paired per-trial t interval vs rel 0) for r in (no_action, non_match, match), ``decoder_accuracy``
        (held-out accuracy of the raw decoder), ``chance``, ``d0_max_abs_diff``.
        ``summary``: the pooled rows. ``aggregated``: per_seed across seeds per (variant, task_feature, n,
        direction, rel).
    """
    from ..analysis.decoding import holdout_split
    from ..analysis.perturbation import (class_means, direction_vectors, paired_delta, perturbation_sweep,
                                         raw_decoder, substitution_control)

    runs = _one_model(runs)
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    rels = sorted(set(check_float("rel_magnitude", m, low=0.0) for m in rel_magnitudes) | {0.0})
    if max(rels) < 1.0:
        raise ConfigError(f"rel_magnitudes={list(rel_magnitudes)} must reach at least 1 (shift >= ||h - mean||)")
    variants = tuple(check_choice("variant", v, VARIANTS) for v in variants)
    if not variants:
        raise ConfigError(f"variants is empty; choose from {VARIANTS}")
    if step is not None:
        step = check_int("step", step, low=1)
    if max_train is not None:
        max_train = check_int("max_train", max_train, low=4)
    if max_trials is not None:
        max_trials = check_int("max_trials", max_trials, low=2)
    features = check_features(features)
    params = dict(features=None if features is None else list(features), step=step, rel_magnitudes=rels,
                  variants=list(variants), max_train=max_train, max_trials=max_trials, test_fraction=test_fraction,
                  require_correct=bool(require_correct), C=C, subsample_seed=subsample_seed, protocol="image",
                  version="f8-v2")

    def compute_one(rec, run, seed):
        model = run.model().eval()
        B, T, H = rec.hidden.shape
        t = T - 1 if step is None else step
        if t >= T:
            raise ConfigError(f"step={t} is not allowed; the trials have {T} steps (0..{T - 1})")
        rng = np.random.default_rng([subsample_seed, seed])
        rows_out = []
        pooled = {}   # (variant, direction, rel) -> list of (p, p0) per-trial arrays

        def add_pool(key, p, p0, shift, ctrl_rel=np.nan):
            pooled.setdefault(key, []).append((p, p0, shift, ctrl_rel))

        for fc in np.unique(rec.feature):
            if features is not None and FEATURES[int(fc)] not in features:
                continue
            for nv in np.unique(rec.n):
                cell = np.flatnonzero((rec.feature == fc) & (rec.n == nv))
                if cell.size < 8 or t < nv:
                    continue
                fname, r_idx = FEATURES[int(fc)], int(t - nv)
                y = rec.labels[fname][:, r_idx]
                tr, te = holdout_split("image", image_id=rec.stimuli[cell, r_idx],
                                       strata=rec.labels["identity"][cell, r_idx], test_fraction=test_fraction,
                                       seed=seed)
                tr_rows, te_rows = cell[tr], cell[te]
                if max_train is not None and tr_rows.size > max_train:
                    tr_rows = np.sort(rng.choice(tr_rows, max_train, replace=False))
                classes = np.unique(y[tr_rows])
                if classes.size < 2:
                    continue
                ok = (rec.targets[te_rows, t] == MATCH) & np.isin(y[te_rows], classes)
                if require_correct:
                    ok &= rec.probs[te_rows, t].argmax(-1) == MATCH
                trials = te_rows[ok]
                if max_trials is not None and trials.size > max_trials:
                    trials = np.sort(rng.choice(trials, max_trials, replace=False))
                if trials.size < 2:
                    continue
                own = y[trials]
                # target value: a random other value present in training; donors carry it
                offs = rng.integers(1, classes.size, size=trials.size)
                target = classes[(np.searchsorted(classes, own) + offs) % classes.size]
                donors = np.array([rng.choice(tr_rows[y[tr_rows] == v]) for v in target])
                for variant in variants:
                    s_idx = t - 1 if variant == "one_step" else r_idx
                    run_steps = rec.stimuli[trials][:, s_idx + 1: t + 1]
                    step_fn = make_step_fn(model, run_steps, rec.task_vector[trials])
                    Xtr = rec.hidden[tr_rows, s_idx].astype(np.float64)
                    cls_m, means = class_means(Xtr, y[tr_rows])
                    cls_d, Wd = raw_decoder(Xtr, y[tr_rows], C=C, seed=seed)
                    Xte = rec.hidden[te_rows, s_idx].astype(np.float64)
                    pred = cls_d[np.argmax((Xte - Xtr.mean(0)) @ Wd.T, axis=1)]
                    dec_acc = float(np.mean(pred == y[te_rows]))
                    h = rec.hidden[trials, s_idx].astype(np.float64)
                    c = None if rec.cell is None else rec.cell[trials, s_idx]
                    dirs = {"decoder": direction_vectors("decoder", own, target, classes=cls_d, vectors=Wd),
                            "class_mean": direction_vectors("class_mean", own, target, classes=cls_m, vectors=means),
                            "random": direction_vectors("random", own, target, H=H,
                                                        seed=int(rng.integers(1 << 31)))}
                    sw, trial_p = _sweep_with_trials(perturbation_sweep, step_fn, h, dirs, rels, Xtr.mean(0), c)
                    hd = rec.hidden[donors, s_idx].astype(np.float64)
                    cd = None if rec.cell is None else rec.cell[donors, s_idx]
                    ctrl = substitution_control(step_fn, h, hd, c=c, c_donor=cd)
                    d0 = (float(np.abs(trial_p[("decoder", 0.0)] - rec.probs[trials, t]).max())
                          if variant == "one_step" else np.nan)
                    base = dict(variant=variant, task_feature=fname, n=int(nv), step=int(t), perturbed_step=int(s_idx),
                                remembered_stim=r_idx, decoder_accuracy=dec_acc, chance=1.0 / classes.size,
                                d0_max_abs_diff=d0)
                    for row in sw.to_dict("records"):
                        rows_out.append(dict(base, control_rel=np.nan, **row))
                        add_pool((variant, row["direction"], row["rel"]), trial_p[(row["direction"], row["rel"])],
                                 trial_p[(row["direction"], 0.0)], row["shift_norm"])
                    crow = dict(direction="substitution", rel=-1.0, shift_norm=float(np.linalg.norm(hd - h, axis=1).mean()),
                                n_trials=int(trials.size), control_rel=ctrl["rel"],
                                **{f"p_{r}": float(ctrl["p"][:, k].mean()) for k, r in enumerate(RESPONSES)},
                                **{k: v for k, v in ctrl.items() if k.startswith("delta_")})
                    rows_out.append(dict(base, **crow))
                    add_pool((variant, "substitution", -1.0), ctrl["p"], ctrl["p0"], crow["shift_norm"], ctrl["rel"])
        if not rows_out:
            raise NoMatchTrials("no match trials to perturb (too few sequences, or the model never answers match)")
        cell_rows = pd.DataFrame(rows_out)
        for (variant, dname, rel), parts in pooled.items():
            p = np.concatenate([a for a, _, _, _ in parts])
            p0 = np.concatenate([b for _, b, _, _ in parts])
            wts = np.array([len(a) for a, _, _, _ in parts], float)
            sub = cell_rows[(cell_rows["variant"] == variant) & (cell_rows["direction"] == dname)
                            & (cell_rows["rel"] == rel)]
            rows_out.append(dict(variant=variant, task_feature="all", n=0, step=int(t), perturbed_step=-1,
                                 remembered_stim=-1, decoder_accuracy=float(np.average(sub["decoder_accuracy"],
                                                                                       weights=wts)),
                                 chance=float(np.average(sub["chance"], weights=wts)),
                                 d0_max_abs_diff=float(sub["d0_max_abs_diff"].max()), direction=dname, rel=rel,
                                 shift_norm=float(np.average([s for _, _, s, _ in parts], weights=wts)),
                                 control_rel=float(np.average([q for _, _, _, q in parts], weights=wts)),
                                 n_trials=int(p.shape[0]),
                                 **{f"p_{r}": float(p[:, k].mean()) for k, r in enumerate(RESPONSES)},
                                 **paired_delta(p, p0)))
        cols = ["variant", "task_feature", "n", "step", "perturbed_step", "remembered_stim", "direction", "rel",
                "shift_norm", "control_rel", "n_trials"]
        for r in RESPONSES:
            cols += [f"p_{r}", f"delta_{r}", f"delta_{r}_ci_low", f"delta_{r}_ci_high"]
        cols += ["decoder_accuracy", "chance", "d0_max_abs_diff"]
        return pd.DataFrame(rows_out)[cols]

    per = per_seed_tables(runs, "exp_perturbation", params, compute_one, split, progress,
                           cache_dir)
    per_seed = pd.concat(per, ignore_index=True)
    summary = per_seed[per_seed["task_feature"] == "all"].reset_index(drop=True)
    keys = ["variant", "task_feature", "n", "direction", "rel"]
    agg = aggregate(per_seed.drop(columns=["perturbed_step", "remembered_stim"]), keys)
    return ExperimentTables("perturbation", per_seed, summary, agg, run_table(runs, progress),
                            params)


def _sweep_with_trials(sweep, step_fn, h, dirs, rels, center, c):
    """:func:`perturbation_sweep` plus the per-trial probabilities per (direction, rel) (for pooling)."""
    captured = {}

    def fn(hh, cc, rows):
        p = step_fn(hh, cc, rows)
        captured["p"] = p
        return p

    tab = sweep(fn, h, dirs, rels, center=center, c=c)
    B = h.shape[0]
    P = captured["p"].reshape(-1, B, len(RESPONSES))
    keys = [(d, r) for d in dirs for r in sorted(set(float(x) for x in rels) | {0.0})]
    return tab, dict(zip(keys, P))


# ---------------------------------------------------------------------------------------------------------
# verdict
# ---------------------------------------------------------------------------------------------------------
def _seed_stat(frame: pd.DataFrame, col: str):
    """Mean and interval: t interval across seeds with >= 2 seeds, else the row's paired per-trial interval."""
    if frame.empty:
        return (np.nan, np.nan, np.nan)
    if frame["seed"].nunique() < 2:
        r = frame.iloc[0]
        return float(r[col]), float(r.get(f"{col}_ci_low", np.nan)), float(r.get(f"{col}_ci_high", np.nan))
    return seed_ci(frame.groupby("seed")[col].mean())


def rule_F8(summary: pd.DataFrame, *, variant: str = "one_step", min_effect: float = 0.05) -> dict:
    """The F8 verdict from pooled per-seed rows (pure: table in, verdict out).

    Parameters
    ----------
    summary : rows with ``seed`` (optional), ``variant`` (optional), ``direction`` (decoder, class_mean,
        random, substitution), ``rel``, ``delta_match`` (+ ``delta_match_ci_low/high`` used with one seed).
    variant : which variant's rows to judge. min_effect : smallest change of P(match) that counts.

    Rule (at the largest rel of the shifts; change of P(match) vs rel 0, paired per trial)
    ---------------------------------------------------------------------------------------
    * **control**: the substitution control lowers P(match): mean <= -min_effect and CI high < 0. If not, the
      verdict is "inconclusive" whatever the directions do.
    * per specific direction D (decoder, class_mean): effect = delta_match(random) - delta_match(D) per seed
      (t interval across seeds). **holds** if CI low > 0, mean effect >= min_effect and delta_match(D) <=
      -min_effect; **does not hold** if CI high < min_effect (D does no meaningfully better than random);
      **inconclusive** otherwise (including a single seed: no interval across seeds).
    * overall: :func:`wmnb.verdicts.combine` of the two directions (both hold -> holds; one holds and one does
      not -> mixed; ...).
    """
    min_effect = check_float("min_effect", min_effect, low=0.0)
    s = summary.copy()
    if "seed" not in s.columns:
        s["seed"] = 0
    if "variant" in s.columns:
        s = s[s["variant"] == variant]
    if "task_feature" in s.columns:
        s = s[s["task_feature"] == "all"]
    shifts = s[s["direction"] != "substitution"]
    if shifts.empty:
        raise ConfigError("the perturbation table has no shifted rows; cannot test F8")
    rmax = float(shifts["rel"].max())
    ctrl = _seed_stat(s[s["direction"] == "substitution"], "delta_match")
    control_pass = bool(np.isfinite(ctrl[0]) and ctrl[0] <= -min_effect and np.isfinite(ctrl[2]) and ctrl[2] < 0)
    at = shifts[shifts["rel"] == rmax]
    rnd = at[at["direction"] == "random"].groupby("seed")["delta_match"].mean()
    out = dict(rel=rmax, control=ctrl, control_pass=control_pass, min_effect=min_effect, by_direction={})
    verdicts = []
    for dname in ("decoder", "class_mean"):
        dd = at[at["direction"] == dname].groupby("seed")["delta_match"].mean()
        common = dd.index.intersection(rnd.index)
        eff = (rnd[common] - dd[common]).to_numpy()
        m, lo, hi = seed_ci(eff)
        dm = float(dd.mean()) if len(dd) else np.nan
        if not control_pass or not np.isfinite(m):
            v = INCONCLUSIVE
        elif np.isfinite(lo) and lo > 0 and m >= min_effect and dm <= -min_effect:
            v = "holds"
        elif np.isfinite(hi) and hi < min_effect:
            v = "does not hold"
        else:
            v = INCONCLUSIVE
        out["by_direction"][dname] = dict(effect=m, ci=(lo, hi), delta_match=dm,
                                          random_delta_match=float(rnd.mean()) if len(rnd) else np.nan,
                                          per_seed=[float(x) for x in eff], seeds=[int(x) for x in common],
                                          verdict=v)
        verdicts.append(v)
    out["verdict"] = combine(verdicts)
    return out


def _control_text(r: dict) -> str:
    m, lo, hi = r["control"]
    ci = f"[{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else "(no interval)"
    return (f"positive control (whole-state substitution) moved P(match) by {m:+.2f} {ci}: "
            + ("passed" if r["control_pass"] else "FAILED -> inconclusive"))


_F8_STATEMENT = ("Moving a match trial's memory state toward another value of the remembered property (decoder "
                 "normal or class-mean difference), then running the recurrent step, lowers P(match) more than a "
                 "random shift of the same length.")


class NoMatchTrials(ConfigError):
    """The analysis set holds no match trial the model answers "match" on: nothing to perturb."""


def claim_F8(source, scenario: Optional[str] = None, core: Optional[str] = None, *, min_effect: float = 0.05,
             **kw) -> dict:
    """F8: moving a match trial's memory state toward another value of the remembered property, then running
    the recurrent step, lowers P(match) -- more than a random shift of the same length, with the positive
    control passing.

    Parameters
    ----------
    source : RunSet of one model (runs :func:`perturbation` with ``**kw``), its :class:`ExperimentTables`, or a
        pooled per-seed DataFrame (see :func:`rule_F8`).
    scenario, core : the model a table ``source`` comes from (a RunSet names its own).

    The verdict is :func:`rule_F8` on the one-step variant (the paper's procedure); the encoding-time variant's
    verdict is in ``details["encoding"]``. ``value`` = effect of the decoder direction (delta P(match) of the
    random direction minus that of the decoder direction at the largest shift). A model that never answers
    "match" on the analysis set (nothing to perturb: the positive control cannot run) gives "inconclusive" with
    that reason and no value.
    """
    scenario, core = _model_of(source, scenario, core)
    if isinstance(source, ExperimentTables):
        s = source.summary
    elif isinstance(source, pd.DataFrame):
        s = source
    else:
        try:
            s = perturbation(source, **kw).summary
        except NoMatchTrials as e:
            return claim_dict("F8", _F8_STATEMENT, np.nan, (np.nan, np.nan), PAPER_F8, INCONCLUSIVE,
                              dict(core=core, value_name="drop of P(match) beyond a random shift (decoder direction)",
                                   rule="inconclusive: no match trial to perturb"), protocol="image-disjoint",
                              controls=f"control cannot run: {e}")
    if "seed" not in s.columns:
        s = s.assign(seed=0)
    r = rule_F8(s, variant="one_step", min_effect=min_effect)
    enc = None
    if "variant" in s.columns and (s["variant"] == "encoding").any():
        enc = rule_F8(s, variant="encoding", min_effect=min_effect)
    dec = r["by_direction"]["decoder"]
    sub = s[(s["direction"] != "substitution")]
    if "variant" in sub.columns:
        sub = sub[sub["variant"] == "one_step"]
    z = sub[(sub["direction"] == "decoder") & (sub["rel"] == 0.0)]
    top = sub[(sub["rel"] == r["rel"])]

    def mean_of(frame, col):
        return float(frame[col].mean()) if len(frame) and col in frame else np.nan

    details = dict(
        variant="one_step", rel=r["rel"], control_delta_match=r["control"][0], control_ci=r["control"][1:],
        control_pass=r["control_pass"], min_effect=min_effect,
        by_direction={k: {kk: vv for kk, vv in v.items()} for k, v in r["by_direction"].items()},
        p_match_at_0=mean_of(z, "p_match"), p_no_action_at_0=mean_of(z, "p_no_action"),
        p_match_at_max={d: mean_of(top[top["direction"] == d], "p_match") for d in ("decoder", "class_mean", "random")},
        p_no_action_at_max={d: mean_of(top[top["direction"] == d], "p_no_action")
                            for d in ("decoder", "class_mean", "random")},
        encoding=None if enc is None else dict(verdict=enc["verdict"], control_pass=enc["control_pass"],
                                               control_delta_match=enc["control"][0],
                                               by_direction=enc["by_direction"]),
        n_seeds=int(s["seed"].nunique()), core=core,
        value_name="drop of P(match) beyond a random shift (decoder direction)",
        rule=("per direction (decoder, class-mean) at the largest shift: effect = dP(match)[random] - dP(match)"
              "[direction]; holds: control passes, effect CI > 0, effect >= min_effect and dP(match) <= "
              "-min_effect; does not hold: control passes and effect CI high < min_effect; inconclusive: "
              "otherwise or the substitution control does not lower P(match); combined over the two directions"))
    controls = _control_text(r)
    if enc is not None:
        controls += f"; encoding-time variant: {_control_text(enc)}, verdict {enc['verdict']}"
    from ..verdicts import per_seed_values
    return claim_dict(
        "F8", _F8_STATEMENT, dec["effect"], dec["ci"], PAPER_F8, r["verdict"], details, protocol="image-disjoint",
        per_seed=per_seed_values(dec["seeds"], dec["per_seed"]), controls=controls)


def claim_F8_by_core(runs: RunSet, **kw) -> pd.DataFrame:
    """One F8 claim per core of ``runs`` (each from its own cached tables): ``core, verdict, value, ci_low,
    ci_high, controls``."""
    rows = []
    for c in runs.cores:
        cl = claim_F8(runs.where(core=c), **kw)
        rows.append(dict(core=c, verdict=cl["verdict"], value=cl["value"], ci_low=cl["ci_low"],
                         ci_high=cl["ci_high"], controls=cl["controls"]))
    return pd.DataFrame(rows)

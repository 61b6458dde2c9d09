"""Shared vs task-specific subspaces: cross-task decoder generalisation (finding F2, paper Fig. 2a, 2c).

A decoder ``D_{N,F}`` for property P is fit on the training rows of task (N, F) at ``step`` and scored on the
held-out rows of every task (N', F'), including its own (the diagonal = within-task validation). With N kept
separate (default) each property gives a 9 x 9 matrix (3 x 3 with N pooled).

What is decoded
---------------
``age = 0`` (default): the stimulus **shown** at ``step`` (the encoding step; the paper's Fig. 2 uses t = 0).
``age = a >= 1``: the stimulus shown ``a`` steps earlier, i.e. the **remembered** stimulus at a memory step
(the paper's word "maintain" points there). Only tasks with N >= a hold that stimulus, so only they are used.
:func:`cross_task_memory` runs ages 1..N per N (never pooling N) for one stimulus position.

Held-out protocol (``protocol``)
--------------------------------
``"image"`` (primary, default): one split of the decoded *images* shared by every task and property
(stratified by identity; :func:`wmnb.analysis.task_relevance.recording_split`), so no decoder is scored on an
image it was fit on, in any task; with ``strict`` (default) training rows whose sequence showed a held-out
image at any step up to ``step`` are dropped. ``"sequence"``: the paper-style split by sequence (images may
repeat), by name only.

Two variants from one fit (``variant`` column)
----------------------------------------------
``"raw"``: test states as recorded (the paper's procedure). ``"centred"``: label-free per-task-context
centring -- every task context's states minus that context's mean state over its *training* rows (no labels
used). A decoder's own standardisation already removes its training task's mean, so both variants share the
fitted decoder and differ only in how another task's states are presented to it. A task-specific *offset*
(a shift of the whole cloud per task) defeats raw transfer but not centred transfer; a task-specific
*subspace* (a different rotation of the code per task) defeats both.

Paper finding (F2): vanilla RNNs generalise across tasks (shared subspaces), GRU/LSTM do not
(task-specific subspaces). Fig. 2c compares *validation* (same task) with *generalisation* (a task with a
different task-relevant feature), which :func:`cross_task_summary` reports per N.

Architectures are compared only when their behaviour is comparable (:func:`accuracy_comparable`).

Labels are raw values: a class unseen by a decoder is scored wrong (the public re-implementation dropped
them, which inflates generalisation).
"""
from __future__ import annotations

from itertools import combinations
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..config import CORES, FEATURES
from ..errors import ConfigError, check_choice, check_choices, check_float, check_int
from ._checks import check_b, check_hidden, check_labels, check_step
from .decoding import PROTOCOLS, fit_decoder, score, task_groups
from .task_relevance import one_blas_thread, recording_split

__all__ = ["cross_task", "cross_task_memory", "cross_task_matrix", "cross_task_summary", "task_label",
           "accuracy_comparable", "VARIANTS", "COLUMNS", "SUMMARY_COLUMNS"]

VARIANTS = ("raw", "centred")

COLUMNS = ["protocol", "variant", "property", "train_feature", "train_n", "test_feature", "test_n", "same_task",
           "same_feature", "step", "age", "accuracy", "ci_low", "ci_high", "chance", "n_classes", "n_train",
           "n_test", "n_unseen"]

SUMMARY_COLUMNS = ["protocol", "variant", "age", "n", "property", "validation", "generalisation",
                   "same_feature_other_n", "chance", "generalisation_index", "decodable"]


def task_label(feature: str, n: int) -> str:
    """Readable task name: ``"2-back location"`` (or ``"location"`` when N is pooled, ``n == 0``)."""
    return f"{int(n)}-back {feature}" if int(n) > 0 else str(feature)


def _check_variants(variants) -> tuple[str, ...]:
    return check_choices("variants", variants, VARIANTS)


@one_blas_thread
def cross_task(hidden: np.ndarray, labels: dict, feature: np.ndarray, n: np.ndarray, seq_id: np.ndarray, *,
               stimuli: Optional[np.ndarray] = None, step: int = 0, age: int = 0,
               properties: Sequence[str] = FEATURES, by_n: bool = True, same_n: bool = False,
               protocol: str = "image", variants: Sequence[str] | str = VARIANTS, strict: bool = True,
               test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg", C: float = 1.0,
               ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """Fit one decoder per (task, property) and score it on every task's held-out rows.

    Parameters
    ----------
    hidden : (B, T, H) float array
    labels : dict property -> (B, T) raw labels of the shown stimulus (``Recording.labels``)
    feature : (B,) int task-feature codes; n : (B,) int N; seq_id : (B,) sequence ids
    stimuli : (B, T) image ids (``Recording.stimuli``); required by ``protocol="image"``
    step : int
        Step whose hidden states are decoded.
    age : int, 0 <= age <= step
        Decode the stimulus shown at ``step - age`` (0 = encoding; >= 1 = the remembered stimulus). With
        ``age >= 1`` only tasks with N >= age take part.
    properties : properties to decode.
    by_n : bool
        Tasks are (feature, N) pairs (default, the paper's ``D_{k,F}``) or features with N pooled.
    same_n : bool
        Score each decoder only on tasks with its own N (3 x 3 per N; needs ``by_n``).
    protocol : {"image", "sequence"} (module docstring).
    variants : "raw" and/or "centred" (module docstring); both come from the same fitted decoders.
    strict, test_fraction, seed : image split (see :func:`~wmnb.analysis.task_relevance.task_relevance`).
    kind, C, ci, n_boot : decoder and CI parameters.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per (variant, property, train task, test task): ``protocol``, ``variant``,
        ``property``, ``train_feature``, ``train_n``, ``test_feature``, ``test_n`` (0 = pooled),
        ``same_task``, ``same_feature``, ``step``, ``age``, ``accuracy``, ``ci_low``, ``ci_high``, ``chance``,
        ``n_classes``, ``n_train``, ``n_test``, ``n_unseen``.
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    step = check_step(step, T)
    age = check_int("age", age, low=0, high=step)
    check_choice("protocol", protocol, PROTOCOLS)
    variants = _check_variants(variants)
    if same_n and not by_n:
        raise ConfigError("same_n=True needs by_n=True (tasks must carry their N)")
    labs = check_labels(labels, B, T, properties)
    feature = check_b(feature, B, "feature")
    n = check_b(n, B, "n")
    seq_id = check_b(seq_id, B, "seq_id")
    d = step - age                                            # step at which the decoded stimulus was shown
    train, test, image_id = recording_split(protocol, stimuli=stimuli, labels=labels, feature=feature, n=n,
                                            seq_id=seq_id, T=T, decoded=d, step=step, strict=strict,
                                            test_fraction=test_fraction, seed=seed)
    tasks = [t for t in task_groups(B, feature, n, by_feature=True, by_n=by_n) if age == 0 or t[1] >= age
             or t[1] == 0]
    X = h[:, step].astype(np.float64)
    Xc = X.copy()
    for _, _, m in tasks:                                     # label-free centring on training rows only
        mt = m & train
        if mt.any():
            Xc[m] -= X[mt].mean(0)
    groups_all = image_id if protocol == "image" else seq_id
    rows = []
    for p in properties:
        y = labs[p][:, d]
        for fa, na, ma in tasks:
            tr = ma & train
            if tr.sum() == 0:
                continue
            dec = fit_decoder(X[tr], y[tr], kind=kind, C=C, seed=seed)
            for fb, nb, mb in tasks:
                if same_n and nb != na:
                    continue
                te = mb & test
                if te.sum() == 0:
                    continue
                for v in variants:
                    # centred: task B's states minus B's training mean, presented in the frame of the decoder
                    # (which subtracts task A's training mean itself): X_B - mu_B + mu_A
                    Xv = X[te] if v == "raw" else Xc[te] + dec.mean
                    s = score(dec, Xv, y[te], groups=groups_all[te], ci=ci, n_boot=n_boot, seed=seed)
                    rows.append(dict(protocol=protocol, variant=v, property=p, train_feature=fa, train_n=na,
                                     test_feature=fb, test_n=nb, same_task=(fa == fb and na == nb),
                                     same_feature=(fa == fb), step=step, age=age, accuracy=s["accuracy"],
                                     ci_low=s["ci_low"], ci_high=s["ci_high"], chance=s["chance"],
                                     n_classes=s["n_classes"], n_train=int(tr.sum()), n_test=s["n_test"],
                                     n_unseen=s["n_unseen"]))
    return pd.DataFrame(rows, columns=COLUMNS)


def cross_task_memory(hidden: np.ndarray, labels: dict, feature: np.ndarray, n: np.ndarray, seq_id: np.ndarray,
                      *, stimuli: Optional[np.ndarray] = None, position: int = 0,
                      ages: Optional[Sequence[int]] = None, properties: Sequence[str] = FEATURES,
                      protocol: str = "image", variants: Sequence[str] | str = VARIANTS, strict: bool = True,
                      test_fraction: float = 0.2, seed: int = 0, kind: str = "logreg", C: float = 1.0,
                      ci: str = "auto", n_boot: int = 1000) -> pd.DataFrame:
    """Cross-task generalisation of the **remembered** stimulus at its memory steps, per N (never pooled).

    The stimulus shown at step ``position`` is decoded from the state at step ``position + a`` for each age
    ``a`` in ``ages`` (default 1..max N); at age ``a`` only tasks with N >= a hold it, and each decoder fit in
    task (F, N) is scored on the tasks (F', N) with the **same** N (3 x 3 per N and age). Age N is the
    executive step at which the stimulus is compared.

    Parameters as in :func:`cross_task` (``position`` = stimulus position i, so the states are E(i, i + a)).

    Returns
    -------
    DataFrame with :data:`COLUMNS` (``age`` >= 1 unless ``ages`` includes 0), rows of every age concatenated.
    """
    h = check_hidden(hidden)
    B, T, _ = h.shape
    n_arr = check_b(n, B, "n")
    position = check_int("position", position, low=0, high=T - 1)
    n_max = int(np.max(n_arr)) if n_arr.size else 0
    ages = tuple(range(1, n_max + 1)) if ages is None else tuple(check_int("age", a, low=0) for a in ages)
    parts = []
    for a in ages:
        if position + a > T - 1:
            raise ConfigError(f"position {position} + age {a} is past the last step {T - 1}")
        parts.append(cross_task(h, labels, feature, n_arr, seq_id, stimuli=stimuli, step=position + a, age=a,
                                properties=properties, by_n=True, same_n=True, protocol=protocol,
                                variants=variants, strict=strict, test_fraction=test_fraction, seed=seed,
                                kind=kind, C=C, ci=ci, n_boot=n_boot))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def cross_task_matrix(table: pd.DataFrame, property: str, value: str = "accuracy") -> pd.DataFrame:
    """Train-task x test-task matrix of one property (rows = train task, columns = test task).

    Tasks are ordered by feature (``FEATURES`` order) then N and named by :func:`task_label`. The table must
    hold one protocol / variant / age (filter it first).
    """
    t = table[table["property"] == property]
    if t.empty:
        raise ValueError(f"no rows for property {property!r}; have {sorted(table['property'].unique())}")
    for col in ("protocol", "variant", "age"):
        if col in t.columns and t[col].nunique() > 1:
            raise ValueError(f"the table mixes several values of {col!r} ({sorted(t[col].unique())}); filter it")

    def order(f, nv):
        return (FEATURES.index(f) if f in FEATURES else len(FEATURES), int(nv))

    keys = sorted({(f, nv) for f, nv in zip(t["train_feature"], t["train_n"])}
                  | {(f, nv) for f, nv in zip(t["test_feature"], t["test_n"])}, key=lambda k: order(*k))
    names = [task_label(*k) for k in keys]
    m = pd.DataFrame(np.nan, index=pd.Index(names, name="train task"), columns=pd.Index(names, name="test task"))
    for r in t.itertuples(index=False):
        m.loc[task_label(r.train_feature, r.train_n), task_label(r.test_feature, r.test_n)] = getattr(r, value)
    return m


def cross_task_summary(table: pd.DataFrame, *, per_n: bool = True, min_gap: float = 0.1) -> pd.DataFrame:
    """Validation (within task) vs generalisation (across task features) per property, as in paper Fig. 2c.

    Parameters
    ----------
    table : rows of :func:`cross_task` / :func:`cross_task_memory` (tables without ``protocol``, ``variant``
        or ``age`` columns are read as "image", "raw", 0).
    per_n : bool
        One row per N (default): only (train, test) pairs with the same N enter validation and
        generalisation, so N is never pooled; ``same_feature_other_n`` is the mean over pairs with the same
        feature and another N whose *train* task has this N. ``per_n=False``: every pair, ``n == 0``.
    min_gap : float
        A cell is *decodable* when validation >= chance + ``min_gap``; the generalisation index of a cell that
        is not is NaN (a ratio over a near-zero denominator says nothing).

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`: one row per (protocol, variant, age, n, property): ``validation`` (mean of
        the diagonal), ``generalisation`` (mean over pairs whose task features differ), ``same_feature_other_n``
        (NaN when absent), ``chance`` (mean), ``generalisation_index`` =
        (generalisation - chance) / (validation - chance) (1 = fully shared subspace, 0 = no transfer),
        ``decodable`` (bool).
    """
    min_gap = check_float("min_gap", min_gap, low=0.0)
    t = table.copy()
    for col, default in (("protocol", "image"), ("variant", "raw"), ("age", 0)):
        if col not in t.columns:
            t[col] = default
    t["same_task"] = t["same_task"].astype(bool)
    t["same_feature"] = t["same_feature"].astype(bool)
    rows = []
    for (pr, v, a, p), g in t.groupby(["protocol", "variant", "age", "property"], sort=False):
        if per_n:
            n_values = sorted(set(int(x) for x in g["train_n"]))
            blocks = [(nv, g[(g["train_n"] == nv) & (g["test_n"] == nv)],
                       g[(g["train_n"] == nv) & (g["test_n"] != nv) & g["same_feature"]]) for nv in n_values]
        else:
            blocks = [(0, g, g[g["same_feature"] & ~g["same_task"]])]
        for nv, gb, sf in blocks:
            if gb.empty:
                continue
            val = gb.loc[gb["same_task"], "accuracy"].mean()
            gen = gb.loc[~gb["same_feature"], "accuracy"].mean()
            ch = gb["chance"].mean()
            ok = bool(np.isfinite(val) and val - ch >= min_gap and val - ch > 0)
            rows.append(dict(protocol=pr, variant=v, age=int(a), n=int(nv), property=p, validation=float(val),
                             generalisation=float(gen),
                             same_feature_other_n=float(sf["accuracy"].mean()) if len(sf) else np.nan,
                             chance=float(ch),
                             generalisation_index=float((gen - ch) / (val - ch)) if ok else np.nan,
                             decodable=ok))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def accuracy_comparable(table: pd.DataFrame, *, tolerance: float = 0.02, split: str = "novel_angle",
                        cores: Optional[Sequence[str]] = None, level: float = 0.95) -> pd.DataFrame:
    """Are architectures comparable in behaviour? Every task within ``tolerance`` of accuracy, per pair of cores.

    Parameters
    ----------
    table : DataFrame with columns ``core``, ``feature``, ``n``, ``accuracy`` (masked accuracy per task, e.g.
        the rows of ``Run.metrics`` with ``feature != "all"``), optional ``seed`` (averaged over) and ``split``
        (only rows of ``split`` are used when the column exists).
    tolerance : float
        Largest allowed absolute difference of the seed-mean accuracy on any task (0.02 = 2 points).
    split : evaluation split compared ("novel_angle": new views of training identities).
    cores : cores to pair (default: all in the table, in :data:`wmnb.config.CORES` order).
    level : confidence level of the per-task gap interval (used when each core has >= 2 seeds).

    Rule
    ----
    With one seed per core (or no ``seed`` column) a pair is comparable when every task's gap is at most
    ``tolerance``. With seeds, a task's gap is judged beyond seed noise: a pair is *not* comparable when, on
    some task, the Welch ``level`` interval of accuracy_a - accuracy_b lies entirely outside
    ``[-tolerance, tolerance]`` (the data show a gap larger than the tolerance). Why: at the quick profile
    the seed-to-seed sd of one task's accuracy is 0.01-0.02, so a point-estimate test of a 2-point tolerance
    on the largest of nine gaps flips with the seeds drawn (seeds 0-2 vs 10-12 did), while a real 5-point
    gap is still caught at five seeds (tested).

    Returns
    -------
    DataFrame
        One row per pair: ``core_a``, ``core_b``, ``max_gap`` (largest |accuracy_a - accuracy_b| of the seed
        means over the tasks; NaN when a task is missing for one core), ``worst_task`` (its label),
        ``max_gap_low`` (largest lower bound of |gap| over tasks: how large a gap the data demonstrate; equals
        ``max_gap`` without seeds), ``mean_a``, ``mean_b`` (mean accuracy over tasks), ``n_tasks``,
        ``comparable`` (``max_gap_low <= tolerance``; False when a task is missing or the table is empty).
    """
    tolerance = check_float("tolerance", tolerance, low=0.0)
    need = {"core", "feature", "n", "accuracy"}
    if not need <= set(table.columns):
        raise ConfigError(f"table needs columns {sorted(need)}; has {sorted(table.columns)}")
    t = table
    if "split" in t.columns:
        t = t[t["split"] == split]
    t = t[t["feature"] != "all"]
    order = CORES
    present = sorted(set(t["core"]), key=lambda c: (order.index(c) if c in order else len(order), c))
    cores = present if cores is None else list(cores)
    acc = t.groupby(["core", "feature", "n"])["accuracy"].mean()
    per_seed = t.groupby(["core", "feature", "n", "seed"])["accuracy"].mean() if "seed" in t.columns else None
    rows = []
    for a, b in combinations(cores, 2):
        sa = acc[a] if a in acc.index.get_level_values(0) else pd.Series(dtype=float)
        sb = acc[b] if b in acc.index.get_level_values(0) else pd.Series(dtype=float)
        keys = sorted(set(sa.index) | set(sb.index))
        gaps = pd.Series({k: abs(sa.get(k, np.nan) - sb.get(k, np.nan)) for k in keys}, dtype=float)
        missing = bool(gaps.isna().any()) or not keys
        max_gap = float("nan") if missing else float(gaps.max())
        worst = task_label(*gaps.idxmax()) if keys and not missing else ""
        if missing:
            max_low = float("nan")
        elif per_seed is None:
            max_low = max_gap
        else:
            max_low = max(_gap_lower_bound(per_seed.loc[(a, *k)].to_numpy(), per_seed.loc[(b, *k)].to_numpy(),
                                           level) for k in keys)
        rows.append(dict(core_a=a, core_b=b, max_gap=max_gap, worst_task=worst, max_gap_low=max_low,
                         mean_a=float(sa.mean()) if len(sa) else np.nan,
                         mean_b=float(sb.mean()) if len(sb) else np.nan, n_tasks=len(keys),
                         comparable=bool(not missing and max_low <= tolerance + 1e-12)))
    return pd.DataFrame(rows, columns=["core_a", "core_b", "max_gap", "worst_task", "max_gap_low", "mean_a",
                                       "mean_b", "n_tasks", "comparable"])


def _gap_lower_bound(xa: np.ndarray, xb: np.ndarray, level: float) -> float:
    """The smallest |mean(xa) - mean(xb)| inside the Welch ``level`` interval of the difference (0 when the
    interval contains 0); the plain |difference| when either side has fewer than two seeds."""
    from scipy import stats as sps

    d = float(np.mean(xa) - np.mean(xb))
    if len(xa) < 2 or len(xb) < 2:
        return abs(d)
    va, vb = np.var(xa, ddof=1) / len(xa), np.var(xb, ddof=1) / len(xb)
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return abs(d)
    dof = (va + vb) ** 2 / (va ** 2 / (len(xa) - 1) + vb ** 2 / (len(xb) - 1))
    half = float(sps.t.ppf(0.5 + level / 2, dof)) * se
    lo, hi = d - half, d + half
    return 0.0 if lo <= 0.0 <= hi else min(abs(lo), abs(hi))

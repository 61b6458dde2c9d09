"""Task-guided attention (chapter 11): does it help, what does it look at, and does it change the geometry?

Six *arms* (architectures) are trained per multi-feature diet (STMF, MTMF) and seed, all with the same core,
budget and front end (:data:`ARMS`):

``avgpool``         1x1 projection + global average pooling: the reference's baseline (no location).
``spatial``         the book's default readout (flattened 7x7 map + a global branch): keeps location.
``task_attention``  softmax attention over the 49 positions, query from the task vector.
``dual_attention``  the same, query from the task vector plus the previous hidden state.
``gate_task_only``  the reference's "attention": a sigmoid channel gate from the task vector, on the pooled
                    embedding (readout ``gate_readout``, "avgpool" as in the reference).
``gate_dual``       the reference's "dual attention": a channel gate from task x embedding (the hidden state
                    never enters it, whatever the reference's slides say).

Every combination of (readout, attention, gate) is validated with :class:`wmnb.models.ModelConfig` and
:func:`wmnb.pipeline.train_config` *before* any run trains (:func:`check_arm`, :func:`check_params`).

Tables (:func:`wmnb.results.cached_table` keyed on this module, models.py and recording.py only):

* :func:`attention_maps`: mean attention weight per 7x7 position, per task feature and quadrant of the shown
  object, per attention run; :func:`quadrant_mass` derives the weight on the object's quadrant;
* :func:`attention_entropy`: mean entropy (nats) of the attention weights per task (feature, N);
* :func:`gate_suppression`: the reference's suppression index of the channel gates (mean gate on the
  least task-relevant quarter of the channels minus the mean gate on the most relevant quarter), per task
  cell, with a shuffled-contrast null; intervals are t intervals *across seeds* (the reference bootstrapped
  gate rows, which is degenerate for task-only gates: constant within a task);
* :func:`geometry`: the book's F1 / F3 / F5 measures on attention runs and their spatial baseline, computed
  by the same pure analysis functions with the same parameters as chapters 5, 7 and 8.

Claims A1-A3 (:func:`claim_A1`, :func:`claim_A2`, :func:`claim_A3`) are decided by the pure rules
:func:`a1_rule`, :func:`a2_rule`, :func:`a3_rule`; :func:`claim_records` gives all three for the claims page.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigError, check_choice, check_choices
from .verdicts import HOLDS, INCONCLUSIVE, NOT, combine, interval_verdict, per_seed_values

__all__ = ["ARMS", "ARM_LABELS", "SCENARIOS", "SPLITS", "REFERENCE", "REFERENCE_ARMS", "QUADRANT_MASKS",
           "check_arm", "arm_kwargs", "check_params", "train_runs", "accuracy_per_seed", "accuracy_summary",
           "reference_table", "per_task_table", "location_learners", "location_learner_summary", "attention_maps",
           "quadrant_mass", "attention_entropy",
           "gate_suppression", "suppression_index", "suppression_summary", "geometry", "precompute",
           "equivalence_verdict", "a1_rule", "a2_rule",
           "a3_rule", "a1_per_seed", "claim_A1", "claim_A2", "claim_A3", "claim_records", "entropy"]

#: arm name -> (readout, attention, gate); ``readout=None`` means "the gate_readout parameter"
ARMS: dict[str, dict] = {
    "avgpool": dict(readout="avgpool", attention="none", gate="none"),
    "spatial": dict(readout="spatial", attention="none", gate="none"),
    "task_attention": dict(readout="attention", attention="task", gate="none"),
    "dual_attention": dict(readout="attention", attention="dual", gate="none"),
    "gate_task_only": dict(readout=None, attention="none", gate="task_only"),
    "gate_dual": dict(readout=None, attention="none", gate="dual"),
}
ARM_LABELS = {"avgpool": "avgpool baseline", "spatial": "spatial baseline", "task_attention": "task attention",
              "dual_attention": "dual attention", "gate_task_only": "gate (task only)", "gate_dual": "gate (dual)"}
ATTENTION_ARMS = ("task_attention", "dual_attention")
GATE_ARMS = ("gate_task_only", "gate_dual")
SCENARIOS = ("STMF", "MTMF")
SPLITS = ("train", "novel_angle", "novel_identity")
GATE_READOUTS = ("avgpool", "spatial", "attention")
#: the module files whose source keys this chapter's cached tables
SOURCES = ("attention.py", "models.py", "recording.py")
TABLE_VERSION = "1"

#: the reference's table (issue 11), in %. Its accuracies are not masked (design notes section 6: the
#: per-epoch log's batch accuracy, no-action steps included), so they are not on our scale.
REFERENCE = pd.DataFrame([
    ("STMF", "baseline", 88.44, 86.31, 72.54), ("MTMF", "baseline", 88.64, 85.86, 70.67),
    ("STMF", "+ attention", 99.15, 93.90, 81.03), ("STMF", "+ dual attention", 99.80, 94.67, 81.33),
    ("MTMF", "+ attention", 99.33, 92.49, 79.69), ("MTMF", "+ dual attention", 99.29, 94.64, 81.18),
], columns=["scenario", "reference_model", "train", "novel_angle", "novel_identity"])
#: which of our arms is the reference's model: its baseline pooled, its "attention" is a channel gate
REFERENCE_ARMS = {"baseline": "avgpool", "+ attention": "gate_task_only", "+ dual attention": "gate_dual"}

#: quadrant (location label: top-left, top-right, bottom-left, bottom-right) -> (49,) bool mask of its 3x3
#: block of the 7x7 map (row-major); the middle row and column belong to no quadrant
QUADRANT_MASKS = np.zeros((4, 49), dtype=bool)
for _q in range(4):
    _r0, _c0 = 4 * (_q // 2), 4 * (_q % 2)
    for _r in range(_r0, _r0 + 3):
        QUADRANT_MASKS[_q, _r * 7 + _c0:_r * 7 + _c0 + 3] = True
#: weight a uniform attention puts on one quadrant
UNIFORM_QUADRANT = 9 / 49


# ---------------------------------------------------------------------------------------------------------
# parameters and runs
# ---------------------------------------------------------------------------------------------------------
def check_arm(readout: str, attention: str = "none", gate: str = "none", *, core: str = "gru"):
    """Validate one (readout, attention, gate) combination; returns the :class:`wmnb.models.ModelConfig`.

    Raises ConfigError (naming the parameter, its value and what is allowed) for an unknown name or an
    invalid combination: ``attention`` other than "none" needs ``readout="attention"``, and
    ``readout="attention"`` needs ``attention`` "task" or "dual". Channel gates combine with any readout.
    """
    from .models import ModelConfig

    return ModelConfig(core=core, readout=readout, attention=attention, gate=gate)


def arm_kwargs(arm: str, gate_readout: str = "avgpool") -> dict:
    """``dict(readout=, attention=, gate=)`` of an arm (:data:`ARMS`); the gate arms sit on ``gate_readout``.

    ``gate_readout="attention"`` gives the gates a task-attention readout underneath."""
    check_choice("arm", arm, list(ARMS))
    check_choice("gate_readout", gate_readout, GATE_READOUTS)
    kw = dict(ARMS[arm])
    if kw["readout"] is None:
        kw["readout"] = gate_readout
        if gate_readout == "attention":
            kw["attention"] = "task"
    return kw


def check_params(*, arms: Sequence[str] = tuple(ARMS), scenarios: Sequence[str] = SCENARIOS, core: str = "gru",
                 gate_readout: str = "avgpool", profile: str = "quick") -> dict:
    """Validate the chapter's own parameters (those :mod:`wmnb.params` does not know) and every training
    config they imply, before any work. Returns ``dict(arms=tuple, scenarios=tuple, gate_readout=str)``.

    ``arms`` must include "spatial" and "avgpool" (the two baselines every comparison needs)."""
    from .pipeline import train_config

    arms = check_choices("arms", arms, list(ARMS))
    if len(set(arms)) != len(arms):
        raise ConfigError(f"arms={list(arms)!r} lists an arm twice; every value must be distinct")
    missing = [a for a in ("avgpool", "spatial") if a not in arms]
    if missing:
        raise ConfigError(f"arms={list(arms)!r} must include the baselines {missing}; allowed: {list(ARMS)}")
    scenarios = check_choices("scenarios", scenarios, SCENARIOS)
    gate_readout = check_choice("gate_readout", gate_readout, GATE_READOUTS)
    for a in arms:
        kw = arm_kwargs(a, gate_readout)
        check_arm(core=core, **kw)
        for s in scenarios:
            train_config(s, core, profile=profile, **kw)
    return dict(arms=tuple(arms), scenarios=tuple(scenarios), gate_readout=gate_readout)


def train_runs(w, scenarios: Sequence[str] = SCENARIOS, core: str = "gru", *, arms: Sequence[str] = tuple(ARMS),
               seeds: Optional[Iterable[int]] = None, gate_readout: str = "avgpool",
               progress: bool = False) -> dict:
    """Every (scenario, arm, seed) run through :func:`wmnb.pipeline.trained_run` (cached by config).

    All configurations are validated first (:func:`check_params`), so a bad combination fails before any
    run trains. Returns ``{(scenario, arm, seed): Run}``."""
    from .pipeline import seeds_for, trained_run

    p = check_params(arms=arms, scenarios=scenarios, core=core, gate_readout=gate_readout, profile=w.profile)
    seeds = seeds_for(w.profile) if seeds is None else tuple(int(s) for s in seeds)
    out = {}
    for s in p["scenarios"]:
        for a in p["arms"]:
            for seed in seeds:
                out[(s, a, seed)] = trained_run(w, s, core, seed=seed, progress=progress,
                                                **arm_kwargs(a, p["gate_readout"]))
    return out


# ---------------------------------------------------------------------------------------------------------
# behaviour
# ---------------------------------------------------------------------------------------------------------
def accuracy_per_seed(runs: Mapping) -> pd.DataFrame:
    """Masked accuracy of the last checkpoint per run: ``scenario, arm, seed, split, feature, n, accuracy,
    chance`` (feature "all", n 0 = all tasks)."""
    parts = []
    for (s, a, seed), run in runs.items():
        m = run.metrics[run.metrics.split.isin(SPLITS)]
        parts.append(m[["split", "feature", "n", "accuracy", "chance"]].assign(scenario=s, arm=a, seed=int(seed)))
    t = pd.concat(parts, ignore_index=True)
    return t[["scenario", "arm", "seed", "split", "feature", "n", "accuracy", "chance"]]


def _ci(values) -> tuple[float, float, float]:
    from .analysis.stats import mean_t_interval

    return mean_t_interval(np.asarray(values, dtype=float))


def accuracy_summary(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t interval across seeds per (scenario, arm, split, feature, n): ``mean, ci_low, ci_high,
    n_seeds`` (interval NaN with one seed)."""
    rows = []
    for key, g in per_seed.groupby(["scenario", "arm", "split", "feature", "n"], sort=False):
        m, lo, hi = _ci(g["accuracy"])
        rows.append(dict(zip(["scenario", "arm", "split", "feature", "n"], key), mean=m, ci_low=lo, ci_high=hi,
                         n_seeds=int(g["seed"].nunique())))
    return pd.DataFrame(rows)


def _fmt(m, lo, hi) -> str:
    """Accuracy (fraction) as "mean [lo, hi]" in %. A t interval over a few seeds, one of which failed to learn,
    can reach past 0 or 100 %; its bounds are cut there, since no accuracy lies beyond them."""
    if not np.isfinite(m):
        return "—"
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{100 * m:.1f} [{100 * max(lo, 0.0):.1f}, {100 * min(hi, 1.0):.1f}]"
    return f"{100 * m:.1f}"


def reference_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The issue's table with ours beside it: one row per (scenario, arm), columns ``ours: train / novel angle
    / novel identity`` (masked accuracy in %, mean [95 % t interval across seeds]) and ``reference: ...`` (the
    reference's unmasked %, for the arm that is its model; "—" where it has none)."""
    allt = summary[summary.feature == "all"]
    ref_of = {v: k for k, v in REFERENCE_ARMS.items()}
    rows = []
    for (s, a), g in allt.groupby(["scenario", "arm"], sort=False):
        r = {"scenario": s, "model": ARM_LABELS.get(a, a)}
        for sp in SPLITS:
            x = g[g.split == sp]
            r[f"ours: {sp.replace('_', ' ')}"] = _fmt(*x[["mean", "ci_low", "ci_high"]].iloc[0]) if len(x) else "—"
        ref = REFERENCE[(REFERENCE.scenario == s) & (REFERENCE.reference_model == ref_of.get(a, ""))]
        r["reference model"] = f"{s} {ref_of[a]}" if a in ref_of else "—"
        for sp in SPLITS:
            r[f"reference: {sp.replace('_', ' ')}"] = f"{float(ref[sp].iloc[0]):.2f}" if len(ref) else "—"
        rows.append(r)
    order = {a: i for i, a in enumerate(ARMS)}
    out = pd.DataFrame(rows)
    out["_o"] = [order.get(next((k for k, v in ARM_LABELS.items() if v == m), m), 99) for m in out["model"]]
    return out.sort_values(["scenario", "_o"], key=lambda c: c if c.name == "_o" else c.map(
        {s: i for i, s in enumerate(SCENARIOS)})).drop(columns="_o").set_index(["scenario", "model"])


def per_task_table(summary: pd.DataFrame, split: str = "novel_angle") -> pd.DataFrame:
    """Masked accuracy (%) per task (feature, N) x arm on ``split``: "mean [lo, hi]" across seeds."""
    t = summary[(summary.split == split) & (summary.feature != "all")].copy()
    t["cell"] = [_fmt(m, lo, hi) for m, lo, hi in zip(t["mean"], t["ci_low"], t["ci_high"])]
    t["arm"] = t["arm"].map(lambda a: ARM_LABELS.get(a, a))
    out = t.pivot_table(index=["scenario", "feature", "n"], columns="arm", values="cell", aggfunc="first")
    return out[[ARM_LABELS[a] for a in ARMS if ARM_LABELS[a] in out.columns]]


#: a seed "learned location" when its mean masked accuracy over the location tasks reaches this (chance 0.5)
LEARNED_LOCATION = 0.9
#: ... and "stayed at chance" on location at or below this (a pooled readout's level)
LOCATION_AT_CHANCE = 0.6


def location_learners(per_seed: pd.DataFrame, split: str = "novel_angle") -> pd.DataFrame:
    """Did each run learn the location tasks? One row per (scenario, arm, seed): ``location`` (mean masked
    accuracy over the location tasks on ``split``), ``overall`` (all tasks) and ``outcome``: "learned"
    (>= :data:`LEARNED_LOCATION`), "at chance" (<= :data:`LOCATION_AT_CHANCE`) or "partly".

    Attention can only report an object's quadrant by concentrating on it; a run whose attention stays
    spread out is, for location, a pooled readout."""
    t = per_seed[(per_seed.split == split) & (per_seed.feature == "location")]
    loc = t.groupby(["scenario", "arm", "seed"], sort=False)["accuracy"].mean().rename("location")
    a = per_seed[(per_seed.split == split) & (per_seed.feature == "all")]
    overall = a.set_index(["scenario", "arm", "seed"])["accuracy"].rename("overall")
    out = pd.concat([loc, overall], axis=1, join="inner").reset_index()
    out["outcome"] = np.select([out.location >= LEARNED_LOCATION, out.location <= LOCATION_AT_CHANCE],
                               ["learned", "at chance"], "partly")
    return out


def location_learner_summary(learners: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, arm): how many seeds learned location, partly, or stayed at chance, and each seed's
    location accuracy (%), as the chapter shows it."""
    rows = []
    for (s, a), g in learners.groupby(["scenario", "arm"], sort=False):
        g = g.sort_values("seed")
        rows.append({"scenario": s, "model": ARM_LABELS.get(a, a), "seeds": len(g),
                     **{k: int((g.outcome == k).sum()) for k in ("learned", "partly", "at chance")},
                     "location accuracy per seed (%)": ", ".join(f"{100 * v:.0f}" for v in g.location)})
    return pd.DataFrame(rows).set_index(["scenario", "model"])


# ---------------------------------------------------------------------------------------------------------
# attention maps and entropy (from the analysis recording of each attention run)
# ---------------------------------------------------------------------------------------------------------
_RECORDINGS: "OrderedDict[tuple, object]" = OrderedDict()


def _recording(w, run, split: str = "train", n_per_condition: Optional[int] = None):
    """:func:`wmnb.pipeline.recording` memoised in-process (the last two)."""
    from .pipeline import ANALYSIS_SEQUENCES, recording

    npc = ANALYSIS_SEQUENCES[w.profile] if n_per_condition is None else int(n_per_condition)
    key = (run.key, split, npc)
    if key not in _RECORDINGS:
        _RECORDINGS[key] = recording(w, run, split=split, n_per_condition=npc)
        while len(_RECORDINGS) > 2:
            _RECORDINGS.popitem(last=False)
    return _RECORDINGS[key]


def _rec_desc(w, split: str, npc: Optional[int]) -> dict:
    from .pipeline import ANALYSIS_SEED, ANALYSIS_SEQUENCES

    return dict(split=split, n_per_condition=ANALYSIS_SEQUENCES[w.profile] if npc is None else int(npc),
                seed=ANALYSIS_SEED)


def entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy in nats of attention weight vectors (..., 49) -> (...); uniform = log 49 = 3.89."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 1e-12, None)
    return -(w * np.log(w)).sum(-1)


def maps_from_arrays(attn: np.ndarray, feature: np.ndarray, location: np.ndarray) -> pd.DataFrame:
    """Mean attention weight per (task feature, quadrant of the shown object, position) (pure).

    attn (B,T,49) weights; feature (B,) task feature codes; location (B,T) quadrant of the object shown at
    each step. Returns ``task_feature, quadrant, position, weight, n_steps`` (every step counted)."""
    from .tasks import FEATURES

    B, T, P = attn.shape
    f = np.repeat(np.asarray(feature), T)
    q = np.asarray(location).reshape(-1)
    a = attn.reshape(-1, P)
    rows = []
    for fc in np.unique(f):
        for qc in range(4):
            sel = (f == fc) & (q == qc)
            if not sel.any():
                continue
            m = a[sel].mean(0)
            rows += [dict(task_feature=FEATURES[int(fc)], quadrant=qc, position=p, weight=float(m[p]),
                          n_steps=int(sel.sum())) for p in range(P)]
    return pd.DataFrame(rows)


def quadrant_mass(maps: pd.DataFrame) -> pd.DataFrame:
    """Weight on the shown object's quadrant per (…, task_feature, quadrant) of a maps table (pure): the mean
    over steps of the summed weight of that quadrant's 3x3 block (a sum of means is the mean of sums).
    ``mass``; ``uniform`` = 9/49 is what uniform attention gives."""
    keys = [c for c in maps.columns if c not in ("position", "weight", "n_steps")]
    t = maps.assign(_in=QUADRANT_MASKS[maps["quadrant"].to_numpy(int), maps["position"].to_numpy(int)])
    out = t[t["_in"]].groupby(keys, sort=False)["weight"].sum().rename("mass").reset_index()
    return out.assign(uniform=UNIFORM_QUADRANT)


def _attention_runs(runs: Mapping):
    return {k: r for k, r in runs.items() if r.config.model.readout == "attention"}


def attention_maps(w, runs: Mapping, *, n_per_condition: Optional[int] = None, cache_dir=None) -> pd.DataFrame:
    """:func:`maps_from_arrays` of every attention run's analysis recording (train pool), cached per run.

    Returns ``scenario, arm, seed, task_feature, quadrant, position, weight, n_steps``."""
    from .results import cached_table

    parts = []
    for (s, a, seed), run in _attention_runs(runs).items():
        desc = dict(v=TABLE_VERSION, run=run.key, recording=_rec_desc(w, "train", n_per_condition))

        def compute(run=run):
            rec = _recording(w, run, "train", n_per_condition)
            return maps_from_arrays(rec.attention, rec.feature, rec.labels["location"])
        parts.append(cached_table("attention_maps", desc, compute, cache_dir=cache_dir, sources=SOURCES)
                     .assign(scenario=s, arm=a, seed=int(seed)))
    if not parts:
        return pd.DataFrame(columns=["scenario", "arm", "seed", "task_feature", "quadrant", "position", "weight",
                                     "n_steps"])
    t = pd.concat(parts, ignore_index=True)
    return t[["scenario", "arm", "seed", "task_feature", "quadrant", "position", "weight", "n_steps"]]


def entropy_from_arrays(attn: np.ndarray, feature: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    """Mean attention entropy (nats) per task (feature, N) (pure): ``task_feature, n, entropy, max_entropy``."""
    from .tasks import FEATURES

    h = entropy(attn).mean(1)  # (B,) mean over steps
    rows = []
    for fc in np.unique(feature):
        for nv in np.unique(n):
            sel = (feature == fc) & (n == nv)
            if sel.any():
                rows.append(dict(task_feature=FEATURES[int(fc)], n=int(nv), entropy=float(h[sel].mean()),
                                 max_entropy=float(np.log(attn.shape[-1]))))
    return pd.DataFrame(rows)


def attention_entropy(w, runs: Mapping, *, n_per_condition: Optional[int] = None, cache_dir=None) -> pd.DataFrame:
    """:func:`entropy_from_arrays` per attention run (cached): ``scenario, arm, seed, task_feature, n, entropy,
    max_entropy``."""
    from .results import cached_table

    parts = []
    for (s, a, seed), run in _attention_runs(runs).items():
        desc = dict(v=TABLE_VERSION, run=run.key, recording=_rec_desc(w, "train", n_per_condition))

        def compute(run=run):
            rec = _recording(w, run, "train", n_per_condition)
            return entropy_from_arrays(rec.attention, rec.feature, rec.n)
        parts.append(cached_table("attention_entropy", desc, compute, cache_dir=cache_dir, sources=SOURCES)
                     .assign(scenario=s, arm=a, seed=int(seed)))
    if not parts:
        return pd.DataFrame(columns=["scenario", "arm", "seed", "task_feature", "n", "entropy", "max_entropy"])
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------
# gate suppression (reference section 5.9, with a seed interval and a null)
# ---------------------------------------------------------------------------------------------------------
def _channel_relevance(x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """Mean over classes of |w_c| of one-vs-rest ridge least-squares normals on z-scored ``x`` (rows, D)."""
    z = (x - x.mean(0)) / (x.std(0) + 1e-8)
    classes = np.unique(y)
    Y = (y[:, None] == classes[None, :]).astype(np.float64) * 2 - 1
    W = np.linalg.solve(z.T @ z + ridge * len(z) * np.eye(z.shape[1]), z.T @ Y)
    return np.abs(W).mean(1)


def suppression_index(gates: np.ndarray, relevance: Mapping[str, np.ndarray], feature: str, *,
                      fraction: float = 0.25, n_null: int = 50, seed: int = 0) -> dict:
    """The reference's suppression index for one task cell (pure).

    gates (rows, D) gate values; relevance: property -> (D,) channel relevance. contrast = z(relevance of
    ``feature``) - z(mean relevance of the other properties); with k = round(fraction D): index = mean gate on
    the k lowest-contrast channels - mean gate on the k highest (negative = irrelevant channels suppressed).
    ``null_mean, null_sd``: the index with the contrast shuffled over channels ``n_null`` times; ``r``: Pearson
    correlation of per-channel mean gate and contrast."""
    from scipy.stats import zscore

    g = np.asarray(gates, dtype=np.float64).mean(0)
    others = [p for p in relevance if p != feature]
    c = zscore(relevance[feature]) - zscore(np.mean([relevance[p] for p in others], axis=0))
    D = len(c)
    k = max(1, int(round(fraction * D)))

    def index(contrast):
        o = np.argsort(contrast)
        return float(g[o[:k]].mean() - g[o[-k:]].mean())
    rng = np.random.default_rng(seed)
    null = np.array([index(rng.permutation(c)) for _ in range(n_null)])
    r = float(np.corrcoef(g, c)[0, 1]) if g.std() > 0 else np.nan
    return dict(index=index(c), null_mean=float(null.mean()), null_sd=float(null.std(ddof=1)), r=r, k=k,
                mean_gate=float(g.mean()))


def _gate_cells(run, rec, seed: int) -> pd.DataFrame:
    """Suppression index per task cell of one gate run (pre-gate embedding and gates recomputed)."""
    import torch

    from .tasks import FEATURES

    model = run.model("last", device="cpu")
    with torch.no_grad():
        x = torch.as_tensor(rec.stimuli)
        tv = torch.as_tensor(rec.task_vector).float()
        part = model._image_part(x)
        if model.readout.needs_query:
            part, _ = model.readout.attend(part, model.readout.query(tv[:, None].expand(-1, x.shape[1], -1)))
        task = tv[:, None].expand(-1, x.shape[1], -1)
        gates = model.gate(part, task).numpy()
        emb = part.numpy()
    rows = []
    for fc in np.unique(rec.feature):
        for nv in np.unique(rec.n):
            sel = (rec.feature == fc) & (rec.n == nv)
            if not sel.any():
                continue
            xe = emb[sel].reshape(-1, emb.shape[-1])
            rel = {p: _channel_relevance(xe, rec.labels[p][sel].reshape(-1)) for p in FEATURES}
            res = suppression_index(gates[sel].reshape(-1, gates.shape[-1]), rel, FEATURES[int(fc)], seed=seed)
            rows.append(dict(task_feature=FEATURES[int(fc)], n=int(nv), **res))
    return pd.DataFrame(rows)


def gate_suppression(w, runs: Mapping, *, split: str = "novel_identity", n_per_condition: Optional[int] = None,
                     cache_dir=None) -> pd.DataFrame:
    """Suppression index per gate run and task cell (cached), on the ``split`` recording (the reference used
    novel identities). Returns ``scenario, arm, seed, task_feature, n, index, null_mean, null_sd, r, k,
    mean_gate``; intervals come from :func:`suppression_summary` (across seeds)."""
    from .results import cached_table

    parts = []
    for (s, a, seed), run in runs.items():
        if run.config.model.gate == "none":
            continue
        desc = dict(v=TABLE_VERSION, run=run.key, recording=_rec_desc(w, split, n_per_condition), fraction=0.25,
                    n_null=50, relevance="ovr ridge normals, z-scored pre-gate embedding")
        parts.append(cached_table("gate_suppression", desc,
                                  lambda run=run, seed=seed: _gate_cells(run, _recording(w, run, split,
                                                                                         n_per_condition), seed),
                                  cache_dir=cache_dir, sources=SOURCES).assign(scenario=s, arm=a, seed=int(seed)))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def suppression_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, arm, task_feature, n): index and index - null mean across seeds with 95 % t intervals."""
    rows = []
    for key, g in table.groupby(["scenario", "arm", "task_feature", "n"], sort=False):
        m, lo, hi = _ci(g["index"])
        d, dlo, dhi = _ci(g["index"] - g["null_mean"])
        rows.append(dict(zip(["scenario", "arm", "task_feature", "n"], key), index=m, ci_low=lo, ci_high=hi,
                         minus_null=d, minus_null_ci_low=dlo, minus_null_ci_high=dhi, r=float(g["r"].mean()),
                         n_seeds=len(g)))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------
# geometry: the book's F1 / F3 / F5 measures on attention runs vs the spatial baseline (A2)
# ---------------------------------------------------------------------------------------------------------
GEOMETRY_MEASURES = {
    "F1": "task-irrelevant decoding at t = 0, normalised above chance (image-disjoint)",
    "F3": "orthogonalization: (O - O_null)(encoding) - (O - O_null)(backbone), k = 64 (image-disjoint)",
    "F5": "encoding-transfer gap, validation - generalisation, per-step centred (image-disjoint)",
}


def _geometry_one(w, run, scenario: str, seed: int) -> pd.DataFrame:
    """F1, F3, F5 values of one run (the analysis functions and parameters of chapters 5, 7, 8)."""
    from .analysis.dynamics import encoding_transfer, transfer_summary
    from .analysis.orthogonality import equal_k_orthogonality
    from .analysis.task_relevance import task_relevance
    from .experiments import orthogonality as orth
    from .experiments.core import iter_feature_blocks, subsample_rows
    from .experiments.dynamics import f5_rule
    from .experiments.relevance import irrelevant_by_scenario

    rec = _recording(w, run, "train")
    rows = []
    # F1 (relevance(): step 0, by N, logreg C = 1, image-disjoint)
    tr = task_relevance(rec.hidden, rec.labels, rec.feature, rec.n, rec.seq_id, stimuli=rec.stimuli, step=0,
                        by_n=True, protocol="image", seed=int(seed), C=1.0)
    by = irrelevant_by_scenario(tr.assign(scenario=scenario, seed=int(seed)))
    rows.append(dict(measure="F1", value=float(by["irrelevant"].iloc[0]), control=float(by["relevant"].iloc[0]),
                     control_name="relevant property, normalised", n_cells=len(tr)))
    # F3 (orthogonality(): k = 64, n_null by profile, decodability gate 0.1, per (feature, N))
    sp = {"backbone": np.asarray(rec.backbone_table[rec.stimuli[:, 0]], dtype=np.float32),
          "encoding": rec.hidden[:, 0]}
    ok = equal_k_orthogonality(sp, {p: rec.labels[p][:, 0] for p in orth.PROPERTIES}, rec.stimuli[:, 0],
                               rec.feature, rec.n, k=orth.DEFAULT_K, step=0, n_null=orth.DEFAULT_N_NULL[w.profile],
                               protocol="image", seq_id=rec.seq_id, seed=int(seed), min_above_chance=0.1,
                               by_feature=True, by_n=True)
    ok = ok.assign(seed=int(seed), model=scenario, core=run.config.model.core, scenario=scenario, run_key=run.key)
    ok["decodable"] = ok["decodable"].astype(str).str.lower().isin(["true", "1"])
    pm = orth.per_model_deltas(ok, perceptual=("backbone",))
    rows.append(dict(measure="F3", value=float(pm["delta"].iloc[0]), control=float(pm["n_kept"].iloc[0]),
                     control_name="cells decodable in both spaces", n_cells=int(pm["n_pairs"].iloc[0])))
    # F5 (encoding_transfer(): relevant property, by N, 1000 sequences per cell, image-disjoint; no angles)
    r = subsample_rows(rec.feature, rec.n, 1000, 0)
    parts = [encoding_transfer(rec.hidden[rr], {p: rec.labels[p][rr] for p in props}, rec.n[rr], rec.seq_id[rr],
                               stimuli=rec.stimuli[rr], feature=rec.feature[rr], properties=props, by_feature=True,
                               by_n=True, protocol="image", angles=False, seed=int(seed), C=1.0, ci="wilson")
             for _, rr, props in iter_feature_blocks(rec, r, "relevant")]
    res = f5_rule(transfer_summary(pd.concat(parts, ignore_index=True)).assign(seed=int(seed)))
    rows.append(dict(measure="F5", value=float(res["value"]), control=float(res["n_cells"]),
                     control_name="task cells decodable above chance + 0.1", n_cells=res["n_cells"] + res["n_dropped"]))
    return pd.DataFrame(rows)


def geometry(w, runs: Mapping, *, arms: Sequence[str] = ("spatial", *ATTENTION_ARMS), scenario: str = "MTMF",
             cache_dir=None) -> pd.DataFrame:
    """F1, F3, F5 per run of ``arms`` in ``scenario`` (cached per run): ``scenario, arm, seed, measure, value,
    control, control_name, n_cells``."""
    from .results import cached_table

    parts = []
    for (s, a, seed), run in runs.items():
        if s != scenario or a not in arms:
            continue
        desc = dict(v=TABLE_VERSION, run=run.key, recording=_rec_desc(w, "train", None),
                    measures=GEOMETRY_MEASURES)
        parts.append(cached_table("attention_geometry", desc,
                                  lambda run=run, seed=seed, s=s: _geometry_one(w, run, s, seed), cache_dir=cache_dir,
                                  sources=SOURCES + ("analysis", "experiments"))
                     .assign(scenario=s, arm=a, seed=int(seed)))
    if not parts:
        return pd.DataFrame(columns=["scenario", "arm", "seed", "measure", "value", "control", "control_name",
                                     "n_cells"])
    return pd.concat(parts, ignore_index=True)


def precompute(w, runs: Mapping, *, geometry_scenario: str = "MTMF", progress: bool = False) -> None:
    """Fill the result cache of every per-run table of the chapter in ONE pass over the runs, so each run's
    analysis recording is made once (maps, entropy and geometry share it; the gate tables use the novel-identity
    recording). Afterwards :func:`attention_maps`, :func:`attention_entropy`, :func:`geometry` and
    :func:`gate_suppression` read the cache."""
    items = list(runs.items())
    if progress:
        from tqdm.auto import tqdm
        items = tqdm(items, desc="attention tables", leave=False)
    for key, run in items:
        one = {key: run}
        if run.config.model.readout == "attention":
            attention_maps(w, one)
            attention_entropy(w, one)
        if key[0] == geometry_scenario and key[1] in ("spatial", *ATTENTION_ARMS):
            geometry(w, one, scenario=geometry_scenario)
        if run.config.model.gate != "none":
            gate_suppression(w, one)


# ---------------------------------------------------------------------------------------------------------
# rules (pure) and claims
# ---------------------------------------------------------------------------------------------------------
def equivalence_verdict(lo: float, hi: float, tolerance: float, *, controls_pass: bool = True) -> str:
    """"holds" when the interval [lo, hi] lies inside (-tolerance, +tolerance), "does not hold" when it lies
    wholly outside it (lo > tolerance or hi < -tolerance), else "inconclusive" (also for NaN or failed
    controls)."""
    if not controls_pass or not (np.isfinite(lo) and np.isfinite(hi)):
        return INCONCLUSIVE
    if -tolerance < lo and hi < tolerance:
        return HOLDS
    if lo > tolerance or hi < -tolerance:
        return NOT
    return INCONCLUSIVE


def a1_per_seed(acc: pd.DataFrame, *, split: str = "novel_angle", attention: str = "task_attention") -> pd.DataFrame:
    """Per (scenario, seed): overall masked accuracy on ``split`` of ``attention``, ``avgpool`` and ``spatial``,
    the location-task accuracies, and the mean non-location accuracy of both baselines (the controls)."""
    a = acc[acc.split == split]
    rows = []
    for (s, seed), g in a.groupby(["scenario", "seed"], sort=True):
        def val(arm, feat="all", _g=g):
            x = _g[(_g.arm == arm) & (_g.feature == feat)]["accuracy"]
            return float(x.mean()) if len(x) else np.nan

        def nonloc(arm, _g=g):
            x = _g[(_g.arm == arm) & _g.feature.isin(["identity", "category"])]["accuracy"]
            return float(x.mean()) if len(x) else np.nan
        rows.append(dict(scenario=s, seed=int(seed), attention=val(attention), avgpool=val("avgpool"),
                         spatial=val("spatial"), attention_location=val(attention, "location"),
                         avgpool_location=val("avgpool", "location"), spatial_location=val("spatial", "location"),
                         avgpool_nonlocation=nonloc("avgpool"), spatial_nonlocation=nonloc("spatial"),
                         attention_nonlocation=nonloc(attention)))
    return pd.DataFrame(rows)


def a1_rule(per_seed: pd.DataFrame, *, gain: float = 0.05, min_control: float = 0.6) -> dict:
    """The A1 verdict (pure).

    Parameters
    ----------
    per_seed : one row per (scenario, seed) with ``attention, avgpool, spatial`` (overall masked accuracy)
        and ``avgpool_nonlocation, spatial_nonlocation`` (the controls).
    gain : the smallest gain that counts as the claimed "about 10 points" (half of it, 0.05).
    min_control : both baselines must have learned the non-location tasks (mean accuracy >= this, per
        scenario): otherwise a gain may only show a broken baseline, and the verdict is inconclusive.

    Rule
    ----
    Per scenario and baseline B (avgpool, spatial): the t interval across seeds of the paired gain
    ``attention - B`` against ``gain`` (:func:`wmnb.verdicts.interval_verdict`, above). Verdict =
    :func:`wmnb.verdicts.combine` of the four parts: **holds** (attention gains against both baselines in
    both diets), **does not hold** (against neither), **mixed** (against one and not the other, e.g. only
    against the pooled baseline that cannot see location), **inconclusive** (an interval straddles the
    threshold, fewer than two seeds, or a control fails).

    Returns
    -------
    dict: ``verdict``, ``parts`` {(scenario, baseline): dict(value, ci_low, ci_high, verdict)}, ``controls``
    {scenario: bool}, ``controls_pass``.
    """
    need = {"scenario", "seed", "attention", "avgpool", "spatial", "avgpool_nonlocation", "spatial_nonlocation"}
    if not need <= set(per_seed.columns):
        raise ConfigError(f"per_seed needs columns {sorted(need)}; has {sorted(per_seed.columns)}")
    parts, controls, verdicts = {}, {}, []
    for s, g in per_seed.groupby("scenario", sort=False):
        ctrl = bool(np.nanmean(g["avgpool_nonlocation"]) >= min_control
                    and np.nanmean(g["spatial_nonlocation"]) >= min_control)
        controls[s] = ctrl
        for b in ("avgpool", "spatial"):
            m, lo, hi = _ci(g["attention"] - g[b])
            v = interval_verdict(lo, hi, gain, direction="above", controls_pass=ctrl)
            parts[(s, b)] = dict(value=m, ci_low=lo, ci_high=hi, verdict=v)
            verdicts.append(v)
    if not verdicts:
        raise ConfigError("per_seed is empty")
    return dict(verdict=combine(verdicts), parts=parts, controls=controls, controls_pass=all(controls.values()),
                gain=gain, min_control=min_control)


def a2_rule(per_seed: pd.DataFrame, *, tolerances: Optional[Mapping[str, float]] = None) -> dict:
    """The A2 verdict (pure).

    Parameters
    ----------
    per_seed : one row per (arm, seed, measure) with ``value`` and ``controls_pass`` (bool), including the
        ``spatial`` arm (the baseline) and one or more attention arms.
    tolerances : measure -> the largest difference that is "not fundamental" (default F1 0.1, F3 0.1, F5 0.1,
        in each measure's units: normalised accuracy, normalised O, accuracy).

    Rule
    ----
    For every attention arm and measure: the paired difference ``attention - spatial`` per seed, its t
    interval across seeds, and :func:`equivalence_verdict` against the measure's tolerance (**holds**: the
    whole interval inside +- tolerance; **does not hold**: wholly outside; **inconclusive**: straddles an
    edge, fewer than two seeds, or a control failed in either model, e.g. no task cell decodable). Verdict =
    :func:`wmnb.verdicts.combine` over all (arm, measure) parts.

    Returns
    -------
    dict: ``verdict``, ``parts`` {(arm, measure): dict(value, ci_low, ci_high, verdict, controls_pass)}.
    """
    tol = {"F1": 0.1, "F3": 0.1, "F5": 0.1, **(tolerances or {})}
    need = {"arm", "seed", "measure", "value", "controls_pass"}
    if not need <= set(per_seed.columns):
        raise ConfigError(f"per_seed needs columns {sorted(need)}; has {sorted(per_seed.columns)}")
    base = per_seed[per_seed.arm == "spatial"].set_index(["measure", "seed"])
    if base.empty:
        raise ConfigError("per_seed has no rows of the 'spatial' baseline")
    parts, verdicts = {}, []
    for (arm, meas), g in per_seed[per_seed.arm != "spatial"].groupby(["arm", "measure"], sort=False):
        g = g.set_index("seed")
        seeds = [s for s in g.index if (meas, s) in base.index]
        d = np.array([g.loc[s, "value"] - base.loc[(meas, s), "value"] for s in seeds], dtype=float)
        ctrl = bool(len(seeds)) and all(bool(g.loc[s, "controls_pass"]) and bool(base.loc[(meas, s), "controls_pass"])
                                        for s in seeds)
        m, lo, hi = _ci(d)
        v = equivalence_verdict(lo, hi, tol.get(meas, 0.1), controls_pass=ctrl)
        parts[(arm, meas)] = dict(value=m, ci_low=lo, ci_high=hi, verdict=v, controls_pass=ctrl,
                                  tolerance=tol.get(meas, 0.1), per_seed=list(zip(seeds, d.tolist())))
        verdicts.append(v)
    if not verdicts:
        raise ConfigError("per_seed has no attention arm to compare with 'spatial'")
    return dict(verdict=combine(verdicts), parts=parts, tolerances=tol)


def a3_rule(per_seed: pd.DataFrame, *, margin: float = 0.02, min_accuracy: float = 0.6) -> dict:
    """The A3 verdict (pure).

    Parameters
    ----------
    per_seed : one row per seed with ``dual`` and ``task`` (overall masked accuracy of dual and task attention).
    margin : the largest difference that is "marginal" (0.02: two points).
    min_accuracy : control: both models must have learned the tasks (mean >= this), else inconclusive.

    Rule
    ----
    The t interval across seeds of the paired difference ``dual - task`` against +- ``margin``
    (:func:`equivalence_verdict`): **holds** when the whole interval lies within +- margin (at most a marginal
    gain or loss); **does not hold** when it lies wholly above margin (dual clearly better: not marginal) or
    wholly below -margin (dual clearly worse); **inconclusive** when it straddles an edge, with fewer than two
    seeds, or when a control fails.
    """
    need = {"seed", "dual", "task"}
    if not need <= set(per_seed.columns):
        raise ConfigError(f"per_seed needs columns {sorted(need)}; has {sorted(per_seed.columns)}")
    m, lo, hi = _ci(per_seed["dual"] - per_seed["task"])
    ctrl = bool(len(per_seed)) and float(per_seed["dual"].mean()) >= min_accuracy \
        and float(per_seed["task"].mean()) >= min_accuracy
    return dict(verdict=equivalence_verdict(lo, hi, margin, controls_pass=ctrl), value=m, ci_low=lo, ci_high=hi,
                controls_pass=ctrl, margin=margin, min_accuracy=min_accuracy)


def _claim_dict(*args, **kw):
    from .experiments import claim_dict

    return claim_dict(*args, **kw)


def _rule_doc(fn) -> str:
    body = fn.__doc__.split("Rule\n    ----\n")[1].split("\n\n    Returns")[0]
    return " ".join(body.split()).replace("``", "`")


def claim_A1(acc: pd.DataFrame, *, split: str = "novel_angle", gain: float = 0.05, min_control: float = 0.6) -> dict:
    """A1: attention improves multi-feature performance by about 10 points, against both baselines.

    ``acc``: :func:`accuracy_per_seed` (needs task_attention, avgpool, spatial). Rule: :func:`a1_rule` on the
    overall masked accuracy of ``split`` (novel angle: the book's held-out split). ``value`` = mean over
    scenarios of the gain over the spatial baseline. ``details`` also give the gain over the pooled baseline,
    the share of that gain carried by the location tasks, and the reference's gate arms' gains."""
    ps = a1_per_seed(acc, split=split)
    res = a1_rule(ps, gain=gain, min_control=min_control)
    # how much of the gain over the pooled baseline is location: per seed, (gain on location tasks / 3) / gain
    a = acc[(acc.split == split) & (acc.feature != "all")]
    share = []
    for (s, seed), g in a.groupby(["scenario", "seed"]):
        pf = g.groupby(["arm", "feature"])["accuracy"].mean().unstack("feature")
        if not {"task_attention", "avgpool"} <= set(pf.index):
            continue
        d = pf.loc["task_attention"] - pf.loc["avgpool"]
        total = d.mean()
        share.append(dict(scenario=s, seed=int(seed), location_gain=float(d.get("location", np.nan)),
                          share=float(d.get("location", np.nan) / len(d) / total) if abs(total) > 1e-9 else np.nan))
    share = pd.DataFrame(share)
    gates = {}
    for arm in GATE_ARMS:
        if arm in set(acc.arm):
            gp = a1_per_seed(acc, split=split, attention=arm)
            gates[arm] = {s: dict(zip(("value", "ci_low", "ci_high"), _ci(g["attention"] - g["avgpool"])))
                          for s, g in gp.groupby("scenario")}
    # value: per seed, the gain over the spatial baseline averaged over the diets; t interval across seeds
    m, lo, hi = _ci(ps.assign(_g=ps["attention"] - ps["spatial"]).groupby("seed")["_g"].mean())
    ci = (lo, hi)
    per_seed = []
    for b in ("avgpool", "spatial"):
        per_seed += per_seed_values(ps["seed"], ps["attention"] - ps[b],
                                    label=[f"{s}: attention - {b}" for s in ps["scenario"]])
    details = dict(
        rule=_rule_doc(a1_rule), value_name=f"task attention - spatial baseline, overall masked accuracy ({split}), "
                                            f"mean over diets",
        parts={f"{s} vs {b}": v for (s, b), v in res["parts"].items()}, controls_by_scenario=res["controls"],
        location_share=dict(zip(("mean", "ci_low", "ci_high"), _ci(share["share"]))) if len(share) else {},
        location_share_by_scenario={s: dict(zip(("mean", "ci_low", "ci_high"), _ci(g["share"])))
                                    for s, g in share.groupby("scenario")} if len(share) else {},
        gate_gain_over_avgpool=gates, split=split, gain=gain)
    controls = ("both baselines learned the identity and category tasks (mean masked accuracy >= "
                f"{min_control}): "
                + ", ".join(f"{s} {'passed' if c else 'FAILED'}" for s, c in res["controls"].items())
                + "; chance 0.5; all arms trained with the same budget, core and front end")
    return _claim_dict("A1", "Task-guided attention improves multi-feature (STMF, MTMF) performance by about 10 "
                             "points, over the pooled baseline and over a readout that keeps space.",
                       m, ci, "+ ~10 points over the pooled baseline (reference table, unmasked accuracy)",
                       res["verdict"], details, protocol="held-out pool (novel angle), masked accuracy",
                       per_seed=per_seed, controls=controls)


def _a2_per_seed(geo: pd.DataFrame) -> pd.DataFrame:
    g = geo.copy()
    g["controls_pass"] = np.where(g["measure"] == "F1", g["control"] >= 0.25, g["control"] >= 1)
    return g


def claim_A2(geo: pd.DataFrame, *, tolerances: Optional[Mapping[str, float]] = None) -> dict:
    """A2: attention does not fundamentally change the representational geometry.

    ``geo``: :func:`geometry` (spatial baseline + attention arms, one diet). Controls per model: F1 the
    task-relevant property decodes (normalised >= 0.25), F3 / F5 at least one task cell passes the
    decodability gate. Rule: :func:`a2_rule`. ``value`` = the largest absolute mean difference over the parts."""
    ps = _a2_per_seed(geo)
    res = a2_rule(ps, tolerances=tolerances)
    parts = res["parts"]
    worst = max(parts.items(), key=lambda kv: abs(kv[1]["value"]) if np.isfinite(kv[1]["value"]) else -1)
    per_seed = []
    for (arm, meas), v in parts.items():
        per_seed += per_seed_values([s for s, _ in v["per_seed"]], [d for _, d in v["per_seed"]],
                                    label=[f"{meas}: {ARM_LABELS.get(arm, arm)} - spatial"] * len(v["per_seed"]))
    details = dict(rule=_rule_doc(a2_rule), value_name=f"largest |attention - spatial| difference "
                                                        f"({worst[0][1]}, {ARM_LABELS.get(worst[0][0])})",
                   parts={f"{ARM_LABELS.get(a, a)}, {m}": {k: v for k, v in p.items() if k != "per_seed"}
                          for (a, m), p in parts.items()},
                   measures=GEOMETRY_MEASURES, tolerances=res["tolerances"], scenario=sorted(set(geo.scenario)))
    ctrl = ", ".join(f"{ARM_LABELS.get(a, a)} {m}: {'passed' if p['controls_pass'] else 'FAILED'}"
                     for (a, m), p in parts.items())
    return _claim_dict("A2", "Task-guided attention does not fundamentally change the representational geometry "
                             "(task relevance F1, orthogonalization F3, encoding transfer F5 vs the spatial "
                             "baseline).",
                       worst[1]["value"], (worst[1]["ci_low"], worst[1]["ci_high"]),
                       "attention does not fundamentally change the geometry (reference's comparison, one run)",
                       res["verdict"], details, protocol="image-disjoint", per_seed=per_seed,
                       controls="decodability controls per model and measure: " + ctrl)


def claim_A3(acc: pd.DataFrame, *, scenario: str = "MTMF", split: str = "novel_angle", margin: float = 0.02) -> dict:
    """A3: dual attention gives marginal gains for MTMF (dual - task attention, paired by seed).

    Rule: :func:`a3_rule` on overall masked accuracy of ``split``. ``details`` also judge the reference's own
    pair (gate dual - gate task only) by the same rule."""
    a = acc[(acc.split == split) & (acc.feature == "all") & (acc.scenario == scenario)]
    piv = a.pivot_table(index="seed", columns="arm", values="accuracy")

    def pair(d, t):
        if not {d, t} <= set(piv.columns):
            return None
        return pd.DataFrame(dict(seed=piv.index, dual=piv[d].to_numpy(), task=piv[t].to_numpy()))
    ps = pair("dual_attention", "task_attention")
    if ps is None:
        raise ConfigError(f"claim_A3 needs the task_attention and dual_attention arms of {scenario}")
    res = a3_rule(ps, margin=margin)
    gp = pair("gate_dual", "gate_task_only")
    gates = None if gp is None else {k: v for k, v in a3_rule(gp, margin=margin).items()}
    details = dict(rule=_rule_doc(a3_rule), value_name=f"dual - task attention, overall masked accuracy ({split}), "
                                                        f"{scenario}",
                   reference_pair_gates=gates, margin=margin, scenario=scenario, split=split)
    controls = (f"both attention models learned the tasks (mean accuracy >= {res['min_accuracy']}): "
                + ("passed" if res["controls_pass"] else "FAILED") + "; chance 0.5")
    return _claim_dict("A3", f"Dual attention gives at most marginal gains over task attention ({scenario}).",
                       res["value"], (res["ci_low"], res["ci_high"]), "dual attention: marginal gains for MTMF",
                       res["verdict"], details, protocol="held-out pool (novel angle), masked accuracy",
                       per_seed=per_seed_values(ps["seed"], ps["dual"] - ps["task"]), controls=controls)


def claim_records(w, *, core: str = "gru", seeds=None, gate_readout: str = "avgpool") -> list[dict]:
    """A1, A2, A3 for the claims page: the runs come from the run cache and A2's tables from the result cache
    (the chapter computed them), so this only recomputes what is missing."""
    runs = train_runs(w, SCENARIOS, core, seeds=seeds, gate_readout=gate_readout)
    acc = accuracy_per_seed(runs)
    geo = geometry(w, runs)
    out = [claim_A1(acc), claim_A2(geo), claim_A3(acc)]
    return [dict(r, claim=f"{r['claim']} ({core})") if core != "gru" else r for r in out]

"""Task-guided attention (chapter 11): does it help, what does it look at, and does it change the geometry?

Six *arms* (:class:`wmnb.runs.Arm`) are trained per multi-feature diet (STMF, MTMF) and seed, all with the same
core, budget and front end (:data:`ARMS`):

``avgpool``         1x1 projection + global average pooling: the reference's baseline (no location).
``spatial``         the book's default readout (flattened 7x7 map + a global branch): keeps location.
``task_attention``  softmax attention over the 49 positions, query from the task vector.
``dual_attention``  the same, query from the task vector plus the previous hidden state.
``gate_task_only``  the reference's "attention": a sigmoid channel gate from the task vector, on the pooled
                    embedding (readout ``gate_readout``, "avgpool" as in the reference).
``gate_dual``       the reference's "dual attention": a channel gate from task x embedding (the hidden state
                    never enters it, whatever the reference's slides say).

:func:`needs` turns the chapter's parameters into its runs (every training config validated first, before any
run trains: :func:`check_params`); every table below reads a :class:`wmnb.pipeline.RunSet` of them.

Tables (:func:`wmnb.results.cached_table` keyed on this module, the pure :mod:`wmnb.analysis.attention`,
models.py and recording.py only):

* :func:`attention_maps`: mean attention weight per 7x7 position, per task feature and quadrant of the shown
  object, per attention run; :func:`wmnb.analysis.attention.quadrant_mass` derives the weight on the object's
  quadrant;
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

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .. import params
from ..analysis.attention import (_ci, channel_relevance, entropy_from_arrays, maps_from_arrays,
                                  suppression_index)
from ..config import ATTENTION_SEEDS, CORES, EVAL_SPLITS, FEATURES, MULTI_TASK_SCENARIOS, ORTHOGONALITY, seeds_for
from ..errors import ConfigError, check_choice, check_choices
from ..progress import progress_bar
from ..models import ModelConfig
from ..pipeline import RunSet
from ..runs import Arm, RunSpec, train_config
from ..verdicts import HOLDS, INCONCLUSIVE, NOT, combine, interval_verdict, per_seed_values
from .core import claim_dict, iter_feature_blocks, recording_description, subsample_rows

__all__ = ["ARMS", "ARM_LABELS", "SCENARIOS", "SPLITS", "REFERENCE", "REFERENCE_ARMS", "PARAMETERS", "arm",
           "check_arm", "arm_kwargs", "check_params", "needs", "train_runs", "accuracy_per_seed", "reference_table",
           "per_task_table", "location_learner_summary", "attention_maps", "attention_entropy", "gate_suppression",
           "geometry", "precompute", "equivalence_verdict", "a1_rule", "a2_rule", "a3_rule", "a1_per_seed",
           "claim_A1", "claim_A2", "claim_A3", "claim_records", "claim_A1_markdown"]

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
SCENARIOS = MULTI_TASK_SCENARIOS
SPLITS = EVAL_SPLITS
GATE_READOUTS = ("avgpool", "spatial", "attention")
#: the module files whose source keys this chapter's cached tables
SOURCES = ("experiments/attention.py", "analysis/attention.py", "models.py", "recording.py")
TABLE_VERSION = "1"

#: the chapter's own parameters (:mod:`wmnb.params` rules)
PARAMETERS = {"arms": params.ListOf(tuple(ARMS)), "gate_readout": params.Choice(GATE_READOUTS)}

#: the reference's table (issue 11), in %. Its accuracies are not masked (design notes section 6: the
#: per-epoch log's batch accuracy, no-action steps included), so they are not on our scale.
REFERENCE = pd.DataFrame([
    ("STMF", "baseline", 88.44, 86.31, 72.54), ("MTMF", "baseline", 88.64, 85.86, 70.67),
    ("STMF", "+ attention", 99.15, 93.90, 81.03), ("STMF", "+ dual attention", 99.80, 94.67, 81.33),
    ("MTMF", "+ attention", 99.33, 92.49, 79.69), ("MTMF", "+ dual attention", 99.29, 94.64, 81.18),
], columns=["scenario", "reference_model", "train", "novel_angle", "novel_identity"])
#: which of our arms is the reference's model: its baseline pooled, its "attention" is a channel gate
REFERENCE_ARMS = {"baseline": "avgpool", "+ attention": "gate_task_only", "+ dual attention": "gate_dual"}


# ---------------------------------------------------------------------------------------------------------
# parameters and runs
# ---------------------------------------------------------------------------------------------------------
def check_arm(readout: str, attention: str = "none", gate: str = "none", *, core: str = "gru") -> ModelConfig:
    """Validate one (readout, attention, gate) combination; returns the :class:`wmnb.models.ModelConfig`.

    Raises ConfigError (naming the parameter, its value and what is allowed) for an unknown name or an
    invalid combination: ``attention`` other than "none" needs ``readout="attention"``, and
    ``readout="attention"`` needs ``attention`` "task" or "dual". Channel gates combine with any readout.
    """
    return ModelConfig(core=core, readout=readout, attention=attention, gate=gate)


def arm_kwargs(name: str, gate_readout: str = "avgpool") -> dict:
    """``dict(readout=, attention=, gate=)`` of an arm (:data:`ARMS`); the gate arms sit on ``gate_readout``.

    ``gate_readout="attention"`` gives the gates a task-attention readout underneath."""
    check_choice("arm", name, list(ARMS))
    check_choice("gate_readout", gate_readout, GATE_READOUTS)
    kw = dict(ARMS[name])
    if kw["readout"] is None:
        kw["readout"] = gate_readout
        if gate_readout == "attention":
            kw["attention"] = "task"
    return kw


def arm(name: str, gate_readout: str = "avgpool") -> Arm:
    """The :class:`wmnb.runs.Arm` of one of :data:`ARMS` (its model fields: :func:`arm_kwargs`)."""
    return Arm.of(name, label=ARM_LABELS[name], model=arm_kwargs(name, gate_readout))


def check_params(*, arms: Sequence[str] = tuple(ARMS), scenarios: Sequence[str] = SCENARIOS, core: str = "gru",
                 gate_readout: str = "avgpool", profile: str = "quick") -> dict:
    """Validate the chapter's own parameters and every training config they imply, before any work. Returns
    ``dict(arms=tuple, scenarios=tuple, gate_readout=str)``.

    ``arms`` must include "spatial" and "avgpool" (the two baselines every comparison needs)."""
    arms = params.ListOf(tuple(ARMS))("arms", arms)
    missing = [a for a in ("avgpool", "spatial") if a not in arms]
    if missing:
        raise ConfigError(f"arms={list(arms)!r} must include the baselines {missing}; allowed: {list(ARMS)}")
    scenarios = check_choices("scenarios", scenarios, SCENARIOS)
    gate_readout = check_choice("gate_readout", gate_readout, GATE_READOUTS)
    check_choice("core", core, CORES)
    for a in arms:
        kw = arm_kwargs(a, gate_readout)
        check_arm(core=core, **kw)
        for s in scenarios:
            train_config(s, core, profile=profile, **kw)
    return dict(arms=tuple(arms), scenarios=tuple(scenarios), gate_readout=gate_readout)


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """The chapter's runs for its parameters ``p``: every (scenario, arm, seed) of ``scenarios`` (default STMF,
    MTMF), ``arms`` (default all six) and ``seeds`` (default the profile's first
    :data:`wmnb.config.ATTENTION_SEEDS`), with ``core`` and ``gate_readout``; all validated first
    (:func:`check_params`), so a bad combination fails before any run trains."""
    core = p.get("core", "gru")
    a = check_params(arms=p.get("arms") or tuple(ARMS), scenarios=p.get("scenarios") or SCENARIOS, core=core,
                     gate_readout=p.get("gate_readout", "avgpool"), profile=p["profile"])
    seeds = seeds_for(p["profile"])[:ATTENTION_SEEDS] if p.get("seeds") is None \
        else seeds_for(p["profile"], seeds=p["seeds"])
    return [RunSpec(s, core, seed, arm=arm(name, a["gate_readout"])) for s in a["scenarios"] for name in a["arms"]
            for seed in seeds]


def train_runs(runs: RunSet, progress: bool = False) -> dict:
    """Every run of ``runs`` (:func:`wmnb.pipeline.RunSet.run`, cached by config), as
    ``{(scenario, arm name, seed): Run}``."""
    return {(s.scenario, s.arm.name, s.seed): runs.run(s, progress) for s in runs}


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
def _rec_desc(profile: str, split: str, npc: Optional[int]) -> dict:
    d = recording_description(profile, split)
    return d if npc is None else dict(d, n_per_condition=int(npc))


def _is_attention(spec: RunSpec) -> bool:
    return dict(spec.arm.model).get("readout") == "attention"


def _per_run_tables(runs: RunSet, kind: str, select, desc_of, compute, cache_dir, sources=SOURCES) -> list:
    """``compute(spec, run)`` of every selected run through :func:`wmnb.results.cached_table`, each table keyed by
    ``desc_of(run)`` and labelled ``scenario, arm, seed``."""
    from ..results import cached_table

    parts = []
    for spec in runs:
        if not select(spec):
            continue
        run = runs.run(spec)
        parts.append(cached_table(kind, desc_of(run), lambda spec=spec, run=run: compute(spec, run),
                                  cache_dir=cache_dir, sources=sources)
                     .assign(scenario=spec.scenario, arm=spec.arm.name, seed=spec.seed))
    return parts


def attention_maps(runs: RunSet, *, n_per_condition: Optional[int] = None, cache_dir=None) -> pd.DataFrame:
    """:func:`wmnb.analysis.attention.maps_from_arrays` of every attention run's analysis recording (train pool),
    cached per run.

    Returns ``scenario, arm, seed, task_feature, quadrant, position, weight, n_steps``."""
    def compute(spec, run):
        rec = runs.recording(spec, "train", n_per_condition)
        return maps_from_arrays(rec.attention, rec.feature, rec.labels["location"])

    cols = ["scenario", "arm", "seed", "task_feature", "quadrant", "position", "weight", "n_steps"]
    parts = _per_run_tables(runs, "attention_maps", _is_attention, lambda run: dict(
        v=TABLE_VERSION, run=run.key, recording=_rec_desc(runs.profile, "train", n_per_condition)), compute, cache_dir)
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def attention_entropy(runs: RunSet, *, n_per_condition: Optional[int] = None, cache_dir=None) -> pd.DataFrame:
    """:func:`wmnb.analysis.attention.entropy_from_arrays` per attention run (cached): ``scenario, arm, seed,
    task_feature, n, entropy, max_entropy``."""
    def compute(spec, run):
        rec = runs.recording(spec, "train", n_per_condition)
        return entropy_from_arrays(rec.attention, rec.feature, rec.n)

    parts = _per_run_tables(runs, "attention_entropy", _is_attention, lambda run: dict(
        v=TABLE_VERSION, run=run.key, recording=_rec_desc(runs.profile, "train", n_per_condition)), compute, cache_dir)
    if not parts:
        return pd.DataFrame(columns=["scenario", "arm", "seed", "task_feature", "n", "entropy", "max_entropy"])
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------------------
# gate suppression (reference section 5.9, with a seed interval and a null)
# ---------------------------------------------------------------------------------------------------------
def _gate_cells(run, rec, seed: int) -> pd.DataFrame:
    """Suppression index per task cell of one gate run (pre-gate embedding and gates recomputed)."""
    import torch

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
            rel = {p: channel_relevance(xe, rec.labels[p][sel].reshape(-1)) for p in FEATURES}
            res = suppression_index(gates[sel].reshape(-1, gates.shape[-1]), rel, FEATURES[int(fc)], seed=seed)
            rows.append(dict(task_feature=FEATURES[int(fc)], n=int(nv), **res))
    return pd.DataFrame(rows)


def gate_suppression(runs: RunSet, *, split: str = "novel_identity", n_per_condition: Optional[int] = None,
                     cache_dir=None) -> pd.DataFrame:
    """Suppression index per gate run and task cell (cached), on the ``split`` recording (the reference used
    novel identities). Returns ``scenario, arm, seed, task_feature, n, index, null_mean, null_sd, r, k,
    mean_gate``; intervals come from :func:`wmnb.analysis.attention.suppression_summary` (across seeds)."""
    parts = _per_run_tables(
        runs, "gate_suppression", lambda spec: dict(spec.arm.model).get("gate", "none") != "none",
        lambda run: dict(v=TABLE_VERSION, run=run.key, recording=_rec_desc(runs.profile, split, n_per_condition),
                         fraction=0.25, n_null=50, relevance="ovr ridge normals, z-scored pre-gate embedding"),
        lambda spec, run: _gate_cells(run, runs.recording(spec, split, n_per_condition), spec.seed), cache_dir)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# ---------------------------------------------------------------------------------------------------------
# geometry: the book's F1 / F3 / F5 measures on attention runs vs the spatial baseline (A2)
# ---------------------------------------------------------------------------------------------------------
GEOMETRY_MEASURES = {
    "F1": "task-irrelevant decoding at t = 0, normalised above chance (image-disjoint)",
    "F3": "orthogonalization: (O - O_null)(encoding) - (O - O_null)(backbone), k = 64 (image-disjoint)",
    "F5": "encoding-transfer gap, validation - generalisation, per-step centred (image-disjoint)",
}


def _geometry_one(rec, run, scenario: str, seed: int, profile: str) -> pd.DataFrame:
    """F1, F3, F5 values of one run from its analysis recording ``rec`` (the analysis functions and parameters of
    chapters 5, 7, 8)."""
    from ..analysis.dynamics import encoding_transfer, transfer_summary
    from ..analysis.orthogonality import equal_k_orthogonality
    from ..analysis.task_relevance import task_relevance
    from . import orthogonality as orth
    from .dynamics import f5_rule
    from .relevance import irrelevant_by_scenario

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
                               rec.feature, rec.n, k=orth.DEFAULT_K, step=0, n_null=ORTHOGONALITY[profile]["n_null"],
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


def _geometry_run(spec: RunSpec, arms: Sequence[str], scenario: str) -> bool:
    return spec.scenario == scenario and spec.arm.name in arms


def geometry(runs: RunSet, *, arms: Sequence[str] = ("spatial", *ATTENTION_ARMS), scenario: str = "MTMF",
             cache_dir=None) -> pd.DataFrame:
    """F1, F3, F5 per run of ``arms`` in ``scenario`` (cached per run): ``scenario, arm, seed, measure, value,
    control, control_name, n_cells``."""
    parts = _per_run_tables(
        runs, "attention_geometry", lambda spec: _geometry_run(spec, arms, scenario),
        lambda run: dict(v=TABLE_VERSION, run=run.key, recording=_rec_desc(runs.profile, "train", None),
                         measures=GEOMETRY_MEASURES),
        lambda spec, run: _geometry_one(runs.recording(spec, "train"), run, spec.scenario, spec.seed, runs.profile),
        cache_dir, SOURCES + ("analysis", "experiments"))
    if not parts:
        return pd.DataFrame(columns=["scenario", "arm", "seed", "measure", "value", "control", "control_name",
                                     "n_cells"])
    return pd.concat(parts, ignore_index=True)


def precompute(runs: RunSet, *, geometry_scenario: str = "MTMF", progress: bool = False) -> None:
    """Fill the result cache of every per-run table of the chapter in ONE pass over the runs, so each run's
    analysis recording is made once (maps, entropy and geometry share it; the gate tables use the novel-identity
    recording). Afterwards :func:`attention_maps`, :func:`attention_entropy`, :func:`geometry` and
    :func:`gate_suppression` read the cache."""
    specs = progress_bar(list(runs), enabled=progress, desc="attention tables", leave=False)
    for spec in specs:
        one = RunSet(runs.world, [spec])
        if _is_attention(spec):
            attention_maps(one)
            attention_entropy(one)
        if _geometry_run(spec, ("spatial", *ATTENTION_ARMS), geometry_scenario):
            geometry(one, scenario=geometry_scenario)
        if dict(spec.arm.model).get("gate", "none") != "none":
            gate_suppression(one)


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
    return claim_dict("A1", "Task-guided attention improves multi-feature (STMF, MTMF) performance by about 10 "
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
    return claim_dict("A2", "Task-guided attention does not fundamentally change the representational geometry "
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
    return claim_dict("A3", f"Dual attention gives at most marginal gains over task attention ({scenario}).",
                       res["value"], (res["ci_low"], res["ci_high"]), "dual attention: marginal gains for MTMF",
                       res["verdict"], details, protocol="held-out pool (novel angle), masked accuracy",
                       per_seed=per_seed_values(ps["seed"], ps["dual"] - ps["task"]), controls=controls)


def claim_records(runs: RunSet) -> list[dict]:
    """A1, A2, A3 for the claims page from the chapter's runs (e.g. ``RunSet(w, needs(p))``): the runs come from
    the run cache and A2's tables from the result cache (the chapter computed them), so this only recomputes what
    is missing."""
    acc = accuracy_per_seed(train_runs(runs))
    geo = geometry(runs)
    out = [claim_A1(acc), claim_A2(geo), claim_A3(acc)]
    core = runs.one("core")
    return [dict(r, claim=f"{r['claim']} ({core})") if core != "gru" else r for r in out]


def claim_A1_markdown(a1: dict, profile: str) -> str:
    """Chapter 11's section for the A1 record (:func:`claim_A1`): the claim with protocol and controls, the table
    of its parts (diet vs baseline), the share of the gain the location tasks carry and the reference's gate
    arms over the pooled baseline; ends with :func:`wmnb.book.report.smoke_suffix` of ``profile``."""
    from ..book.report import claim_section, interval, markdown_table, smoke_suffix, verdict_badge  # noqa: PLC0415

    d = a1["details"]
    rows = [(k, interval(v["value"], v["ci_low"], v["ci_high"]), verdict_badge(v["verdict"]))
            for k, v in d["parts"].items()]
    share = d.get("location_share") or {}
    gates = "; ".join(f"{ARM_LABELS[g]}: "
                      + ", ".join(f"{s} {interval(v['value'], v['ci_low'], v['ci_high'])}" for s, v in by.items())
                      for g, by in d["gate_gain_over_avgpool"].items())
    after = ("\n\n"
             f"Share of the gain over the pooled baseline that the three location tasks carry (their gain / 3 over "
             f"the total gain, per seed): "
             f"**{interval(share.get('mean'), share.get('ci_low'), share.get('ci_high'))}**. The reference's own "
             f"arms (channel gates on the pooled map) over the pooled baseline: {gates or 'not trained'}"
             + smoke_suffix(profile))
    table = markdown_table(["diet vs baseline", "gain of task attention (novel angle)", "verdict of the part"], rows)
    return claim_section(a1, table=table, after=after, protocol=True, controls=True)

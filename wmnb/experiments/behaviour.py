"""Behaviour (chapter 4): the runs of one scenario and core at every seed, and the readouts it compares.

:func:`needs` is the one definition of what the chapter trains (the sweep plan reads it too); :func:`readout_arm`
names the arm of a readout (the book's default for "spatial"). :func:`training_settings` states a run's
training setup as a table row each; :func:`identity_check` and :func:`identity_check_markdown` test whether the
identity tasks are solved by telling objects apart or by the category shortcut.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .. import params
from ..config import CORES, SCENARIOS
from ..errors import check_choice
from ..models import READOUTS
from ..runs import DEFAULT_ARM, Arm, RunSpec
from .core import seeds_of

__all__ = ["PARAMETERS", "readout_arm", "needs", "training_settings", "identity_check", "identity_check_markdown"]

#: the chapter's own parameters (:mod:`wmnb.params` rules)
PARAMETERS = {"compare_avgpool": params.Bool()}


def readout_arm(readout: str) -> Arm:
    """The arm of a readout: the book's default for "spatial", else an arm that changes only the readout."""
    check_choice("readout", readout, sorted(READOUTS))
    return DEFAULT_ARM if readout == "spatial" else Arm.of(readout, model=dict(readout=readout))


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """Chapter 4's runs for its parameters ``p``: ``scenario`` x ``core`` with ``readout`` at every seed; with
    ``compare_avgpool`` also the spatial and the avgpool readouts at the first seed."""
    scenario = check_choice("scenario", p.get("scenario", "MTMF"), SCENARIOS)
    core = check_choice("core", p.get("core", "gru"), CORES)
    seeds = seeds_of(p)
    out = [RunSpec(scenario, core, s, arm=readout_arm(p.get("readout", "spatial"))) for s in seeds]
    if p.get("compare_avgpool"):
        out += [RunSpec(scenario, core, seeds[0], arm=readout_arm(r)) for r in ("spatial", "avgpool")]
    return list(dict.fromkeys(out))


def training_settings(cfg, world: str, seeds: Iterable[int]) -> dict[str, str]:
    """The training setup of a run's :class:`~wmnb.training.TrainConfig` ``cfg`` as {setting: value} (the
    chapter's settings table): stimulus world (``world``, its repr), tasks, model, budget, optimiser, loss,
    arithmetic, evaluation and ``seeds``."""
    m = cfg.model
    return {
        "stimulus world": world,
        "tasks": ", ".join(c.name for c in cfg.conditions),
        "core / hidden units": f"{m.core} / {m.hidden_size}",
        "readout": f"{m.readout} (PCA {m.pca_channels} channels, embedding {m.embedding_dim})",
        "steps x batch": f"{cfg.steps} x {cfg.batch_size} sequences",
        "optimiser": f"AdamW lr {cfg.lr:g}, weight decay {cfg.weight_decay:g}, "
                     f"lr x{cfg.gamma:g} at steps {list(cfg.milestones)}, gradient clip {cfg.grad_clip:g}",
        "loss": f"CE(decision steps) + {cfg.no_action_weight:g} x CE(no-action steps)",
        "arithmetic": {"bf16": "bfloat16 matrix products (autocast), float32 weights, optimiser and loss",
                       "fp32": "float32"}[cfg.precision] + " (evaluation and recordings: float32)",
        "evaluation": f"{cfg.n_eval_per_condition} fixed sequences per task and split, every {cfg.eval_every} steps",
        "seeds": ", ".join(map(str, seeds)),
    }


def identity_check(runs: Mapping[int, Any], conditions, world, cfg, splits: Iterable[str], n_check: int):
    """Identity tasks against the category shortcut, per split: on ``n_check`` fresh sequences of the identity
    tasks among ``conditions`` (seed 777 + the split's index), the accuracy of answering "match" exactly when the
    two objects share a category (``category_shortcut``), the share of non-matches between two objects of one category
    (``hard_nonmatch_share``), and the seeds' mean accuracies of ``runs`` ({seed: TrainedRun}) overall, on match
    steps and on non-matches of another / the same category. One row per split (a DataFrame); a split with no
    images, or runs with no identity task, give no row."""
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from ..recording import record  # noqa: PLC0415
    from ..tasks import MATCH, TrialStream  # noqa: PLC0415

    id_conds = [c for c in conditions if c.feature == "identity"]
    shortcut_rows, model_rows = [], []
    for i, split in enumerate(splits):
        pool = world.stimuli.pool(split)
        if not id_conds or len(pool) == 0:
            continue
        trials = TrialStream(world.stimuli, pool, id_conds, seq_len=cfg.seq_len, p_match=cfg.p_match,
                             split=split).generate(n_check, seed=777 + i)
        ex = trials.executive
        same_cat = trials.stimulus_labels("category") == trials.memory_labels("category")
        match = trials.targets == MATCH
        shortcut = float((same_cat[ex] == match[ex]).mean())
        hard = ex & ~match & same_cat         # non-match between two objects of one category
        shortcut_rows.append(dict(split=split, category_shortcut=shortcut,
                                  hard_nonmatch_share=float(hard.sum() / ex.sum())))
        for s, r in runs.items():
            pred = record(r, world.stimuli, world.features, trials=trials).predictions
            ok = pred == trials.targets
            model_rows.append(dict(split=split, seed=s, identity_accuracy=float(ok[ex].mean()),
                                   match_steps=float(ok[ex & match].mean()),
                                   nonmatch_other_category=float(ok[ex & ~match & ~same_cat].mean()),
                                   nonmatch_same_category=float(ok[hard].mean()) if hard.any() else np.nan))
    shortcut_table = pd.DataFrame(shortcut_rows).set_index("split")
    model_table = pd.DataFrame(model_rows).groupby("split").mean().drop(columns="seed")
    return shortcut_table.join(model_table.reindex(shortcut_table.index))


def identity_check_markdown(id_table) -> str:
    """One bullet per split of :func:`identity_check`'s table: does the network tell objects of one category
    apart (more than 0.6 of the same-category non-matches correct: the shortcut scores 0 there, a guess 0.5),
    and, when it does but scores below the shortcut overall, that it misses matches."""
    lines = []
    for split, row in id_table.iterrows():
        if not row.hard_nonmatch_share > 0:
            lines.append(f"* **{split.replace('_', ' ')}**: no two objects of this pool share a category, "
                         f"so identity cannot be told apart from category here.")
            continue
        told_apart = row.nonmatch_same_category > 0.6   # the shortcut scores 0 there, a guess 0.5
        verdict = ("**does** tell objects of one category apart" if told_apart
                   else "**does not** clearly tell objects of one category apart")
        line = (f"* **{split.replace('_', ' ')}**: identity accuracy {row.identity_accuracy:.3f} vs "
                f"category shortcut {row.category_shortcut:.3f}; same-category non-matches "
                f"{row.nonmatch_same_category:.3f} correct → the network {verdict}")
        if told_apart and row.identity_accuracy < row.category_shortcut:
            line += (f", but scores below the shortcut overall because it misses matches (match steps "
                     f"{row.match_steps:.3f} correct): the same new object seen from another view or place is "
                     f"often not recognised as the same")
        lines.append(line + ".")
    return "\n".join(lines)

"""Claims P1-P3 of the procedural-tasks chapter: pure rules on result tables, and the claim records.

P1  Recurrent networks length-generalise on regular tasks: trained on lengths <= L, their accuracy beyond L
    (mean over lengths L+1..T, the anchor's score) stays above :data:`GENERALISE`.
P2  The Transformer does not: its accuracy beyond L stays below :data:`GENERALISE`.
P3  The machine extracted from a recurrent state matches the true automaton: it answers long strings like
    the automaton (accuracy above :data:`MACHINE_ACCURACY`) and is equivalent to it (minimal machines:
    isomorphic) in every seed.

Every part (one task x one model) gets :func:`wmnb.verdicts.interval_verdict` on the t interval across seeds;
a claim's verdict is :func:`wmnb.verdicts.combine` of its parts. Controls: the model must have learned the
task at the training lengths (mean accuracy over lengths 1..L at least :data:`LEARNED`; otherwise nothing
could generalise and the part is "inconclusive"); the compared models must have comparable sizes (largest /
smallest parameter count at most :data:`SIZE_RATIO`; otherwise "inconclusive"); for P3 the same extraction
from an untrained network must *not* match (the negative control; otherwise "inconclusive").

The anchor: Delétang et al. (ICLR 2023), Table 2 — score = accuracy averaged over test lengths 41..500 after
training on lengths 1..40, maximised over 10 seeds and 3 learning rates (:data:`ANCHOR`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..analysis.stats import mean_t_interval
from ..errors import ConfigError
from ..verdicts import HOLDS, INCONCLUSIVE, MIXED, NOT, combine, interval_verdict, per_seed_values
from .models import RECURRENT, TRANSFORMERS

__all__ = ["GENERALISE", "LEARNED", "MACHINE_ACCURACY", "SIZE_RATIO", "ANCHOR", "ANCHOR_TASKS", "ANCHOR_VERIFIED",
           "comparable_sizes", "generalisation_rule", "rule_p1", "rule_p2", "rule_p3", "anchor_table",
           "claim_records"]

#: accuracy beyond L above which a model "length-generalises"
GENERALISE = 0.9
#: mean accuracy over lengths 1..L a model needs for its length generalisation to be testable
LEARNED = 0.9
#: accuracy of an extracted machine on the long test strings above which it "answers like the automaton"
MACHINE_ACCURACY = 0.95
#: largest / smallest parameter count of the compared models
SIZE_RATIO = 1.5

#: Delétang et al. (2023) Table 2 (percent), regular tasks: {our task: {model: score}}. These numbers were
#: written from memory and could NOT be checked against the paper in this session (its text was not
#: reachable; the public repository google-deepmind/neural_networks_chomsky_hierarchy has no results table):
#: :data:`ANCHOR_VERIFIED` is False and every table and claim record labels them "not verified". What the
#: repository does confirm (experiments/example.py, models/transformer.py): batch 128, training lengths up to
#: 40 drawn by a uniform curriculum, Adam at 1e-3, a sin/cos Transformer of 5 layers, width 64, 8 heads.
ANCHOR_TASKS = {"even_pairs": "Even Pairs", "sum_mod": "Modular Arithmetic (Simple)",
                "parity": "Parity Check", "cycle_nav": "Cycle Navigation"}
ANCHOR = {
    "even_pairs": {"rnn": 100.0, "lstm": 100.0, "transformer": 96.4},
    "sum_mod": {"rnn": 100.0, "lstm": 100.0, "transformer": 24.2},
    "parity": {"rnn": 100.0, "lstm": 100.0, "transformer": 52.0},
    "cycle_nav": {"rnn": 100.0, "lstm": 100.0, "transformer": 61.9},
}
#: whether :data:`ANCHOR` was checked against the paper (see above)
ANCHOR_VERIFIED = False
_ANCHOR_LABEL = "anchor" if ANCHOR_VERIFIED else "anchor (not verified)"


def comparable_sizes(n_params: Sequence[int], ratio: float = SIZE_RATIO) -> bool:
    """True when the largest parameter count is at most ``ratio`` times the smallest."""
    n = np.asarray(list(n_params), dtype=float)
    if n.size == 0 or np.any(n <= 0):
        raise ConfigError(f"n_params={list(n_params)!r} must be non-empty and positive")
    return bool(n.max() <= ratio * n.min())


def generalisation_rule(beyond: Sequence[float], in_distribution: Sequence[float], *, direction: str,
                        threshold: float = GENERALISE, learned: float = LEARNED, comparable: bool = True) -> dict:
    """Verdict of one part (one task, one model) from its per-seed scores.

    ``beyond``: accuracy beyond L per seed; ``in_distribution``: accuracy over lengths 1..L per seed.
    ``direction="above"`` (P1: it generalises) holds when the t interval of ``beyond`` lies above
    ``threshold``; ``"below"`` (P2: it does not) when it lies below. The control (mean in-distribution
    accuracy >= ``learned``) failing, or ``comparable=False``, makes it "inconclusive".
    """
    m, lo, hi = mean_t_interval(beyond)
    learned_ok = bool(np.nanmean(in_distribution) >= learned)
    v = interval_verdict(lo, hi, threshold, direction=direction, controls_pass=learned_ok, comparable=comparable)
    drop = mean_t_interval(np.asarray(in_distribution, dtype=float) - np.asarray(beyond, dtype=float))
    return dict(mean=m, ci_low=lo, ci_high=hi, in_distribution=float(np.nanmean(in_distribution)),
                learned=learned_ok, drop=drop[0], drop_ci_low=drop[1], drop_ci_high=drop[2], verdict=v)


def _parts(summary: pd.DataFrame, models: Sequence[str], direction: str, threshold: float, learned: float,
           size_ratio: float) -> tuple[pd.DataFrame, bool]:
    need = {"task", "model", "seed", "in_distribution", "beyond", "n_params"}
    if not need <= set(summary.columns):
        raise ConfigError(f"summary needs columns {sorted(need)}; got {list(summary.columns)}")
    comparable = comparable_sizes(summary.groupby("model")["n_params"].max().values, size_ratio)
    rows = []
    for (task, model), g in summary[summary["model"].isin(models)].groupby(["task", "model"], sort=False):
        r = generalisation_rule(g["beyond"].values, g["in_distribution"].values, direction=direction,
                                threshold=threshold, learned=learned, comparable=comparable)
        rows.append(dict(task=task, model=model, n_seeds=len(g), **r))
    return pd.DataFrame(rows), comparable


def _pooled(summary: pd.DataFrame, models: Sequence[str], column: str = "beyond") -> tuple[float, float, float, list]:
    sel = summary[summary["model"].isin(models)]
    per_seed = sel.groupby("seed")[column].mean()
    m, lo, hi = mean_t_interval(per_seed.values)
    return m, lo, hi, per_seed_values(per_seed.index.tolist(), per_seed.values)


def _rule(summary, models, direction, threshold, learned, size_ratio) -> dict:
    parts, comparable = _parts(summary, models, direction, threshold, learned, size_ratio)
    if parts.empty:
        return dict(verdict=INCONCLUSIVE, parts=parts, comparable=comparable, value=np.nan, ci=(np.nan, np.nan),
                    per_seed=[])
    m, lo, hi, ps = _pooled(summary, models)
    return dict(verdict=combine(parts["verdict"]), parts=parts, comparable=comparable, value=m, ci=(lo, hi),
                per_seed=ps)


def rule_p1(summary: pd.DataFrame, *, threshold: float = GENERALISE, learned: float = LEARNED,
            size_ratio: float = SIZE_RATIO) -> dict:
    """P1 from a per-seed summary (:func:`wmnb.automata.training.summarise_lengths`; columns ``task, model,
    seed, in_distribution, beyond, n_params``): every (task, recurrent model) part must generalise.

    Returns dict ``verdict, parts`` (one row per part with its interval and verdict), ``comparable``,
    ``value`` (mean accuracy beyond L over the recurrent parts), ``ci`` (t interval across seeds of the
    per-seed mean), ``per_seed``.
    """
    return _rule(summary, RECURRENT, "above", threshold, learned, size_ratio)


def rule_p2(summary: pd.DataFrame, *, threshold: float = GENERALISE, learned: float = LEARNED,
            size_ratio: float = SIZE_RATIO) -> dict:
    """P2, like :func:`rule_p1` over the Transformer variants with the direction reversed ("holds" when
    every Transformer part stays below ``threshold`` beyond L, having learned the training lengths)."""
    return _rule(summary, TRANSFORMERS, "below", threshold, learned, size_ratio)


def rule_p3(fsm: pd.DataFrame, summary: pd.DataFrame, *, threshold: float = MACHINE_ACCURACY,
            learned: float = LEARNED) -> dict:
    """P3 from the extraction table (:func:`wmnb.automata.extraction.fsm_table`; columns ``task, model, seed,
    network, equivalent, accuracy_long``) and the per-seed summary (for the learned control).

    Per (task, model): part A ``interval_verdict`` of the trained machines' ``accuracy_long`` above
    ``threshold``; part B structure: equivalent to the true automaton in every seed -> "holds", in none ->
    "does not hold", else "mixed"; the part is ``combine([A, B])``. It is "inconclusive" when the network did
    not learn the training lengths or the untrained control matched (equivalent in any seed, or its
    machine's accuracy reaching ``threshold``).
    """
    need = {"task", "model", "seed", "network", "equivalent", "accuracy_long"}
    if not need <= set(fsm.columns):
        raise ConfigError(f"fsm table needs columns {sorted(need)}; got {list(fsm.columns)}")
    rows = []
    for (task, model), g in fsm.groupby(["task", "model"], sort=False):
        tr, un = g[g["network"] == "trained"], g[g["network"] == "untrained"]
        m, lo, hi = mean_t_interval(tr["accuracy_long"].astype(float).values)
        eq = tr["equivalent"].astype(bool)
        s = summary[(summary["task"] == task) & (summary["model"] == model)]
        learned_ok = bool(len(s) and s["in_distribution"].mean() >= learned)
        control_ok = bool(len(un) and not un["equivalent"].astype(bool).any()
                          and (un["accuracy_long"].astype(float) < threshold).all())
        a = interval_verdict(lo, hi, threshold, controls_pass=learned_ok and control_ok)
        b = HOLDS if eq.all() else NOT if not eq.any() else MIXED
        v = combine([a, b]) if learned_ok and control_ok else INCONCLUSIVE
        rows.append(dict(task=task, model=model, n_seeds=len(tr), mean=m, ci_low=lo, ci_high=hi,
                         equivalent_seeds=int(eq.sum()), learned=learned_ok, control_ok=control_ok,
                         verdict_accuracy=a, verdict_structure=b, verdict=v))
    parts = pd.DataFrame(rows)
    if parts.empty:
        return dict(verdict=INCONCLUSIVE, parts=parts, value=np.nan, ci=(np.nan, np.nan), per_seed=[])
    tr = fsm[fsm["network"] == "trained"]
    per_seed = tr.groupby("seed")["accuracy_long"].mean()
    m, lo, hi = mean_t_interval(per_seed.values)
    return dict(verdict=combine(parts["verdict"]), parts=parts, value=m, ci=(lo, hi),
                per_seed=per_seed_values(per_seed.index.tolist(), per_seed.values))


def anchor_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Our scores beside the anchor's, laid out like its Table 2: one row per task, per model our mean
    accuracy beyond L and the best seed (the anchor reports the best of 10 seeds), and the anchor's number
    (percent; blank where it has none; the column is named ``"<model> anchor (not verified)"`` while
    :data:`ANCHOR_VERIFIED` is False)."""
    rows = []
    for task, g in summary.groupby("task", sort=False):
        row = {"task": task, "anchor task": ANCHOR_TASKS.get(task, "(not in the anchor)")}
        for model, gm in g.groupby("model", sort=False):
            row[f"{model} mean"] = 100 * gm["beyond"].mean()
            row[f"{model} best seed"] = 100 * gm["beyond"].max()
            key = "transformer" if model.startswith("transformer") else model
            row[f"{model} {_ANCHOR_LABEL}"] = ANCHOR.get(task, {}).get(key, np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _statement(parts: pd.DataFrame) -> str:
    return "; ".join(f"{r.task}/{r.model}: {r.mean:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] -> {r.verdict}"
                     for r in parts.itertuples())


def claim_records(profile: str = "quick", *, seeds=None, tasks=None, models=None, train_length=None,
                  test_length=None, steps=None, transformer_steps=None, device: str = "auto", progress: bool = False,
                  cache_dir=None) -> list[dict]:
    """The claim records P1-P3 for the claims page (same caches as the chapter: nothing trains twice).

    Parameters are those of the chapter (:func:`wmnb.automata.training.settings`); None takes the profile's.
    """
    from ..experiments.dynamics import claim_dict
    from .extraction import fsm_table
    from .tasks import get_task
    from .training import length_table, settings, summarise_lengths

    S = settings(profile, tasks=tasks, models=models, train_length=train_length, test_length=test_length,
                 seeds=seeds, steps=steps, transformer_steps=transformer_steps, device=device)
    kw = dict(train_length=S["train_length"], test_length=S["test_length"], steps=S["steps"], lr=S["lr"],
              transformer_steps=S["transformer_steps"], transformer_lr=S["transformer_lr"],
              batch_size=S["batch_size"], n_eval=S["n_eval"], device=device, progress=progress,
              cache_dir=cache_dir)
    table = length_table(S["tasks"], S["models"], S["seeds"], **kw)
    summary = summarise_lengths(table, S["train_length"])
    chance = {t: round(get_task(t).chance, 3) for t in S["tasks"]}
    protocol = (f"train lengths 1..{S['train_length']}, test every length up to {S['test_length']} on fixed "
                f"strings; score = mean accuracy over lengths {S['train_length'] + 1}..{S['test_length']}")
    sizes = summary.groupby("model")["n_params"].max().to_dict()
    records = []
    for claim, rule, statement, paper in (
            ("P1", rule_p1, "Recurrent networks length-generalise on regular tasks.",
             "RNN and LSTM score 100 % on parity, modular arithmetic, cycle navigation and even pairs "
             "(Delétang et al. 2023, Table 2; best of 10 seeds; numbers not verified against the paper)"),
            ("P2", rule_p2, "The Transformer does not length-generalise on regular tasks.",
             "Transformer: parity 52.0 %, modular arithmetic 24.2 %, cycle navigation 61.9 %, even pairs "
             "96.4 % (Delétang et al. 2023, Table 2; numbers not verified against the paper)")):
        r = rule(summary)
        parts = r["parts"]
        controls = (f"learned at training lengths (mean accuracy over 1..L >= {LEARNED}): "
                    + (", ".join(f"{p.task}/{p.model} {'yes' if p.learned else 'no'}" for p in parts.itertuples())
                       or "no parts")
                    + f"; comparable sizes (max/min parameters <= {SIZE_RATIO}): {'yes' if r['comparable'] else 'no'} "
                    f"{sizes}; chance per task {chance}")
        records.append(claim_dict(
            claim, statement, r["value"], r["ci"], paper, r["verdict"],
            dict(value_name=("mean accuracy beyond L, " + ("recurrent models" if claim == "P1" else "Transformers")
                             + " (all tasks)"),
                 rule=(f"per (task, model) the t interval across seeds of the accuracy beyond L lies "
                       f"{'above' if claim == 'P1' else 'below'} {GENERALISE}; parts combined"),
                 parts=parts.to_dict("records"), chance=chance, n_params=sizes,
                 statement_parts=_statement(parts) if len(parts) else ""),
            protocol=protocol, per_seed=r["per_seed"], controls=controls))
    rec_models = [m for m in S["models"] if m in RECURRENT and m != "lstm"] or \
        [m for m in S["models"] if m in RECURRENT]
    if rec_models:
        ft = fsm_table(S["tasks"], rec_models, S["seeds"], **kw)
        r = rule_p3(ft, summary)
        parts = r["parts"]
        controls = ("network learned the training lengths and an untrained network of the same architecture "
                    "gives no match (negative control): "
                    + ", ".join(f"{p.task}/{p.model} learned {'yes' if p.learned else 'no'}, control "
                                f"{'passes' if p.control_ok else 'fails'}" for p in parts.itertuples()))
        records.append(claim_dict(
            "P3", "The finite-state machine extracted from the recurrent state matches the true automaton.",
            r["value"], r["ci"], "(not in the anchor; the book's own test)", r["verdict"],
            dict(value_name=f"accuracy of the extracted machines on length-{S['test_length']} strings",
                 rule=(f"per (task, model): extracted machine's accuracy on length-{S['test_length']} strings "
                       f"above {MACHINE_ACCURACY} (t interval across seeds) and equivalent to the true minimal "
                       f"automaton in every seed; parts combined"),
                 parts=parts.to_dict("records"), chance=chance),
            protocol=f"machines extracted from states on strings of length {S['train_length']}; scored on "
                     f"length {S['test_length']}", per_seed=r["per_seed"], controls=controls))
    else:
        records.append(claim_dict("P3", "The finite-state machine extracted from the recurrent state matches the "
                                  "true automaton", np.nan, (np.nan, np.nan), "(not in the anchor)", INCONCLUSIVE,
                                  dict(rule="no recurrent model among the models"), controls="not run"))
    return records

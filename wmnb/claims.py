"""Claims vs paper: every headline finding of Lei, Ito & Bashivan (2024) as a computed statement.

Each finding F1-F9 (see the design notes) has a ``claim_F*`` function in :mod:`wmnb.experiments` (F9 is
here) that returns one record ``{claim, statement, value, ci_low, ci_high, paper, verdict, details}``; the
verdict (:data:`wmnb.verdicts.VERDICTS`: holds / does not hold / mixed / inconclusive) is decided by the rule in that function's docstring from our
numbers, never written by hand. The chapters beyond the paper's figures add their own claims with the same
vocabulary: A1-A3 (task-guided attention, :mod:`wmnb.attention`), T1-T3 (temporal superposition,
:mod:`wmnb.superposition`) and P1-P3 (procedural tasks, :mod:`wmnb.automata`). :func:`collect` runs them all
on cached runs (training and analyses are shared with the chapters through the run and result caches) and
:func:`write_json` writes the table that ``_build/claims.json`` holds.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from .analysis.stats import mean_t_interval
from .cache import atomic_write_json
from .verdicts import VERDICTS

PAPER_F9 = ("Generalisation to novel identities is substantially weaker than to novel angles "
            "(Fig. A1c; repo-doc).")


def claim_F9(w, cores: Iterable[str] = ("gru",), scenario: str = "MTMF", *, seeds=None,
             margin: float = 0.03, progress: bool = False) -> dict:
    """F9: novel-identity accuracy is lower than novel-angle accuracy.

    Per trained run (each core x seed): masked accuracy on the novel-angle and novel-identity splits at the end
    of training. ``value`` = mean over runs of (novel angle - novel identity), with a t interval across runs.

    Rule: "holds" when the interval's lower end is above ``margin``; "does not hold" when its upper end is
    below ``margin`` (the gap is smaller than the claim needs, or reversed); "inconclusive" when the interval
    straddles ``margin`` or there are too few runs for one.
    """
    from .pipeline import seeds_for, trained_run

    seeds = seeds_for(w.profile) if seeds is None else tuple(seeds)
    rows = []
    for core in cores:
        for s in seeds:
            run = trained_run(w, scenario, core, seed=s, progress=progress)
            m = run.metrics[run.metrics.feature == "all"].set_index("split").accuracy
            rows.append(dict(core=core, seed=s, novel_angle=float(m.get("novel_angle", np.nan)),
                             novel_identity=float(m.get("novel_identity", np.nan)),
                             train=float(m.get("train", np.nan))))
    return f9_from_table(pd.DataFrame(rows), scenario=scenario, margin=margin)


def f9_from_table(table: pd.DataFrame, *, scenario: str = "MTMF", margin: float = 0.03) -> dict:
    """The F9 record from a table of runs (columns core, seed, novel_angle, novel_identity); rule as
    :func:`claim_F9`."""
    from .verdicts import interval_verdict, per_seed_values

    gap = table.novel_angle - table.novel_identity
    value, lo, hi = mean_t_interval(gap)
    verdict = interval_verdict(lo, hi, margin)
    cores = sorted(set(table.core))
    statement = (f"Novel-angle minus novel-identity masked accuracy ({scenario}, "
                 f"{', '.join(cores)}; {len(table)} runs): {value:.3f}")
    per_seed = per_seed_values(table.seed, gap, label=table.core)
    return dict(claim="F9", statement=statement, value=value, ci_low=lo, ci_high=hi, paper=PAPER_F9,
                verdict=verdict, protocol="held-out pools (novel angle vs novel identity)", controls="",
                details=dict(rule=claim_F9.__doc__.split("Rule: ")[1].strip(),
                             value_name="novel-angle minus novel-identity masked accuracy",
                             per_seed=per_seed, runs=table.round(4).to_dict("records")))


def collect(w, *, cores: Sequence[str] = ("rnn", "gru", "lstm"), dynamics_cores: Optional[Sequence[str]] = None,
            seeds=None, stsf_features: Optional[Sequence[str]] = None,
            only: Optional[Sequence[str]] = None) -> list[dict]:
    """Every claim record, computed on the world ``w`` (runs and analyses come from the caches when present).

    ``cores`` are compared where the paper compares architectures (F2, F3, F9); the memory-dynamics claims
    (F4-F8) are made once per core of ``dynamics_cores`` (None: the same ``cores``), each record's claim id
    naming its core ("F6 (lstm)"). ``stsf_features`` are the single-task models of F1 (None: one per task
    feature). ``only`` selects claims by id, family or group ("F2", "F6 (lstm)", "F6", "F" for all of the paper's
    findings, "A", "T", "P"; :data:`CLAIM_GROUPS`); the extension groups
    A (attention, the first :data:`ATTENTION_SEEDS` seeds), T (superposition) and P (procedural tasks) each
    give three records.
    """
    from .experiments import cross_task, dynamics, orthogonality, perturbation, procrustes, relevance

    only = check_only(only)
    kw = {} if seeds is None else dict(seeds=tuple(seeds))
    dyn_cores = tuple(cores) if dynamics_cores is None else tuple(dynamics_cores)
    makers = {
        "F1": lambda: relevance.claim_F1(w, stsf_features=stsf_features, **kw),
        "F2": lambda: cross_task.claim_F2(w, cores=tuple(cores), **kw),
        "F3": lambda: orthogonality.claim_F3(w, cores=tuple(cores), **kw),
    }
    for cid, fn in (("F4", lambda c: dynamics.claim_F4(w, "MTMF", c, **kw)),
                    ("F5", lambda c: dynamics.claim_F5(w, "MTMF", c, **kw)),
                    ("F6", lambda c: procrustes.claim_F6(w, "MTMF", c, **kw)),
                    ("F7", lambda c: procrustes.claim_F7(w, "MTMF", c, **kw)),
                    ("F8", lambda c: perturbation.claim_F8(w, "MTMF", c, **kw))):
        for c in dyn_cores:
            makers[f"{cid} ({c})"] = (lambda fn=fn, c=c: fn(c))
    makers["F9"] = lambda: claim_F9(w, cores=tuple(cores), **kw)
    # beyond the paper's figures: each chapter's own claims, from the caches its chapter filled
    makers.update(_extension_makers(w, seeds))
    out = []
    for cid, make in makers.items():
        if only and not _selected(cid, only):
            continue
        for rec in _as_records(make()):
            if only and len(cid) == 1 and not _selected(rec["claim"], only):
                continue  # one claim of an extension family, e.g. only=["A2"]
            if rec.get("verdict") not in VERDICTS:
                raise ValueError(f"claim {cid} returned verdict {rec.get('verdict')!r}; expected one of {VERDICTS}")
            if " (" in cid and "(" not in rec["claim"]:
                rec = {**rec, "claim": f"{rec['claim']} ({cid.split('(')[1]}"}
            out.append(rec)
    return out


#: claim families a selection (``only``) may name by their letter: the paper's findings and the extensions
CLAIM_GROUPS = ("F", "A", "T", "P")


def check_only(only) -> Optional[tuple]:
    """None, or a non-empty list of claim ids ("F2", "F6 (lstm)") or families (:data:`CLAIM_GROUPS`); a
    ConfigError names the value and what is allowed."""
    import re

    from .errors import ConfigError

    if only is None:
        return None
    if isinstance(only, (str, bytes)) or not isinstance(only, (list, tuple)) or not only:
        raise ConfigError(f"only={only!r} must be None or a non-empty list such as ['F'] or ['F2', 'F6 (lstm)']")
    for x in only:
        if not (isinstance(x, str) and (x in CLAIM_GROUPS or re.fullmatch(r"[FATP][1-9]( \((rnn|gru|lstm)\))?", x))):
            raise ConfigError(f"only={list(only)!r}: {x!r} is not a claim; give families {list(CLAIM_GROUPS)} or ids "
                              f"such as 'F2', 'A1', 'F6 (lstm)'")
    return tuple(only)


def _selected(cid: str, only: Sequence[str]) -> bool:
    """Does the maker ``cid`` ("F2", "F6 (lstm)", or a family letter for the extensions) fall under ``only``?"""
    family, base = cid[0], cid.split(" ")[0]
    return any(x in (cid, base, family) or (len(cid) == 1 and x.startswith(cid)) for x in only)


#: chapter 11's arms are trained for the profile's first three seeds (36 runs at quick)
ATTENTION_SEEDS = 3


def _extension_makers(w, seeds) -> dict:
    """Claims of the chapters beyond the paper's figures: A1-A3 (attention, chapter 11), T1-T3 (temporal
    superposition, chapter 13), P1-P3 (procedural tasks, chapter 14). Each returns a list of records."""
    from .pipeline import seeds_for

    nback_seeds = tuple(seeds) if seeds is not None else seeds_for(w.profile)

    def attention():
        from .attention import claim_records
        return claim_records(w, core="gru", seeds=nback_seeds[:ATTENTION_SEEDS])

    def superposition():
        from .superposition.claims import claim_records
        return claim_records(w.profile, seeds=nback_seeds, w=w)

    def procedural():
        from .automata.claims import claim_records
        return claim_records(w.profile)

    return {"A": attention, "T": superposition, "P": procedural}


def _as_records(x) -> list[dict]:
    """A claim function may return one record or a list of them (e.g. one per architecture)."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def table(records: list[dict]) -> pd.DataFrame:
    """The claims as a tidy table: claim, statement, measure, protocol, value, ci_low, ci_high, per_seed,
    controls, paper, verdict."""
    cols = ["claim", "statement", "measure", "protocol", "value", "ci_low", "ci_high", "per_seed", "controls",
            "paper", "verdict"]
    return pd.DataFrame([{**{c: r.get(c) for c in cols}, "measure": measure(r), "per_seed": per_seed_text(r)}
                         for r in records], columns=cols)


def per_seed_text(record: dict, digits: int = 3) -> str:
    """The per-seed values behind a verdict as short text ("s0 0.812 · s1 0.790"), "" when absent."""
    vals = record.get("details", {}).get("per_seed") or []
    parts = []
    for v in vals:
        if not isinstance(v, dict) or "value" not in v:
            continue
        who = (f"{v['model']} " if v.get("model") else "") + (f"s{v['seed']}" if "seed" in v else "")
        x = v["value"]
        parts.append(f"{who} {x:.{digits}f}" if isinstance(x, (int, float)) and np.isfinite(x) else f"{who} —")
    return " · ".join(p.strip() for p in parts)


def measure(record: dict) -> str:
    """What the claim's ``value`` measures (its details' ``value_name``)."""
    return str(record.get("details", {}).get("value_name", ""))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (pd.DataFrame,)):
        return _jsonable(x.to_dict("records"))
    return x


def write_json(records: list[dict], path, *, meta: Optional[dict] = None) -> None:
    """Write the claims (``claim, statement, measure, protocol, value, interval [lo, hi], per_seed, controls,
    paper, verdict``) atomically."""
    rows = [dict(claim=r["claim"], statement=r["statement"], measure=measure(r), protocol=r.get("protocol", ""),
                 value=r.get("value"), interval=[r.get("ci_low"), r.get("ci_high")],
                 per_seed=r.get("details", {}).get("per_seed", []), controls=r.get("controls", ""),
                 paper=r.get("paper"), verdict=r["verdict"])
            for r in records]
    atomic_write_json(path, _jsonable({"claims": rows, "meta": meta or {}}))

"""Claims vs paper: every headline finding of Lei, Ito & Bashivan (2024) as a computed statement.

Each finding F1-F9 (see the design notes) has a ``claim_F*`` function in :mod:`wmnb.experiments` (F9 is
here) that returns one record ``{claim, statement, value, ci_low, ci_high, paper, verdict, details}``; the
verdict (:data:`wmnb.verdicts.VERDICTS`: holds / does not hold / mixed / inconclusive) is decided by the rule in that function's docstring from our
numbers, never written by hand. The chapters beyond the paper's figures add their own claims with the same
vocabulary: A1-A3 (task-guided attention, :mod:`wmnb.experiments.attention`), T1-T3 (temporal superposition,
:mod:`wmnb.superposition`) and P1-P3 (procedural tasks, :mod:`wmnb.automata`). :func:`collect` runs them all
on cached runs (training and analyses are shared with the chapters through the run and result caches) and
:func:`write_json` writes the table that ``_build/claims.json`` holds.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from . import params
from .analysis.stats import mean_t_interval
from .cache import atomic_write_json
from .config import ATTENTION_SEEDS, CORES, SCENARIOS, seeds_for
from .errors import ConfigError
from .automata.claims import claim_records as procedural_claims
from .experiments import attention, cross_task, dynamics, orthogonality, perturbation, procrustes, relevance
from .superposition.claims import claim_records as superposition_claims
from .experiments.core import arm_of, seeds_of
from .pipeline import RunSet
from .runs import DEFAULT_ARM, Arm, RunSpec
from .verdicts import VERDICTS

PAPER_F9 = ("Generalisation to novel identities is substantially weaker than to novel angles "
            "(Fig. A1c; repo-doc).")


def claim_F9(runs: RunSet, *, margin: float = 0.03, progress: bool = False) -> dict:
    """F9: novel-identity accuracy is lower than novel-angle accuracy.

    Per trained run of ``runs`` (one diet; each core x seed): masked accuracy on the novel-angle and novel-identity splits at the end
    of training. ``value`` = mean over runs of (novel angle - novel identity), with a t interval across runs.

    Rule: "holds" when the interval's lower end is above ``margin``; "does not hold" when its upper end is
    below ``margin`` (the gap is smaller than the claim needs, or reversed); "inconclusive" when the interval
    straddles ``margin`` or there are too few runs for one.
    """
    rows = []
    for spec in runs:
        run = runs.run(spec, progress)
        m = run.metrics[run.metrics.feature == "all"].set_index("split").accuracy
        rows.append(dict(core=spec.core, seed=spec.seed, novel_angle=float(m.get("novel_angle", np.nan)),
                         novel_identity=float(m.get("novel_identity", np.nan)), train=float(m.get("train", np.nan))))
    return f9_from_table(pd.DataFrame(rows), scenario=runs.one("scenario"), margin=margin)


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
                details=dict(rule=claim_F9.__doc__.split("Rule: ")[1].strip(), threshold=margin,
                             value_name="novel-angle minus novel-identity masked accuracy",
                             per_seed=per_seed, runs=table.round(4).to_dict("records")))


def _runs(w, needs, p: Mapping[str, Any]) -> RunSet:
    return RunSet(w, needs(p))


def _claim_parameters(profile: str, cores, dynamics_cores, seeds, stsf_features, arm) -> dict:
    """What each claim's runs come from: the checked claims-page parameters as one mapping (the ``p`` of the
    experiments' ``needs``)."""
    return dict(profile=profile, cores=tuple(cores),
                dynamics_cores=tuple(cores) if dynamics_cores is None else tuple(dynamics_cores),
                seeds=seeds_for(profile, seeds=seeds) if seeds is not None else seeds_for(profile),
                stsf_features=stsf_features, arm=arm)


def _f1(p):
    return dict(p, scenarios=SCENARIOS, cores=("gru",))


def _mtmf(p, cores):
    return dict(p, scenario="MTMF", cores=tuple(cores))


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """The runs the claims page reads for its parameters ``p`` (``profile``, ``cores``, ``dynamics_cores``,
    ``seeds`` / ``n_seeds``, ``stsf_features``, ``arm``, ``only``; :func:`collect`): F1's diets of the GRU, the
    MTMF runs of ``cores`` and ``dynamics_cores`` (only those of the claims ``only`` selects), and, for the
    default arm, the extension claims' runs (attention A1-A3 on the first :data:`wmnb.config.ATTENTION_SEEDS`
    seeds; the superposition bridge T3 on MTMF of every core; the procedural tasks P1-P3 train no run of
    :mod:`wmnb.training`)."""
    q = _claim_parameters(p["profile"], p.get("cores") or CORES, p.get("dynamics_cores"), seeds_of(p),
                          p.get("stsf_features"), arm_of(p))
    only = check_only(p.get("only"))
    wanted = lambda *ids: only is None or any(x in ("F", *ids) or x.split(" ")[0] in ids for x in only)  # noqa
    out = relevance.needs(_f1(q)) if wanted("F1") else []
    mtmf = (q["cores"] if wanted("F2", "F3", "F9") else ()) + (
        q["dynamics_cores"] if wanted("F4", "F5", "F6", "F7", "F8") else ())
    if mtmf:
        out += cross_task.needs(_mtmf(q, dict.fromkeys(mtmf)))
    if q["arm"].is_default and (only is None or any(x[0] in "ATP" for x in only)):
        out += attention.needs(dict(profile=q["profile"], seeds=q["seeds"][:ATTENTION_SEEDS]))
        out += cross_task.needs(_mtmf(q, CORES))
    return list(dict.fromkeys(out))


def collect(w, *, cores: Sequence[str] = CORES, dynamics_cores: Optional[Sequence[str]] = None, seeds=None,
            stsf_features: Optional[Sequence[str]] = None, only: Optional[Sequence[str]] = None,
            arm: Arm = DEFAULT_ARM) -> list[dict]:
    """Every claim record, computed on the world ``w`` (runs and analyses come from the caches when present).

    ``cores`` are compared where the paper compares architectures (F2, F3, F9); the memory-dynamics claims
    (F4-F8) are made once per core of ``dynamics_cores`` (None: the same ``cores``), each record's claim id
    naming its core ("F6 (lstm)"). ``stsf_features`` are the single-task models of F1 (None: one per task
    feature). ``only`` selects claims by id, family or group ("F2", "F6 (lstm)", "F6", "F" for all of the paper's
    findings, "A", "T", "P"; :data:`CLAIM_GROUPS`); the extension groups
    A (attention, the first :data:`wmnb.config.ATTENTION_SEEDS` seeds), T (superposition) and P (procedural
    tasks) each give three records, and only for the default ``arm``. Every record carries ``arm`` (the arm's
    name): F1-F9 of another :class:`wmnb.runs.Arm` (chapter 15) are the same claims on that arm's runs (F3
    without its paper-style secondary numbers, which only the default arm reports).
    """
    only = check_only(only)
    p = _claim_parameters(w.profile, cores, dynamics_cores, seeds, stsf_features, arm)
    mtmf = lambda: _runs(w, cross_task.needs, _mtmf(p, p["cores"]))  # noqa: E731
    makers = {
        "F1": lambda: relevance.claim_F1(_runs(w, relevance.needs, _f1(p))),
        "F2": lambda: cross_task.claim_F2(mtmf()),
        # the paper-style orthogonality (reported beside F3, never deciding it) is 90 % of F3's cost: the
        # default arm's only
        "F3": lambda: orthogonality.claim_F3(orthogonality.orthogonality(mtmf(), paper_style=arm.is_default)),
    }
    for cid, fn in (("F4", dynamics.claim_F4), ("F5", dynamics.claim_F5), ("F6", procrustes.claim_F6),
                    ("F7", procrustes.claim_F7), ("F8", perturbation.claim_F8)):
        for c in p["dynamics_cores"]:
            makers[f"{cid} ({c})"] = (lambda fn=fn, c=c: fn(_runs(w, dynamics.needs, _mtmf(p, (c,)))))
    makers["F9"] = lambda: claim_F9(mtmf())
    if arm.is_default:  # beyond the paper's figures: each chapter's own claims, from the caches its chapter filled
        makers.update(_extension_makers(w, p["seeds"]))
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
            out.append({**rec, "arm": arm.name})
    return out


#: claim families a selection (``only``) may name by their letter: the paper's findings and the extensions
CLAIM_GROUPS = ("F", "A", "T", "P")


def check_only(only) -> Optional[tuple]:
    """None, or a non-empty list of claim ids ("F2", "F6 (lstm)") or families (:data:`CLAIM_GROUPS`); a
    ConfigError names the value and what is allowed."""
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


def _extension_makers(w, seeds: Sequence[int]) -> dict:
    """Claims of the chapters beyond the paper's figures: A1-A3 (attention, chapter 11, on the first
    :data:`wmnb.config.ATTENTION_SEEDS` of ``seeds``), T1-T3 (temporal superposition, chapter 13), P1-P3
    (procedural tasks, chapter 14). Each returns a list of records."""
    return {"A": lambda: attention.claim_records(
                RunSet(w, attention.needs(dict(profile=w.profile, seeds=tuple(seeds)[:ATTENTION_SEEDS])))),
            "T": lambda: superposition_claims(w.profile, seeds=tuple(seeds), w=w),
            "P": lambda: procedural_claims(w.profile)}


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
    paper, verdict, arm``) atomically."""
    rows = [dict(claim=r["claim"], statement=r["statement"], measure=measure(r), protocol=r.get("protocol", ""),
                 value=r.get("value"), interval=[r.get("ci_low"), r.get("ci_high")],
                 per_seed=r.get("details", {}).get("per_seed", []), controls=r.get("controls", ""),
                 paper=r.get("paper"), verdict=r["verdict"], arm=r.get("arm", DEFAULT_ARM.name))
            for r in records]
    atomic_write_json(path, _jsonable({"claims": rows, "meta": meta or {}}))


#: the claims page's own parameters (:mod:`wmnb.params` rules)
PARAMETERS = {"only": params.Custom(lambda name, value: check_only(value)),
              "dynamics_cores": params.Maybe(params.ListOf(CORES))}

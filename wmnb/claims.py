"""Claims vs paper: every headline finding of Lei, Ito & Bashivan (2024) as a computed statement.

Each finding F1-F9 (see the design notes) has a ``claim_F*`` function in :mod:`wmnb.experiments` (F9 is
here) that returns one record ``{claim, statement, value, ci_low, ci_high, paper, verdict, details}``; the
verdict ("holds" / "does not hold" / "mixed") is decided by the rule in that function's docstring from our
numbers, never written by hand. :func:`collect` runs them all on cached runs (training and analyses are
shared with the chapters through the run and result caches) and :func:`write_json` writes the table that
``_build/claims.json`` holds.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from .analysis.stats import mean_t_interval
from .cache import atomic_write_json

from .verdicts import VERDICTS  # noqa: E402

PAPER_F9 = ("Generalisation to novel identities is substantially weaker than to novel angles "
            "(Fig. A1c; repo-doc).")


def claim_F9(w, cores: Iterable[str] = ("gru",), scenario: str = "MTMF", *, seeds=None,
             margin: float = 0.03, progress: bool = False) -> dict:
    """F9: novel-identity accuracy is lower than novel-angle accuracy.

    Per trained run (each core x seed): masked accuracy on the novel-angle and novel-identity splits at the end
    of training. ``value`` = mean over runs of (novel angle - novel identity), with a t interval across runs.

    Rule: "holds" when the interval's lower end is above ``margin`` (or, with one run, the gap itself is);
    "does not hold" when the upper end is below 0 (gap reversed); "mixed" otherwise.
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
    gap = table.novel_angle - table.novel_identity
    value, lo, hi = mean_t_interval(gap)
    if np.isfinite(lo):
        verdict = "holds" if lo > margin else "does not hold" if hi < 0 else "mixed"
    else:
        verdict = "holds" if value > margin else "does not hold" if value < 0 else "mixed"
    cores = sorted(set(table.core))
    statement = (f"Novel-angle minus novel-identity masked accuracy ({scenario}, "
                 f"{', '.join(cores)}; {len(table)} runs): {value:.3f}")
    return dict(claim="F9", statement=statement, value=value, ci_low=lo, ci_high=hi, paper=PAPER_F9,
                verdict=verdict, details=dict(rule=claim_F9.__doc__.split("Rule: ")[1].strip(),
                                              value_name="novel-angle minus novel-identity masked accuracy",
                                              runs=table.round(4).to_dict("records")))


def collect(w, *, cores: Sequence[str] = ("rnn", "gru", "lstm"), dynamics_core: str = "gru",
            seeds=None, stsf_features: Optional[Sequence[str]] = None,
            only: Optional[Sequence[str]] = None) -> list[dict]:
    """Every claim record, computed on the world ``w`` (runs and analyses come from the caches when present).

    ``cores`` are compared where the paper compares architectures (F2, F3); the memory-dynamics claims
    (F4-F8) use ``dynamics_core`` (the paper's Fig. 4 model is an MTMF GRU). ``stsf_features`` are the
    single-task models of F1 (None: one per task feature).
    """
    from .experiments import cross_task, dynamics, orthogonality, perturbation, procrustes, relevance

    kw = {} if seeds is None else dict(seeds=tuple(seeds))
    makers = {
        "F1": lambda: relevance.claim_F1(w, stsf_features=stsf_features, **kw),
        "F2": lambda: cross_task.claim_F2(w, cores=tuple(cores), **kw),
        "F3": lambda: orthogonality.claim_F3(w, cores=tuple(cores), **kw),
        "F4": lambda: dynamics.claim_F4(w, "MTMF", dynamics_core, **kw),
        "F5": lambda: dynamics.claim_F5(w, "MTMF", dynamics_core, **kw),
        "F6": lambda: procrustes.claim_F6(w, "MTMF", dynamics_core, **kw),
        "F7": lambda: procrustes.claim_F7(w, "MTMF", dynamics_core, **kw),
        "F8": lambda: perturbation.claim_F8(w, "MTMF", dynamics_core, **kw),
        "F9": lambda: claim_F9(w, cores=tuple(cores), **kw),
    }
    out = []
    for cid, make in makers.items():
        if only and cid not in only:
            continue
        rec = make()
        if rec.get("verdict") not in VERDICTS:
            raise ValueError(f"claim {cid} returned verdict {rec.get('verdict')!r}; expected one of {VERDICTS}")
        out.append(rec)
    return out


def table(records: list[dict]) -> pd.DataFrame:
    """The claims as a tidy table: claim, statement, measure, value, ci_low, ci_high, paper, verdict."""
    cols = ["claim", "statement", "measure", "value", "ci_low", "ci_high", "paper", "verdict"]
    return pd.DataFrame([{**{c: r.get(c) for c in cols}, "measure": measure(r)} for r in records], columns=cols)


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
    """Write the claims (``claim, statement, measure, value, interval [lo, hi], paper, verdict``) atomically."""
    rows = [dict(claim=r["claim"], statement=r["statement"], measure=measure(r), value=r.get("value"),
                 interval=[r.get("ci_low"), r.get("ci_high")], paper=r.get("paper"), verdict=r["verdict"])
            for r in records]
    atomic_write_json(path, _jsonable({"claims": rows, "meta": meta or {}}))

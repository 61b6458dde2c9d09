"""Experiments: trained runs + recordings + pure analyses -> cached tidy tables and claim records.

Each experiment function takes the stimulus world (:func:`wmnb.pipeline.world`) plus the scenario(s),
architecture(s) and seeds, fetches the trained runs and their recordings through :mod:`wmnb.pipeline`, runs the
pure functions of :mod:`wmnb.analysis`, caches every per-run table with :func:`wmnb.results.cached_table`
(description = run key + recording + analysis parameters) and returns an
:class:`~wmnb.experiments.dynamics.ExperimentTables` (per-seed rows, per-seed summary, summary aggregated across
seeds, the runs used). ``claim_F*`` functions turn those tables into one claim record
``{claim, statement, value, ci_low, ci_high, paper, verdict, details}`` with the verdict computed by the rule
stated in their docstring; the claims chapter collects them.

Modules
-------
relevance      task-relevant vs irrelevant decoding at the encoding step, STSF/STMF/MTMF (F1, Fig. 2b)
cross_task     cross-task decoder generalisation per architecture (F2, Fig. 2a/2c)
orthogonality  orthogonalization index in backbone, projection and RNN spaces (F3, Fig. 3)
dynamics       memory-labelled cross-time decoding and encoding transfer (F4, F5)
procrustes     Procrustes reconstruction and swap tests (F6, F7)
perturbation   recurrent-pass perturbation along decoder normals (F8)

Submodules are imported on demand (``from wmnb.experiments import relevance``) so that importing the package
stays cheap.
"""
from __future__ import annotations

import importlib

__all__ = ["relevance", "cross_task", "orthogonality", "dynamics", "procrustes", "perturbation"]


def __getattr__(name):  # lazy submodule access: wmnb.experiments.relevance etc.
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------------------------
# plumbing shared by relevance / cross_task / orthogonality (private; dynamics has its own equivalents)
# ---------------------------------------------------------------------------------------------------------
CORES = ("rnn", "gru", "lstm")

_RUN_MEMO: dict = {}
_REC_MEMO: dict = {}


def _model_label(scenario: str, core: str, feature=None) -> str:
    """``"MTMF gru"``, ``"STSF-category gru"``."""
    return f"{scenario}-{feature} {core}" if feature else f"{scenario} {core}"


def _get_run(w, scenario: str, core: str, seed: int, feature=None, progress: bool = False):
    """:func:`wmnb.pipeline.trained_run` (disk-cached by the pipeline; memoised in-process)."""
    from ..pipeline import trained_run

    key = (id(w.stimuli), w.profile, scenario, core, int(seed), feature)
    if key not in _RUN_MEMO:
        kw = {"feature": feature} if feature is not None else {}
        _RUN_MEMO[key] = trained_run(w, scenario, core, seed=int(seed), progress=progress, **kw)
        while len(_RUN_MEMO) > 32:
            _RUN_MEMO.pop(next(iter(_RUN_MEMO)))
    return _RUN_MEMO[key]


def _n_per_condition(w, n_per_condition):
    from ..errors import check_int
    from ..pipeline import ANALYSIS_SEQUENCES

    return ANALYSIS_SEQUENCES[w.profile] if n_per_condition is None else check_int(
        "n_per_condition", n_per_condition, low=2)


def _get_recording(w, run, split: str, n_per_condition: int, seed=None):
    """:func:`wmnb.pipeline.recording` (memoised: the last two); ``seed`` None = the analysis seed."""
    from ..pipeline import ANALYSIS_SEED, recording

    seed = ANALYSIS_SEED if seed is None else seed

    key = (run.key, split, int(n_per_condition), int(seed))
    if key not in _REC_MEMO:
        _REC_MEMO[key] = recording(w, run, split=split, n_per_condition=n_per_condition, seed=seed)
        while len(_REC_MEMO) > 2:
            _REC_MEMO.pop(next(iter(_REC_MEMO)))
    return _REC_MEMO[key]


def _run_row(run, seed: int, scenario: str, core: str, feature=None) -> dict:
    """One row of an experiment's ``runs`` table: keys and overall masked accuracy of the last checkpoint."""
    import numpy as np

    m = run.metrics
    row = dict(seed=int(seed), model=_model_label(scenario, core, feature), scenario=scenario, core=core,
               stsf_feature=feature or "", run_key=run.key)
    for split in ("train", "novel_angle", "novel_identity"):
        sel = m[(m["feature"] == "all") & (m["split"] == split)]
        row[f"acc_{split}"] = float(sel["accuracy"].iloc[0]) if len(sel) else np.nan
    return row


def _check_cores(cores) -> tuple:
    from ..errors import ConfigError

    if isinstance(cores, str):
        cores = CORES if cores == "all" else (cores,)
    cores = tuple(cores)
    bad = [c for c in cores if c not in CORES]
    if bad or not cores:
        raise ConfigError(f"cores={cores!r} is not allowed; choose from {list(CORES)} or 'all'")
    return cores


def _check_split(split: str) -> str:
    from ..errors import check_choice

    return check_choice("split", split, ["train", "novel_angle", "novel_identity", "novel_both"])


def _source_tables(source, name: str, run_experiment, **kw):
    """``source`` as the per-seed table of experiment ``name``: an ExperimentTables, a DataFrame, or a World
    (then ``run_experiment(world, **kw)`` is called)."""
    import pandas as pd

    from ..errors import ConfigError

    if isinstance(source, pd.DataFrame):
        return source
    if hasattr(source, "per_seed") and hasattr(source, "name"):
        if source.name != name:
            raise ConfigError(f"expected the tables of experiment {name!r}, got {source.name!r}")
        return source.per_seed
    if hasattr(source, "stimuli") and hasattr(source, "features"):
        return run_experiment(source, **kw).per_seed
    raise ConfigError(f"source must be a World, an ExperimentTables or a DataFrame; got {type(source).__name__}")


def _finite(x) -> float:
    return float(x) if x is not None else float("nan")

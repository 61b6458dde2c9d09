"""Experiments: trained runs + recordings + pure analyses -> cached tidy tables and claim records.

Each experiment function takes the stimulus world (:func:`wmnb.pipeline.world`) plus the scenario(s),
architecture(s) and seeds, fetches the trained runs and their recordings through :mod:`wmnb.pipeline`, runs the
pure functions of :mod:`wmnb.analysis`, caches every per-run table with :func:`wmnb.results.cached_table`
(description = run key + recording + analysis parameters) and returns an
:class:`~wmnb.experiments.core.ExperimentTables` (per-seed rows, per-seed summary, summary aggregated across
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
core           what they share: run/recording memo, run table, per-seed cached tables, ExperimentTables,
               claim_dict, seed_ci, argument checks

``claim_dict``, ``ExperimentTables``, ``seed_ci``, ``resolve_seeds``, ``run_table``, ``CORES``, ``FEATURES`` and
``EXPERIMENT_VERSION`` are importable from here (``from wmnb.experiments import claim_dict``).
Submodules are imported on demand (``from wmnb.experiments import relevance``) so that importing the package
stays cheap.
"""
from __future__ import annotations

import importlib

__all__ = ["core", "relevance", "cross_task", "orthogonality", "dynamics", "procrustes", "perturbation",
           "claim_dict", "ExperimentTables", "seed_ci", "resolve_seeds", "run_table", "CORES", "FEATURES",
           "EXPERIMENT_VERSION"]

_SUBMODULES = ("core", "relevance", "cross_task", "orthogonality", "dynamics", "procrustes", "perturbation")
#: names re-exported from :mod:`wmnb.experiments.core` (``from wmnb.experiments import claim_dict``)
_CORE_NAMES = ("claim_dict", "ExperimentTables", "seed_ci", "resolve_seeds", "run_table", "CORES", "FEATURES",
               "EXPERIMENT_VERSION")


def __getattr__(name):  # lazy: submodules and the core's public names are imported on first use
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _CORE_NAMES:
        return getattr(importlib.import_module(f"{__name__}.core"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

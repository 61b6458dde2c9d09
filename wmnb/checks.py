"""Every parameter an entry point takes, checked before any work: the one validation layer of the chapters, the
command line and the API.

Each module declares the parameters it owns (``PARAMETERS``: :mod:`wmnb.params` rules, next to the code that
uses them); :data:`PARAMETERS` merges them, and :func:`check` applies them plus the rules *between* parameters
(:func:`wmnb.pipeline.check_world`: the source's folder and K; :func:`wmnb.runs.check_training`: every
(scenario, core) the parameters name makes a valid training config):

>>> from wmnb import checks
>>> P = checks.check(profile="smoke", source="procedural", seeds=[0, 1], cores=["gru"], scenarios=["MTMF"])

Any violation raises :class:`wmnb.errors.ConfigError` naming the parameter, the value and what is allowed
(:class:`wmnb.errors.AssetError` for a missing weight file or too few ShapeNet models). An unknown parameter
name is an error too, so a typo never passes silently.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from . import claims, params, pipeline, runs
from .experiments import ablation, attention, behaviour, core, orthogonality
from .superposition import bridge

__all__ = ["PARAMETERS", "check"]

#: every parameter name a chapter, command or API call may check, with its rule (merged from its modules)
PARAMETERS = params.merge(pipeline.WORLD_PARAMETERS, runs.PARAMETERS, core.PARAMETERS, orthogonality.PARAMETERS,
                          behaviour.PARAMETERS, attention.PARAMETERS, bridge.PARAMETERS, claims.PARAMETERS,
                          ablation.PARAMETERS)


def check(*, choices: Optional[Mapping[str, Iterable]] = None, **values: Any) -> dict[str, Any]:
    """Check every given parameter and the rules between them, before any work.

    Parameters
    ----------
    choices : mapping of parameter name -> allowed values, optional
        Replaces the allowed values of a choice parameter for this caller, e.g. a chapter that also
        accepts ``core="all"`` passes ``choices={"core": ("rnn", "gru", "lstm", "all")}``, one that needs
        several tasks ``choices={"scenario": ("STMF", "MTMF")}``.
    **values
        Any subset of :data:`PARAMETERS`.

    Returns
    -------
    dict
        The given parameters, normalised (lists as tuples, ``source`` as given), plus ``"sources"``: the
        :class:`wmnb.stimuli.SourceSettings` when ``source`` was given.
    """
    out = params.check(PARAMETERS, values, choices=choices)
    pipeline.check_world(out)
    runs.check_training(out)
    return out

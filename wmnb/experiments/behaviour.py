"""Behaviour (chapter 4): the runs of one scenario and core at every seed, and the readouts it compares.

:func:`needs` is the one definition of what the chapter trains (the sweep plan reads it too); :func:`readout_arm`
names the arm of a readout (the book's default for "spatial").
"""
from __future__ import annotations

from typing import Any, Mapping

from .. import params
from ..config import CORES, SCENARIOS
from ..errors import check_choice
from ..models import READOUTS
from ..runs import DEFAULT_ARM, Arm, RunSpec
from .core import seeds_of

__all__ = ["PARAMETERS", "readout_arm", "needs"]

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

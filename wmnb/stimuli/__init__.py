"""Stimuli: meshes (procedural, Debian packages, ShapeNet), a deterministic renderer, stimulus sets and splits.

The main entry point is :func:`build_stimulus_set` with a :class:`StimulusConfig`; see
:mod:`wmnb.stimuli.stimulus_set` for the layout, label conventions and splits.
"""
from wmnb.stimuli.mesh import Mesh, normalise
from wmnb.stimuli.procedural import procedural_mesh
from wmnb.stimuli.render import render_object
from wmnb.stimuli.stimulus_set import (CATEGORIES, DEFAULT_ANGLES, LOCATIONS, SOURCES, SourceSettings, StimulusConfig,
                                       StimulusSet, build_stimulus_set, quadrant_centres)

__all__ = [
    "CATEGORIES", "DEFAULT_ANGLES", "LOCATIONS", "SOURCES", "Mesh", "SourceSettings", "StimulusConfig",
    "StimulusSet", "build_stimulus_set", "normalise", "procedural_mesh", "quadrant_centres", "render_object",
]

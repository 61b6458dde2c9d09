"""The few calls a chapter needs: the stimulus world, a trained scenario, a recording. All cached.

A chapter says *what* it wants (source, scenario, architecture, profile, seed); this module turns that into
the validated configs of the lower layers and fetches each artefact from its cache or computes it once:

>>> w = world(profile="quick")                                      # stimuli + frozen-CNN features
>>> run = trained_run(w, scenario="MTMF", core="gru", seed=0)       # cached by config hash
>>> rec = recording(w, run, split="train")                          # hidden states of the analysis set

Profiles fix the sizes (:data:`PROFILE_WORLD`, :data:`ANALYSIS_SEQUENCES`, training's own profiles) so the
same chapter runs as a seconds-long smoke test, a minutes-long CPU build, or at the paper's scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .errors import check_choice, check_int

PROFILES = ("smoke", "quick", "paper")

#: stimulus-world sizes per profile (K = identities per category). smoke keeps 224 px: the CNN's 7x7 map
#: needs it; it only shrinks K.
PROFILE_WORLD: dict[str, dict[str, Any]] = {
    "smoke": dict(identities_per_category=3),
    "quick": dict(identities_per_category=12),
    "paper": dict(identities_per_category=12),
}

#: sequences per (feature, N) condition in an analysis recording
ANALYSIS_SEQUENCES = {"smoke": 60, "quick": 2000, "paper": 2000}

#: seed of every analysis recording (the fixed analysis set drawn from a pool; a stream apart from training's)
ANALYSIS_SEED = 12345

#: seeds a chapter aggregates over, per profile
DEFAULT_SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}


@dataclass
class World:
    """The stimulus set and the frozen CNN's feature bank of its images."""

    stimuli: Any
    features: Any
    profile: str

    def __repr__(self) -> str:
        return (f"World({self.stimuli.config.source}, K={self.stimuli.config.identities_per_category}, "
                f"{len(self.stimuli.meta)} images, backbone={self.features.backbone})")


def world(source="debian", identities_per_category: Optional[int] = None, image_size: int = 224,
          seed: int = 0, backbone: str = "efficientnet_lite0", profile: str = "quick",
          cache_dir=None, progress: bool = False, *, shapenet_root=None) -> World:
    """Build (or load) the stimulus set and its feature bank.

    ``source`` is a source name or a :class:`wmnb.stimuli.SourceSettings` (source + ``shapenet_root``);
    ``identities_per_category=None`` takes the profile's K (:data:`PROFILE_WORLD`). Every parameter is
    validated (:func:`wmnb.params.check`) before anything is rendered or computed.
    """
    from .params import check
    from .perception import compute_feature_bank
    from .stimuli import StimulusConfig, build_stimulus_set

    p = check(source=source, shapenet_root=shapenet_root, identities_per_category=identities_per_category,
              image_size=image_size, seed=seed, backbone=backbone, profile=profile, cache_dir=cache_dir)
    k = PROFILE_WORLD[profile]["identities_per_category"] if identities_per_category is None \
        else p["identities_per_category"]
    cfg = StimulusConfig(identities_per_category=k, image_size=image_size, seed=seed,
                         **p["sources"].stimulus_kwargs())
    stim = build_stimulus_set(cfg, cache_dir=cache_dir, progress=progress)
    fb = compute_feature_bank(stim, backbone=backbone, cache_dir=cache_dir, progress=progress)
    return World(stim, fb, profile)


def train_config(scenario: str = "MTMF", core: str = "gru", *, feature: Optional[str] = None,
                 readout: str = "spatial", attention: str = "none", gate: str = "none",
                 hidden_size: Optional[int] = None, profile: str = "quick", seed: int = 0, **overrides):
    """The :class:`wmnb.training.TrainConfig` for a scenario and an architecture at a profile."""
    from dataclasses import replace

    from .models import ModelConfig
    from .training import PROFILES as TRAIN_PROFILES
    from .training import TrainConfig

    check_choice("profile", profile, PROFILES)
    model_kw = dict(TRAIN_PROFILES[profile]["model"])
    model_kw.update(core=core, readout=readout, attention=attention, gate=gate)
    if hidden_size is not None:
        model_kw["hidden_size"] = hidden_size
    cfg = TrainConfig(scenario=scenario, feature=feature, model=ModelConfig(**model_kw), profile=profile,
                      seed=seed)
    return replace(cfg, **overrides) if overrides else cfg


def trained_run(w: World, scenario: str = "MTMF", core: str = "gru", *, seed: int = 0,
                progress: bool = True, cache_dir=None, **kw):
    """Train (or fetch from the run cache) one scenario on the world ``w``; returns a :class:`Run`."""
    from .training import train

    cfg = train_config(scenario, core, profile=w.profile, seed=seed, **kw)
    return train(w.stimuli, w.features, cfg, cache_dir=cache_dir, progress=progress)


def recording(w: World, run, split: str = "train", n_per_condition: Optional[int] = None,
              seed: int = ANALYSIS_SEED):
    """Hidden states of ``run`` on a fixed analysis set drawn from ``split`` (sequences per condition by
    profile: :data:`ANALYSIS_SEQUENCES`)."""
    from .recording import record

    n = ANALYSIS_SEQUENCES[w.profile] if n_per_condition is None else check_int(
        "n_per_condition", n_per_condition, low=1)
    return record(run, w.stimuli, w.features, split=split, n_per_condition=n, seed=seed)


def seeds_for(profile: str, n_seeds: Optional[int] = None) -> tuple[int, ...]:
    """The seeds a chapter aggregates over (``n_seeds`` overrides the profile's count)."""
    check_choice("profile", profile, PROFILES)
    if n_seeds is None:
        return DEFAULT_SEEDS[profile]
    return tuple(range(check_int("n_seeds", n_seeds, low=1)))

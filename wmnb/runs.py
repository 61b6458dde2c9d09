"""One description of a training run: an :class:`Arm` (how a family of runs differs from the book's default) and a
:class:`RunSpec` (scenario, core, seed, STSF feature, arm).

A chapter, an experiment, the sweep plan and a sweep worker all speak of a run through a :class:`RunSpec`;
:meth:`RunSpec.config` turns it into the :class:`wmnb.training.TrainConfig` that is trained and hashed, at a
profile. An arm's world overrides (K, backbone) are applied by :func:`wmnb.pipeline.world_for`.

>>> spec = RunSpec("MTMF", "gru", seed=0)                                  # the book's default arm
>>> paper = Arm.of("paper", model=dict(readout="avgpool"), world=dict(identities_per_category=2))
>>> RunSpec("MTMF", "gru", 0, arm=paper).config("quick").model.readout
'avgpool'

Run keys depend only on the resolved configuration, never on an arm's name: two arms that resolve to the same
configuration share their runs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from . import params
from .config import CORES, FEATURES, SCENARIOS, TRAINING, check_profile
from .errors import ConfigError, check_choice
from .models import READOUTS, ModelConfig
from .training import TrainConfig

__all__ = ["Arm", "DEFAULT_ARM", "RunSpec", "train_config", "model_label", "PARAMETERS", "check_training",
           "WORLD_FIELDS"]

#: the world settings an arm may change (arguments of :func:`wmnb.pipeline.world`)
WORLD_FIELDS = ("identities_per_category", "backbone")
#: TrainConfig fields that belong to a run, not to an arm
_RUN_FIELDS = ("scenario", "feature", "model", "seed", "profile", "device", "threads")


def _pairs(what: str, values: Optional[Mapping[str, Any]], allowed) -> tuple:
    values = dict(values or {})
    bad = sorted(set(values) - set(allowed))
    if bad:
        raise ConfigError(f"Arm {what}={{{bad[0]!r}: ...}} is not allowed; choose keys from {sorted(allowed)}")
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


@dataclass(frozen=True, order=True)
class Arm:
    """A named family of training runs: what its runs change from the book's default.

    ``model``: :class:`wmnb.models.ModelConfig` fields (readout, hidden_size, embedding_dim, pca_channels,
    attention, gate, ...); ``train``: :class:`wmnb.training.TrainConfig` fields (lr, batch_size, steps,
    milestones, gamma, ...); ``world``: :data:`WORLD_FIELDS`. Each is stored as sorted ``(field, value)``
    pairs so an arm is hashable; build one with :meth:`of`. ``label`` is how the book names it.
    """

    name: str = "default"
    model: tuple = ()
    train: tuple = ()
    world: tuple = ()
    label: str = field(default="", compare=False)

    @classmethod
    def of(cls, name: str, *, label: str = "", model: Optional[Mapping[str, Any]] = None,
           train: Optional[Mapping[str, Any]] = None, world: Optional[Mapping[str, Any]] = None) -> "Arm":
        """An arm from mappings; unknown field names raise ConfigError naming the allowed ones."""
        model_fields = [f.name for f in dataclasses.fields(ModelConfig) if f.name != "core"]
        train_fields = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in _RUN_FIELDS]
        if not isinstance(name, str) or not name:
            raise ConfigError(f"Arm name={name!r} must be a non-empty string")
        return cls(name, _pairs("model", model, model_fields), _pairs("train", train, train_fields),
                   _pairs("world", world, WORLD_FIELDS), label or name)

    @property
    def is_default(self) -> bool:
        """True when the arm changes nothing (its runs are the book's default runs)."""
        return not (self.model or self.train or self.world)

    def changes(self) -> dict[str, Any]:
        """Every setting the arm changes, ``{field: value}`` (model, training and world fields together)."""
        return {**dict(self.world), **dict(self.model), **dict(self.train)}


#: the book's default: the profile's settings, unchanged
DEFAULT_ARM = Arm("default", label="book default")


def train_config(scenario: str = "MTMF", core: str = "gru", *, feature: Optional[str] = None,
                 readout: str = "spatial", attention: str = "none", gate: str = "none",
                 hidden_size: Optional[int] = None, model: Optional[Mapping[str, Any]] = None,
                 profile: str = "quick", seed: int = 0, **overrides):
    """The :class:`wmnb.training.TrainConfig` for a scenario and an architecture at a profile.

    ``readout``, ``attention``, ``gate``, ``hidden_size`` and the mapping ``model`` (any further ModelConfig
    fields; it wins over the four) change the profile's model (:data:`wmnb.config.TRAINING`); ``overrides`` are
    TrainConfig fields (``lr``, ``steps``, ...).
    """
    check_profile(profile)
    model_kw = dict(TRAINING[profile]["model"])
    model_kw.update(core=core, readout=readout, attention=attention, gate=gate)
    if hidden_size is not None:
        model_kw["hidden_size"] = hidden_size
    model_kw.update(model or {})
    return TrainConfig(scenario=scenario, feature=feature, model=ModelConfig(**model_kw), profile=profile,
                       seed=seed, **overrides)


def model_label(scenario: str, core: str, feature: Optional[str] = None) -> str:
    """``"MTMF gru"``, ``"STSF-category gru"``."""
    return f"{scenario}-{feature} {core}" if feature else f"{scenario} {core}"


@dataclass(frozen=True, order=True)
class RunSpec:
    """One training run: a diet, a core, a seed, the STSF task feature (None for the other diets) and its arm."""

    scenario: str
    core: str
    seed: int
    feature: Optional[str] = None
    arm: Arm = DEFAULT_ARM

    def __post_init__(self):
        check_choice("scenario", self.scenario, SCENARIOS)
        check_choice("core", self.core, CORES)
        if self.feature is not None:
            check_choice("feature", self.feature, FEATURES)
        object.__setattr__(self, "seed", int(self.seed))

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`train_config` (without ``profile``)."""
        kw: dict[str, Any] = dict(scenario=self.scenario, core=self.core, seed=self.seed)
        if self.feature is not None:
            kw["feature"] = self.feature
        if self.arm.model:
            kw["model"] = dict(self.arm.model)
        kw.update(dict(self.arm.train))
        return kw

    def config(self, profile: str):
        """The resolved :class:`wmnb.training.TrainConfig` of this run at ``profile``."""
        return train_config(profile=profile, **self.train_kwargs())

    @property
    def model(self) -> str:
        """The trained model's name in tables: ``"MTMF gru"``, ``"STSF-category gru"``."""
        return model_label(self.scenario, self.core, self.feature)

    def label(self) -> str:
        """``"MTMF gru seed 0"``, with the arm's name when it is not the default."""
        arm = "" if self.arm.is_default else f" [{self.arm.name}]"
        return f"{self.model}{arm} seed {self.seed}"


# ---------------------------------------------------------------------------------------------------------
# the training parameters an entry point may take, and the rule between them
# ---------------------------------------------------------------------------------------------------------
PARAMETERS = {
    "scenario": params.Choice(SCENARIOS),
    "scenarios": params.ListOf(SCENARIOS),
    "feature": params.Maybe(params.Choice(FEATURES)),
    "stsf_features": params.Maybe(params.ListOf(FEATURES)),
    "core": params.Choice(CORES),
    "cores": params.ListOf(CORES),
    "readout": params.Choice(sorted(READOUTS)),
    "attention": params.Choice(("none", "task", "dual")),
    "hidden_size": params.Maybe(params.Int(low=1)),
    "seq_len": params.Int(low=2),
    "train_seed": params.Int(low=0),
    "seeds": params.Seeds(),
    "n_seeds": params.Maybe(params.Int(low=1)),
}


def check_training(p: Mapping[str, Any]) -> None:
    """Every (scenario, core, STSF feature) that checked parameters ``p`` name must make a valid training config
    (readout/attention combinations, the STSF feature, a seq_len that holds the largest N); ConfigError if not."""
    names = ("scenario", "scenarios", "feature", "core", "cores", "readout", "attention", "hidden_size", "seq_len")
    if not any(n in p for n in names):
        return
    scenarios = p.get("scenarios") or (p.get("scenario", "MTMF"),)
    cores = [c for c in (p.get("cores") or (p.get("core", "gru"),)) if c in CORES] or ["gru"]
    kw = {n: p[n] for n in ("readout", "attention", "hidden_size", "seq_len") if n in p}
    for scenario in scenarios:
        if scenario not in SCENARIOS:  # a chapter-specific choice (choices=...); nothing to build
            continue
        features = p.get("stsf_features") if scenario == "STSF" and p.get("stsf_features") else (p.get("feature"),)
        for feature in features:
            for core in cores:
                train_config(scenario, core, feature=feature, profile=p.get("profile", "quick"), **kw)

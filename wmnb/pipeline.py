"""The few calls a chapter needs: the stimulus world, trained runs, recordings, and the run sets experiments read.

A chapter says *what* it wants (source, runs, profile); this module turns that into the validated configs of
the lower layers and fetches each artefact from its cache or computes it once:

>>> w = world(profile="quick")                                      # stimuli + frozen-CNN features
>>> run = trained_run(w, scenario="MTMF", core="gru", seed=0)       # cached by config hash
>>> rec = recording(w, run, split="train")                          # hidden states of the analysis set
>>> runs = RunSet.grid(w, scenarios=["MTMF"], cores=["rnn", "gru"], seeds=[0, 1])   # what an experiment reads

Profiles fix the sizes (:mod:`wmnb.config`: ``WORLD``, ``ANALYSIS_SEQUENCES``, ``TRAINING``) so the same chapter
runs as a seconds-long smoke test, a minutes-long CPU build, or at the paper's scale. A run's :class:`wmnb.runs.Arm`
may change the world (K, backbone): :func:`world_for` builds that world from the base one.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional, Sequence

from . import params
from .config import ANALYSIS_SEED, ANALYSIS_SEQUENCES, PROFILES, WORLD, seeds_for
from .errors import ConfigError, check_int
from .perception import PARAMETERS as PERCEPTION_PARAMETERS
from .perception import compute_feature_bank
from .recording import record
from .runs import DEFAULT_ARM, Arm, RunSpec, train_config
from .stimuli import StimulusConfig, build_stimulus_set
from .stimuli.stimulus_set import PARAMETERS as STIMULUS_PARAMETERS
from .stimuli.stimulus_set import SourceSettings
from .training import train

__all__ = ["World", "world", "world_for", "train_config", "trained_run", "run_of", "recording", "RunSet",
           "PARAMETERS", "WORLD_PARAMETERS", "check_world"]

#: the parameters every entry point shares (:mod:`wmnb.params` rules)
PARAMETERS = {"profile": params.Choice(PROFILES), "cache_dir": params.Path()}
#: the parameters of :func:`world`
WORLD_PARAMETERS = {**PARAMETERS, **STIMULUS_PARAMETERS, **PERCEPTION_PARAMETERS}


@dataclass
class World:
    """The stimulus set and the frozen CNN's feature bank of its images, with the settings that made them."""

    stimuli: Any
    features: Any
    profile: str
    settings: Optional[SourceSettings] = None  # where the meshes came from
    cache_dir: Any = None  # the cache root they live in (None: the default)

    def __repr__(self) -> str:
        return (f"World({self.stimuli.config.source}, K={self.stimuli.config.identities_per_category}, "
                f"{len(self.stimuli.meta)} images, backbone={self.features.backbone})")


def check_world(p: dict) -> None:
    """The rules between world parameters (checked values ``p``): the source's folder and the stimulus config
    (K against the Debian catalogue, sizes). Adds ``p["sources"]``, the :class:`SourceSettings`."""
    if "source" not in p and "shapenet_root" not in p:
        return
    settings = SourceSettings.of(p.get("source", "debian"), p.get("shapenet_root"))
    k = p.get("identities_per_category")
    if k is None:
        k = WORLD[p.get("profile", "quick")]["identities_per_category"]
    settings.check_paths(k)
    kw = {name: p[name] for name in ("image_size", "seed") if name in p}
    StimulusConfig(identities_per_category=k, **settings.stimulus_kwargs(), **kw)
    p["sources"] = settings


def world(source="debian", identities_per_category: Optional[int] = None, image_size: int = 224,
          seed: int = 0, backbone: str = "efficientnet_lite0", profile: str = "quick",
          cache_dir=None, progress: bool = False, *, shapenet_root=None) -> World:
    """Build (or load) the stimulus set and its feature bank.

    ``source`` is a source name or a :class:`wmnb.stimuli.SourceSettings` (source + ``shapenet_root``);
    ``identities_per_category=None`` takes the profile's K (:data:`wmnb.config.WORLD`). Every parameter is
    validated (:data:`WORLD_PARAMETERS`, :func:`check_world`) before anything is rendered or computed.
    """
    p = params.check(WORLD_PARAMETERS, dict(source=source, shapenet_root=shapenet_root,
                                            identities_per_category=identities_per_category, image_size=image_size,
                                            seed=seed, backbone=backbone, profile=profile, cache_dir=cache_dir))
    check_world(p)
    k = WORLD[profile]["identities_per_category"] if identities_per_category is None \
        else p["identities_per_category"]
    cfg = StimulusConfig(identities_per_category=k, image_size=image_size, seed=seed,
                         **p["sources"].stimulus_kwargs())
    stim = build_stimulus_set(cfg, cache_dir=cache_dir, progress=progress)
    fb = compute_feature_bank(stim, backbone=backbone, cache_dir=cache_dir, progress=progress)
    return World(stim, fb, profile, p["sources"], cache_dir)


_WORLDS: "OrderedDict[tuple, World]" = OrderedDict()


def world_for(w: World, arm: Arm = DEFAULT_ARM, progress: bool = False) -> World:
    """The world of ``arm``'s runs: ``w`` itself when the arm changes no world setting, else the world built like
    ``w`` with the arm's K and backbone (memoised in-process)."""
    if not arm.world:
        return w
    cfg = w.stimuli.config
    kw = dict(identities_per_category=cfg.identities_per_category, backbone=w.features.backbone)
    kw.update(dict(arm.world))
    key = (id(w.stimuli), w.profile, tuple(sorted(kw.items())))
    if key not in _WORLDS:
        settings = w.settings or SourceSettings.of(cfg.source, getattr(cfg, "shapenet_root", None))
        _WORLDS[key] = world(settings, image_size=cfg.image_size, seed=cfg.seed, profile=w.profile,
                             cache_dir=w.cache_dir, progress=progress, **kw)
        while len(_WORLDS) > 4:
            _WORLDS.popitem(last=False)
    return _WORLDS[key]


def trained_run(w: World, scenario: str = "MTMF", core: str = "gru", *, seed: int = 0,
                progress: bool = True, cache_dir=None, **kw):
    """Train (or fetch from the run cache) one scenario on the world ``w``; returns a :class:`Run`.

    ``kw`` are further arguments of :func:`wmnb.runs.train_config` (``feature``, ``readout``, ``model``, ``lr``...).
    """
    cfg = train_config(scenario, core, profile=w.profile, seed=seed, **kw)
    return train(w.stimuli, w.features, cfg, cache_dir=cache_dir, progress=progress)


_RUNS: "OrderedDict[tuple, Any]" = OrderedDict()
_RECORDINGS: "OrderedDict[tuple, Any]" = OrderedDict()
#: in-process memo sizes (runs are small; a recording holds every hidden state of the analysis set)
_MAX_RUNS, _MAX_RECORDINGS = 32, 3


def _memo(store: OrderedDict, key, make, size: int):
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = store[key] = make()
    while len(store) > size:
        store.popitem(last=False)
    return value


def run_of(w: World, spec: RunSpec, progress: bool = False):
    """The trained run of ``spec`` on the base world ``w`` (its arm's world: :func:`world_for`); cached on disk by
    :func:`wmnb.training.train`, memoised in-process (the last few)."""
    ww = world_for(w, spec.arm, progress)
    return _memo(_RUNS, (id(ww.stimuli), ww.features.key, ww.profile, spec),
                 lambda: trained_run(ww, progress=progress, **spec.train_kwargs()), _MAX_RUNS)


def recording(w: World, run, split: str = "train", n_per_condition: Optional[int] = None,
              seed: int = ANALYSIS_SEED):
    """Hidden states of ``run`` on a fixed analysis set drawn from ``split`` (sequences per condition by
    profile: :data:`wmnb.config.ANALYSIS_SEQUENCES`); memoised in-process (the last few)."""
    n = ANALYSIS_SEQUENCES[w.profile] if n_per_condition is None else check_int(
        "n_per_condition", n_per_condition, low=1)
    return _memo(_RECORDINGS, (id(w.stimuli), w.profile, run.key, split, n, int(seed)),
                 lambda: record(run, w.stimuli, w.features, split=split, n_per_condition=n, seed=seed),
                 _MAX_RECORDINGS)


class RunSet:
    """An ordered set of training runs on one base stimulus world: what an experiment reads.

    ``specs`` are :class:`wmnb.runs.RunSpec` (duplicates dropped, order kept). An experiment iterates over the
    specs, fetches each run (:meth:`run`) and its analysis recording (:meth:`recording`), each on the run's own
    world (:meth:`world_of`: the base world changed by the run's arm).
    """

    def __init__(self, world: World, specs: Iterable[RunSpec]):
        self.world = world
        self.specs = tuple(dict.fromkeys(specs))
        if not self.specs:
            raise ConfigError("a RunSet needs at least one run")
        bad = [s for s in self.specs if not isinstance(s, RunSpec)]
        if bad:
            raise ConfigError(f"RunSet specs must be RunSpec objects; got {type(bad[0]).__name__}")

    @classmethod
    def grid(cls, w: World, scenarios: Sequence[str] = ("MTMF",), cores: Sequence[str] = ("gru",),
             seeds: Optional[Iterable[int]] = None, *, stsf_features: Sequence[str] = ("category",),
             arm: Arm = DEFAULT_ARM, seed_major: bool = False) -> "RunSet":
        """Every (core, seed, scenario[, STSF feature]) run, cores outermost (``seed_major``: seeds outermost);
        ``seeds`` None: the profile's (:func:`wmnb.config.seeds_for`)."""
        seeds = seeds_for(w.profile) if seeds is None else seeds_for(w.profile, seeds=tuple(seeds))
        models = [(s, f) for s in scenarios for f in (stsf_features if s == "STSF" else (None,))]
        if seed_major:
            specs = [RunSpec(s, c, seed, f, arm) for seed in seeds for c in cores for s, f in models]
        else:
            specs = [RunSpec(s, c, seed, f, arm) for c in cores for seed in seeds for s, f in models]
        return cls(w, specs)

    @property
    def profile(self) -> str:
        return self.world.profile

    def __iter__(self) -> Iterator[RunSpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __repr__(self) -> str:
        arms = ", ".join(a.name for a in self.arms)
        return (f"RunSet({len(self)} runs: scenarios {list(self.scenarios)}, cores {list(self.cores)}, seeds "
                f"{list(self.seeds)}, arm {arms}, profile {self.profile})")

    def _values(self, attr: str) -> tuple:
        return tuple(dict.fromkeys(getattr(s, attr) for s in self.specs))

    @property
    def cores(self) -> tuple[str, ...]:
        return self._values("core")

    @property
    def seeds(self) -> tuple[int, ...]:
        return self._values("seed")

    @property
    def scenarios(self) -> tuple[str, ...]:
        return self._values("scenario")

    @property
    def arms(self) -> tuple[Arm, ...]:
        return self._values("arm")

    def one(self, attr: str) -> Any:
        """The value of ``attr`` ("scenario", "core", "arm", ...) shared by every run; ConfigError if they differ
        (an experiment of one model is handed runs of several)."""
        vals = self._values(attr)
        if len(vals) != 1:
            shown = [getattr(v, "name", v) for v in vals]
            raise ConfigError(f"these runs have several values of {attr}: {shown}; this experiment reads runs of "
                              f"one {attr} (select them with RunSet.where({attr}=...))")
        return vals[0]

    def where(self, **conditions) -> "RunSet":
        """The runs whose attributes equal the given values (a tuple or list: one of them), in order."""
        def ok(spec):
            return all(getattr(spec, k) in (v if isinstance(v, (tuple, list, set)) else (v,))
                       for k, v in conditions.items())
        return RunSet(self.world, [s for s in self.specs if ok(s)])

    def world_of(self, spec: RunSpec) -> World:
        """The world ``spec``'s run is trained and recorded on (:func:`world_for`)."""
        return world_for(self.world, spec.arm)

    def run(self, spec: RunSpec, progress: bool = False):
        """The trained run of ``spec`` (:func:`run_of`)."""
        return run_of(self.world, spec, progress)

    def recording(self, spec: RunSpec, split: str = "train", n_per_condition: Optional[int] = None,
                  seed: Optional[int] = None, progress: bool = False):
        """The analysis recording of ``spec``'s run on its world (:func:`recording`; ``seed`` None:
        :data:`wmnb.config.ANALYSIS_SEED`)."""
        return recording(self.world_of(spec), self.run(spec, progress), split, n_per_condition,
                         ANALYSIS_SEED if seed is None else int(seed))

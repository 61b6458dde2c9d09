"""One validation layer for the parameters of every entry point: chapters, the CLI and the API.

A chapter's first code cell, a CLI command and :func:`wmnb.pipeline.world` all call :func:`check` with the
parameters they were given, *before* any stimulus rendering, CNN feature or training work:

>>> from wmnb import params
>>> P = params.check(profile="smoke", source="procedural", seeds=[0, 1], cores=["gru"], scenarios=["MTMF"])

Every known parameter name has one rule (:data:`KNOWN`), and cross-parameter rules are checked with them
(a ShapeNet source needs an existing folder, a sequence length must hold the largest N of its tasks, a
scenario/core/readout combination must make a valid training config, K must fit the Debian catalogue).
Any violation raises :class:`wmnb.errors.ConfigError` naming the parameter, the value and what is allowed
(:class:`wmnb.errors.AssetError` for a missing weight file or too few ShapeNet models). An unknown parameter
name is an error too, so a typo never passes silently.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Mapping, Optional

from .errors import ConfigError, check_choice, check_int

__all__ = ["check", "KNOWN", "PROFILES", "CORE_NAMES"]

PROFILES = ("smoke", "quick", "paper")
#: recurrent cores (the chapters comparing all three also accept "all" via ``choices``)
CORE_NAMES = ("rnn", "gru", "lstm")


# ---------------------------------------------------------------------------------------------------------
# single-parameter rules: each returns the normalised value or raises ConfigError
# ---------------------------------------------------------------------------------------------------------
def _scenarios() -> tuple:
    from .tasks import SCENARIOS
    return tuple(SCENARIOS)


def _features() -> tuple:
    from .tasks import FEATURES
    return tuple(FEATURES)


def _readouts() -> tuple:
    from .models import READOUTS
    return tuple(sorted(READOUTS))


def _sources() -> tuple:
    from .stimuli.stimulus_set import SOURCES
    return tuple(SOURCES)


def _choice(allowed: Callable[[], Iterable]) -> Callable:
    return lambda name, v, choices: check_choice(name, v, choices.get(name, allowed()))


def _optional(rule: Callable) -> Callable:
    return lambda name, v, choices: None if v is None else rule(name, v, choices)


def _int(low: Optional[int] = None, high: Optional[int] = None) -> Callable:
    return lambda name, v, choices: check_int(name, v, low=low, high=high)


def _bool(name: str, v: Any, choices) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{name}={v!r} must be True or False")
    return v


def _list_of(allowed: Callable[[], Iterable]) -> Callable:
    """A non-empty list (or tuple) of distinct allowed values, returned as a tuple."""
    def rule(name: str, v: Any, choices) -> tuple:
        ok = list(choices.get(name, allowed()))
        if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
            raise ConfigError(f"{name}={v!r} must be a list of values from {ok}, e.g. [{ok[0]!r}]")
        if not v:
            raise ConfigError(f"{name}={v!r} is empty; give at least one of {ok}")
        for item in v:
            check_choice(name, item, ok)
        _distinct(name, v)
        return tuple(v)
    return rule


def _distinct(name: str, v) -> None:
    if len(set(v)) != len(v):
        raise ConfigError(f"{name}={list(v)!r} lists a value twice; every value must be distinct")


def _seeds(name: str, v: Any, choices) -> Optional[tuple]:
    """None (the profile's seeds) or a non-empty list of distinct integers >= 0."""
    if v is None:
        return None
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple, range)):
        raise ConfigError(f"{name}={v!r} must be None or a list of integers >= 0, e.g. [0, 1, 2]")
    if len(v) == 0:
        raise ConfigError(f"{name}={v!r} is empty; give at least one seed (an integer >= 0) or None")
    out = tuple(check_int(name, s, low=0) for s in v)
    _distinct(name, out)
    return out


def _backbone(name: str, v: Any, choices) -> str:
    from .perception import check_backbone, registered_backbones

    if not isinstance(v, str):
        raise ConfigError(f"{name}={v!r} is not allowed; choose one of {registered_backbones()}")
    check_backbone(v)  # ConfigError naming the allowed ones; AssetError when its weights are missing
    return v


def _backbones(name: str, v: Any, choices) -> tuple:
    from .perception import registered_backbones

    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)) or not v:
        raise ConfigError(f"{name}={v!r} must be a non-empty list of names from {registered_backbones()}")
    for b in v:
        _backbone(name, b, choices)
    return tuple(dict.fromkeys(v))


def _device(name: str, v: Any, choices) -> Optional[str]:
    if v is None:
        return None
    if not isinstance(v, str) or not (v in ("auto", "cpu") or v.startswith(("cuda", "mps"))):
        raise ConfigError(f"{name}={v!r} is not allowed; choose 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return v


def _path(name: str, v: Any, choices) -> Optional[str]:
    if v is None:
        return None
    if not isinstance(v, (str, os.PathLike)) or str(v).strip() == "":
        raise ConfigError(f"{name}={v!r} must be a folder path or None")
    return str(v)


def _source(name: str, v: Any, choices):
    from .stimuli.stimulus_set import SourceSettings

    if isinstance(v, SourceSettings):
        return v
    return check_choice(name, v, choices.get(name, _sources()))


#: every parameter name a chapter, command or API call may validate, with its rule
KNOWN: dict[str, Callable[[str, Any, Mapping], Any]] = {
    # world
    "profile": _choice(lambda: PROFILES),
    "source": _source,
    "shapenet_root": _path,
    "identities_per_category": _optional(_int(low=2)),
    "image_size": _int(low=32, high=1024),
    "seed": _int(low=0),
    "backbone": _backbone,
    "backbones": _backbones,
    "device": _device,
    "cache_dir": _path,
    # training
    "scenario": _choice(_scenarios),
    "scenarios": _list_of(_scenarios),
    "feature": _optional(_choice(_features)),
    "stsf_features": _optional(_list_of(_features)),
    "core": _choice(lambda: CORE_NAMES),
    "cores": _list_of(lambda: CORE_NAMES),
    "dynamics_core": _choice(lambda: CORE_NAMES),
    "dynamics_cores": _optional(_list_of(lambda: CORE_NAMES)),
    "readout": _choice(_readouts),
    "attention": _choice(lambda: ("none", "task", "dual")),
    "arms": _list_of(lambda: __import__("wmnb.attention", fromlist=["ARMS"]).ARMS),  # chapter 11's readouts
    "gate_readout": _choice(lambda: __import__("wmnb.attention", fromlist=["GATE_READOUTS"]).GATE_READOUTS),
    "hidden_size": _optional(_int(low=1)),
    "seq_len": _int(low=2),
    "train_seed": _int(low=0),
    "seeds": _seeds,
    "n_seeds": _optional(_int(low=1)),
    # analysis sizes and switches
    "n_per_condition": _int(low=1),
    "n_null": _optional(_int(low=10)),  # fewer shuffled-label draws leave the null's spread unknown
    "k": _int(low=2),  # principal components every compared space is reduced to (orthogonalization)
    "by_n": _bool,
    "by_feature": _bool,
    "compare_avgpool": _bool,
    # the claims page
    "only": lambda name, v, choices: __import__("wmnb.claims", fromlist=["check_only"]).check_only(v),
}


# ---------------------------------------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------------------------------------
def check(*, choices: Optional[Mapping[str, Iterable]] = None, **params: Any) -> dict[str, Any]:
    """Validate every given parameter and the rules between them, before any work.

    Parameters
    ----------
    choices : mapping of parameter name -> allowed values, optional
        Replaces the allowed values of a choice parameter for this caller, e.g. a chapter that also
        accepts ``core="all"`` passes ``choices={"core": ("rnn", "gru", "lstm", "all")}``, one that needs
        several tasks ``choices={"scenario": ("STMF", "MTMF")}``.
    **params
        Any subset of the names in :data:`KNOWN` (``profile``, ``source``, ``shapenet_root``,
        ``identities_per_category``, ``image_size``, ``seed``, ``backbone``, ``backbones``, ``device``,
        ``cache_dir``, ``scenario``, ``scenarios``, ``feature``, ``stsf_features``, ``core``, ``cores``,
        ``dynamics_core``, ``dynamics_cores``, ``readout``, ``attention``, ``arms``, ``gate_readout``, ``hidden_size``,
        ``seq_len``, ``train_seed``,
        ``seeds``, ``n_seeds``, ``n_per_condition``, ``n_null``, ``k``, ``by_n``, ``by_feature``,
        ``compare_avgpool``, ``only``).

    Returns
    -------
    dict
        The given parameters, normalised (lists as tuples, ``source`` as given), plus ``"sources"``: the
        :class:`wmnb.stimuli.SourceSettings` when ``source`` was given.

    Raises
    ------
    ConfigError
        Naming the parameter, its value and what is allowed; also for an unknown parameter name.
    AssetError
        A backbone's weight file is missing, or a ShapeNet folder holds too few models.
    """
    choices = dict(choices or {})
    unknown = sorted(set(params) - set(KNOWN)) + sorted(set(choices) - set(KNOWN))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r}={params.get(unknown[0])!r}; known parameters: "
                          f"{sorted(KNOWN)}")
    out = {name: KNOWN[name](name, value, choices) for name, value in params.items()}
    _check_world(out)
    _check_training(out)
    return out


def _check_world(p: dict) -> None:
    """Source settings and their folder; the stimulus config (K against the Debian catalogue, sizes)."""
    if "source" not in p and "shapenet_root" not in p:
        return
    from .pipeline import PROFILE_WORLD
    from .stimuli.stimulus_set import SourceSettings, StimulusConfig

    settings = SourceSettings.of(p.get("source", "debian"), p.get("shapenet_root"))
    k = p.get("identities_per_category")
    if k is None:
        k = PROFILE_WORLD[p.get("profile", "quick")]["identities_per_category"]
    settings.check_paths(k)
    kw = {name: p[name] for name in ("image_size", "seed") if name in p}
    StimulusConfig(identities_per_category=k, **settings.stimulus_kwargs(), **kw)
    p["sources"] = settings


def _check_training(p: dict) -> None:
    """Every (scenario, core) the parameters name must make a valid training config (combinations of
    readout/attention, STSF feature, seq_len long enough for the largest N)."""
    names = ("scenario", "scenarios", "feature", "core", "cores", "readout", "attention", "hidden_size",
             "seq_len")
    if not any(n in p for n in names):
        return
    from .pipeline import train_config

    scenarios = p.get("scenarios") or (p.get("scenario", "MTMF"),)
    cores = [c for c in (p.get("cores") or (p.get("core", "gru"),)) if c in CORE_NAMES] or ["gru"]
    kw = {n: p[n] for n in ("readout", "attention", "hidden_size", "seq_len") if n in p}
    for scenario in scenarios:
        if scenario not in _scenarios():  # a chapter-specific choice (choices=...); nothing to build
            continue
        features = p.get("stsf_features") if scenario == "STSF" and p.get("stsf_features") \
            else (p.get("feature"),)
        for feature in features:
            for core in cores:
                train_config(scenario, core, feature=feature, profile=p.get("profile", "quick"), **kw)

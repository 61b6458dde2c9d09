"""The parameter engine: small rules, and one function that checks a set of values against them.

Each module declares the parameters it owns next to itself, as a mapping ``name -> rule`` (the way
scikit-learn's estimators declare ``_parameter_constraints``):

>>> from wmnb import params
>>> PARAMETERS = {"k": params.Int(low=2), "by_n": params.Bool(), "cores": params.ListOf(("a", "b"))}
>>> params.check(PARAMETERS, {"k": 64, "cores": ["a"]})
{'k': 64, 'cores': ('a',)}

:func:`check` applies each value's rule and returns the normalised values; an unknown name, or a value its rule
refuses, raises :class:`wmnb.errors.ConfigError` naming the parameter, the value and what is allowed. The
entry points (chapters, the command line, :func:`wmnb.pipeline.world`) merge the declarations of the modules
they call (:mod:`wmnb.checks`). This module is a leaf: it imports only :mod:`wmnb.errors` and
:mod:`wmnb.config`.
"""
from __future__ import annotations

import abc
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

from .config import check_seeds
from .errors import ConfigError, check_choice, check_device, check_float, check_int

__all__ = ["Rule", "Choice", "ListOf", "Int", "Float", "Bool", "Maybe", "Seeds", "Path", "Device", "Custom", "merge",
           "check"]


class Rule(abc.ABC):
    """A parameter's rule: ``rule(name, value, allowed=None)`` returns the normalised value or raises
    ConfigError. ``allowed`` replaces the allowed values of a choice rule for one caller (else None)."""

    @abc.abstractmethod
    def __call__(self, name: str, value: Any, allowed: Optional[Iterable] = None) -> Any:
        """The normalised value, or ConfigError naming ``name``, ``value`` and what is allowed."""

    def _no_override(self, name: str, allowed) -> None:
        if allowed is not None:
            raise ConfigError(f"choices={{{name!r}: ...}}: parameter {name!r} is not a choice, so its allowed "
                              f"values cannot be replaced")


def _values(allowed) -> list:
    return list(allowed() if callable(allowed) else allowed)


@dataclass(frozen=True)
class Choice(Rule):
    """One of ``allowed`` (a sequence, or a function returning one)."""

    allowed: Any

    def __call__(self, name, value, allowed=None):
        return check_choice(name, value, _values(self.allowed if allowed is None else allowed))


@dataclass(frozen=True)
class ListOf(Rule):
    """A non-empty list or tuple of distinct values from ``allowed``, returned as a tuple."""

    allowed: Any

    def __call__(self, name, value, allowed=None):
        ok = _values(self.allowed if allowed is None else allowed)
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}={value!r} must be a list of values from {ok}, e.g. [{ok[0]!r}]")
        if not value:
            raise ConfigError(f"{name}={value!r} is empty; give at least one of {ok}")
        for item in value:
            check_choice(name, item, ok)
        if len(set(value)) != len(value):
            raise ConfigError(f"{name}={list(value)!r} lists a value twice; every value must be distinct")
        return tuple(value)


@dataclass(frozen=True)
class Int(Rule):
    """An integer in ``[low, high]``."""

    low: Optional[int] = None
    high: Optional[int] = None

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        return check_int(name, value, low=self.low, high=self.high)


@dataclass(frozen=True)
class Float(Rule):
    """A finite number in ``[low, high]`` (``low_open``: ``(low, high]``)."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        return check_float(name, value, low=self.low, high=self.high, low_open=self.low_open)


@dataclass(frozen=True)
class Bool(Rule):
    """True or False (not 0 or 1)."""

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={value!r} must be True or False")
        return value


@dataclass(frozen=True)
class Maybe(Rule):
    """None, or a value the inner ``rule`` accepts."""

    rule: Rule

    def __call__(self, name, value, allowed=None):
        return None if value is None else self.rule(name, value, allowed)


@dataclass(frozen=True)
class Seeds(Rule):
    """None (the profile's seeds) or a non-empty list of distinct integers >= 0 (:func:`wmnb.config.check_seeds`)."""

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        return check_seeds(name, value)


@dataclass(frozen=True)
class Path(Rule):
    """None or a non-empty folder path, returned as a string."""

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)) or str(value).strip() == "":
            raise ConfigError(f"{name}={value!r} must be a folder path or None")
        return str(value)


@dataclass(frozen=True)
class Device(Rule):
    """None or a torch device name (:func:`wmnb.errors.check_device`)."""

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        return None if value is None else check_device(name, value)


@dataclass(frozen=True)
class Custom(Rule):
    """A rule written as a function ``fn(name, value) -> normalised value`` (raising ConfigError)."""

    fn: Callable[[str, Any], Any]

    def __call__(self, name, value, allowed=None):
        self._no_override(name, allowed)
        return self.fn(name, value)


def merge(*declarations: Mapping[str, Rule]) -> dict[str, Rule]:
    """Several modules' declarations as one; a name two of them declare with different rules is an error (a
    parameter has one rule)."""
    out: dict[str, Rule] = {}
    for decl in declarations:
        for name, rule in decl.items():
            if name in out and out[name] != rule:
                raise ValueError(f"parameter {name!r} is declared twice with different rules: {out[name]!r}, "
                                 f"{rule!r}")
            out[name] = rule
    return out


def check(constraints: Mapping[str, Rule], values: Mapping[str, Any], *,
          choices: Optional[Mapping[str, Iterable]] = None) -> dict[str, Any]:
    """Check every value against its rule; returns the normalised values (lists as tuples).

    Parameters
    ----------
    constraints : parameter name -> :class:`Rule` (a module's declaration, or several merged)
    values : parameter name -> value (any subset of ``constraints``)
    choices : parameter name -> allowed values, replacing those of a :class:`Choice` or :class:`ListOf` rule
        for this caller (e.g. a chapter that also accepts ``core="all"``)

    Raises
    ------
    ConfigError
        An unknown parameter name (in ``values`` or ``choices``), or a value its rule refuses.
    """
    choices = dict(choices or {})
    unknown = sorted(set(values) - set(constraints)) + sorted(set(choices) - set(constraints))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r}={values.get(unknown[0])!r}; known parameters: "
                          f"{sorted(constraints)}")
    return {name: constraints[name](name, value, choices.get(name)) for name, value in values.items()}

"""One place for parameter validation, so every bad input fails fast with the same kind of message.

Every check raises :class:`ConfigError` (a ``ValueError``) naming the parameter, the bad value and what
is allowed, before any long work (rendering, feature extraction, training) starts.
"""
from __future__ import annotations

from typing import Any, Iterable


class ConfigError(ValueError):
    """A parameter has a value that is not allowed. The message names parameter, value and allowed values."""


class AssetError(RuntimeError):
    """A required external asset (mesh package, weight file, data folder) is missing or corrupt."""


class TrainingError(RuntimeError):
    """A training run produced unusable weights (non-finite values); the message names the run folder."""


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; otherwise raise ConfigError naming all three."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed; choose one of {allowed}")
    return value


def check_choices(name: str, values: Any, allowed: Iterable[Any]) -> tuple:
    """``values`` (one value or an iterable of them) as a non-empty tuple whose every item is in ``allowed``;
    otherwise raise ConfigError naming the parameter, the value and what is allowed."""
    allowed = list(allowed)
    out = (values,) if isinstance(values, str) else tuple(values)
    if not out:
        raise ConfigError(f"{name}=() is not allowed; choose from {allowed}")
    for v in out:
        check_choice(name, v, allowed)
    return out


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as int if it is an integer in [low, high]; otherwise raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        hasattr(value, "__index__") and not isinstance(value, float)
    ):
        raise ConfigError(f"{name}={value!r} must be an integer")
    value = int(value)
    if low is not None and value < low or high is not None and value > high:
        raise ConfigError(f"{name}={value!r} is out of range; allowed: {_range_text(low, high)}")
    return value


def check_float(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as float if it is a finite real number inside the given (optionally open) bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name}={value!r} must be a number")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{name}={value!r} must be a finite number")
    bad = (low is not None and (value <= low if low_open else value < low)
           or high is not None and (value >= high if high_open else value > high))
    if bad:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ConfigError(f"{name}={value!r} is out of range; allowed: {lo}{low}, {high}{hi}")
    return value


def check_device(name: str, value: Any) -> str:
    """A torch device name: "auto" (CUDA when present, else the CPU), "cpu", "cuda", "cuda:N" or "mps"."""
    if not isinstance(value, str) or not (value in ("auto", "cpu") or value.startswith(("cuda", "mps"))):
        raise ConfigError(f"{name}={value!r} is not allowed; choose 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return value


def _range_text(low, high) -> str:
    if low is not None and high is not None:
        return f"{low}..{high}"
    if low is not None:
        return f">= {low}"
    return f"<= {high}"

"""Shape checks shared by the analysis modules (private)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, check_int


def check_hidden(hidden, name: str = "hidden") -> np.ndarray:
    """Return ``hidden`` as a float array of shape (B, T, H); raise ConfigError otherwise."""
    h = np.asarray(hidden)
    if h.ndim != 3:
        raise ConfigError(f"{name} must have shape (B, T, H); got {h.shape}")
    if not np.issubdtype(h.dtype, np.floating):
        h = h.astype(np.float64)
    return h


def check_bt(arr, B: int, T: int, name: str) -> np.ndarray:
    """Return ``arr`` as an array of shape (B, T)."""
    a = np.asarray(arr)
    if a.shape != (B, T):
        raise ConfigError(f"{name} must have shape ({B}, {T}); got {a.shape}")
    return a


def check_b(arr, B: int, name: str, allow_none: bool = False):
    """Return ``arr`` as an array of shape (B,) (or None when allowed)."""
    if arr is None:
        if allow_none:
            return None
        raise ConfigError(f"{name} is required (shape ({B},))")
    a = np.asarray(arr).ravel()
    if a.shape != (B,):
        raise ConfigError(f"{name} must have shape ({B},); got {np.asarray(arr).shape}")
    return a


def check_step(step, T: int, name: str = "step") -> int:
    return check_int(name, step, low=0, high=T - 1)


def check_labels(labels, B: int, T: int, properties) -> dict:
    """``labels`` must be a dict property -> (B, T) raw values containing every requested property."""
    if not isinstance(labels, dict):
        raise ConfigError(f"labels must be a dict property -> (B, T) array; got {type(labels).__name__}")
    out = {}
    for p in properties:
        if p not in labels:
            raise ConfigError(f"labels has no entry {p!r}; it has {sorted(labels)}")
        out[p] = check_bt(labels[p], B, T, f"labels[{p!r}]")
    return out

"""Every test session works in a temporary cache root, never in the project's ``.wmnb-cache``.

The Debian mesh packages (``assets``, fetched once by ``make``) are the only thing shared with the project's
cache, read-only through a symlink; stimulus sets, feature banks, runs and tables are built inside the session's
root (``$WMNB_CACHE``, which every wmnb cache and a chapter's kernel read), so a test can neither read a stale
artefact of a build nor leave one behind for it.

The smoke ``world`` and its ``gru`` runs, which the tests of several wmnb.experiments modules share, are built there
by the first module that asks (module-scoped fixtures; later modules read them back from the session's cache).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from wmnb.cache import default_cache_dir


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> Path:
    project = default_cache_dir()
    root = tmp_path_factory.mktemp("wmnb-cache")
    assets = project / "assets"
    if assets.is_dir():
        (root / "assets").symlink_to(assets.resolve(), target_is_directory=True)
    old = os.environ.get("WMNB_CACHE")
    os.environ["WMNB_CACHE"] = str(root)
    yield root
    if old is None:
        os.environ.pop("WMNB_CACHE", None)
    else:
        os.environ["WMNB_CACHE"] = old


@pytest.fixture(scope="module")
def world():
    """The smoke world (Debian stimulus set and feature bank), built once into the session's cache."""
    from wmnb import pipeline

    return pipeline.world(profile="smoke")


@pytest.fixture(scope="module")
def gru(world):
    """The smoke MTMF GRU runs (the profile's seed)."""
    from wmnb import pipeline

    return pipeline.RunSet.grid(world, ("MTMF",), ("gru",))

"""Where the book lives: the repository root, the chapter sources, the executed pages, and the root of the build
being executed (a chapter's artefacts go under it, never under another build's)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BOOK_DIR = ROOT / "book"
EXECUTED_DIR = BOOK_DIR / "_executed"
NBVAL_DIR = ROOT / "tests" / "nbval"
#: environment variable telling a chapter's kernel the root of the build executing it
BUILD_ROOT_ENV = "WMNB_BUILD_ROOT"


def build_root() -> Path:
    """The root of the build being executed: ``$WMNB_BUILD_ROOT`` if set (the book's executor sets it for
    every chapter), else the repository (a chapter run by hand)."""
    env = os.environ.get(BUILD_ROOT_ENV)
    return Path(env) if env else ROOT


def artefact_path(name: str) -> Path:
    """Where a chapter writes the artefact ``name`` (e.g. ``"claims.json"``): ``<build root>/_build/<name>``."""
    return build_root() / "_build" / name

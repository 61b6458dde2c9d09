"""The first code cell of every chapter, as one call: check the parameters, style the output, build the world.

>>> from wmnb.book import setup
>>> C = setup(world=True, profile=profile, source=source, shapenet_root=shapenet_root, scenario=scenario,
...           core=core, n_seeds=n_seeds, choices={"core": ALL_CORES})
>>> runs = C.runs(cross_task.needs)      # the chapter's RunSet: the same runs the sweep plan lists

:func:`setup` checks every parameter with :func:`wmnb.checks.check` before any rendering, CNN or training work
(a bad value raises ConfigError naming it), applies the book's figure style and table format, shows the smoke
note at the smoke profile, and builds the stimulus world when the chapter needs one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

import pandas as pd

from .. import checks, pipeline
from ..config import CORES, seeds_for
from ..figures import style
from . import report

__all__ = ["ALL_CORES", "Chapter", "setup"]

#: the ``choices`` of a chapter whose ``core`` parameter also takes "all" (every core, compared)
ALL_CORES = (*CORES, "all")


@dataclass
class Chapter:
    """What a chapter's first cell knows: its checked parameters ``P``, the profile, its seeds and its world."""

    P: dict
    profile: str
    seeds: tuple[int, ...]
    world: Optional[pipeline.World] = None

    @property
    def cores(self) -> tuple[str, ...]:
        """The architectures the parameters name (``core="all"``: the three)."""
        c = self.P.get("cores") or self.P.get("core")
        if c is None:
            return ()
        return CORES if c == "all" else ((c,) if isinstance(c, str) else tuple(c))

    def runs(self, *needs: Callable[[Mapping[str, Any]], list], **extra: Any) -> pipeline.RunSet:
        """The RunSet of the experiments' ``needs`` applied to the chapter's parameters (with ``extra`` ones)."""
        if self.world is None:
            raise ValueError("setup(world=False): this chapter built no stimulus world, so it has no runs")
        p = {**self.P, **extra}
        return pipeline.RunSet(self.world, [spec for fn in needs for spec in fn(p)])


def setup(world: bool = False, *, choices: Optional[Mapping[str, Iterable]] = None, precision: int = 3,
          **parameters: Any) -> Chapter:
    """Check every parameter (:func:`wmnb.checks.check`), style figures and tables, show the smoke note, and
    build the profile's stimulus world when ``world`` is True. Returns a :class:`Chapter`."""
    P = checks.check(choices=choices, **parameters)
    profile = P.get("profile", "quick")
    seeds = seeds_for(profile, P.get("n_seeds"), P.get("seeds"))
    style.use()
    pd.set_option("display.precision", precision)
    report.smoke_banner(profile)
    w = pipeline.world(source=P["sources"], profile=profile) if world else None
    return Chapter(P, profile, seeds, w)

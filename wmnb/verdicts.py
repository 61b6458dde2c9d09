"""The claims vocabulary: one set of verdicts and the few rules every claim is decided by.

A verdict is computed from our numbers, never written by hand:

``"holds"``          the effect's interval lies on the paper's side of the decision threshold, controls pass;
``"does not hold"``  the interval lies on the other side (or the effect is absent where a control shows the
                     test could have found it);
``"mixed"``          the claim's parts disagree (some hold, some do not);
``"inconclusive"``   the interval straddles the threshold (underpowered), a control failed, or the compared
                     models are not comparable. Saying so is a result.

Each rule is a pure function tested on planted numbers for every verdict it can return
(``tests/test_verdicts.py``). Claim records carry the per-seed values behind the verdict
(:func:`per_seed_values`) and the held-out protocol of the number (``"image-disjoint"`` or
``"paper-style (images may repeat)"``).
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from .errors import ConfigError, check_choice

__all__ = ["VERDICTS", "HOLDS", "NOT", "MIXED", "INCONCLUSIVE", "interval_verdict", "combine",
           "check_verdict", "per_seed_values"]

HOLDS, NOT, MIXED, INCONCLUSIVE = "holds", "does not hold", "mixed", "inconclusive"
VERDICTS = (HOLDS, NOT, MIXED, INCONCLUSIVE)


def check_verdict(verdict: str) -> str:
    """``verdict`` if it is in the vocabulary, else a ConfigError naming the allowed values."""
    return check_choice("verdict", verdict, VERDICTS)


def interval_verdict(lo: float, hi: float, threshold: float = 0.0, *, direction: str = "above",
                     controls_pass: bool = True, comparable: bool = True) -> str:
    """Verdict of an effect whose confidence interval is ``[lo, hi]`` against a decision ``threshold``.

    ``direction="above"``: the claim says the effect exceeds ``threshold``; "holds" when ``lo > threshold``,
    "does not hold" when ``hi < threshold``, "inconclusive" when the interval straddles it (or is NaN: too
    few seeds). ``direction="below"`` mirrors it. A failed control or non-comparable models make it
    "inconclusive" whatever the interval says.
    """
    check_choice("direction", direction, ("above", "below"))
    if not (controls_pass and comparable):
        return INCONCLUSIVE
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return INCONCLUSIVE
    if direction == "below":
        lo, hi, threshold = -hi, -lo, -threshold
    if lo > threshold:
        return HOLDS
    if hi < threshold:
        return NOT
    return INCONCLUSIVE


def combine(verdicts: Iterable[str]) -> str:
    """One verdict from the verdicts of a claim's parts.

    All the same -> that verdict; both "holds" and "does not hold" among them -> "mixed"; otherwise (some
    part inconclusive, none contradicting) -> "inconclusive"; a "mixed" part keeps the whole "mixed".
    """
    vs = [check_verdict(v) for v in verdicts]
    if not vs:
        raise ConfigError("combine() needs at least one verdict")
    if len(set(vs)) == 1:
        return vs[0]
    if MIXED in vs or (HOLDS in vs and NOT in vs):
        return MIXED
    return INCONCLUSIVE


def per_seed_values(seeds: Sequence[int], values: Sequence[float], *, label: Optional[Sequence[str]] = None
                    ) -> list[dict]:
    """The per-seed numbers behind a verdict, as records for the claims page (``seed``, ``value``[, ``model``])."""
    seeds, values = list(seeds), [float(v) for v in values]
    if len(seeds) != len(values):
        raise ConfigError(f"{len(seeds)} seeds but {len(values)} values")
    out = [dict(seed=int(s), value=v) for s, v in zip(seeds, values)]
    if label is not None:
        for r, m in zip(out, label):
            r["model"] = str(m)
    return out

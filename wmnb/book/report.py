"""What the chapters print around their numbers: interval text, the smoke-profile note, verdict badges, a claim
as Markdown, its per-seed values, and the "paper vs ours" table of claim records.

One wording for the whole book, so a number reads the same in every chapter: ``0.812 [0.770, 0.851]`` is a
value with its 95 % t interval across seeds; a value without an interval says why. Pure functions of numbers
and claim records (``wmnb.experiments`` claim dicts: ``claim, statement, value, ci_low, ci_high, paper,
verdict, details, protocol, controls``), except :func:`smoke_banner`, which displays.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

__all__ = ["VERDICT_MARK", "SMOKE_NOTE", "fmt", "interval", "seed_interval", "smoke_suffix", "smoke_banner",
           "verdict_badge", "claim_markdown", "markdown_table", "claim_section", "per_seed_table", "paper_vs_ours",
           "claims_table", "verdict_styler", "core_table"]

#: a verdict with its badge, for Markdown
VERDICT_MARK = {"holds": "✅ holds", "does not hold": "❌ does not hold", "mixed": "⚠️ mixed",
                "inconclusive": "❔ inconclusive"}
#: the visible note of a chapter executed at the smoke profile
SMOKE_NOTE = ("**Smoke profile: tiny sizes (and, where there are networks, barely trained ones). These numbers "
              "test the code path only; they are never a result.**")
#: what a value without an interval says
NO_INTERVAL = "(no interval: fewer than two seeds)"


def _finite(x) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def fmt(x, nd: int = 3, pct: bool = False) -> str:
    """``0.812`` (``nd`` decimals; ``pct``: ``81.2 %`` with ``nd - 2`` decimals), ``"n/a"`` when missing/NaN."""
    if not _finite(x):
        return "n/a"
    return f"{100 * float(x):.{max(nd - 2, 0)}f} %" if pct else f"{float(x):.{nd}f}"


def interval(value, low, high, *, nd: int = 3, pct: bool = False, missing: str = NO_INTERVAL) -> str:
    """``"0.812 [0.770, 0.851]"``: a value and its interval; ``"0.812 (no interval: ...)"`` when the interval is
    NaN (one seed; ``missing=""`` drops the remark), ``"n/a"`` when the value is."""
    if not _finite(value):
        return "n/a"
    if _finite(low) and _finite(high):
        return f"{fmt(value, nd, pct)} [{fmt(low, nd, pct)}, {fmt(high, nd, pct)}]"
    return f"{fmt(value, nd, pct)} {missing}".rstrip()


def seed_interval(values: Iterable[float], *, nd: int = 3, pct: bool = False, level: float = 0.95) -> str:
    """:func:`interval` of the mean of per-seed ``values`` and its t interval
    (:func:`wmnb.analysis.stats.seed_ci`)."""
    from ..analysis.stats import seed_ci

    m, lo, hi = seed_ci(np.asarray(list(values), dtype=float), level)
    return interval(m, lo, hi, nd=nd, pct=pct)


def smoke_suffix(profile: str) -> str:
    """The end of a sentence naming the profile: ``"."``, or at the smoke profile a remark that the numbers are
    not results."""
    return " (smoke profile: tiny models, the numbers are not results)." if profile == "smoke" else "."


def smoke_banner(profile: str) -> None:
    """Display :data:`SMOKE_NOTE` (Markdown) when ``profile`` is ``"smoke"``; nothing otherwise."""
    if profile == "smoke":
        from IPython.display import Markdown, display

        display(Markdown(SMOKE_NOTE))


def verdict_badge(verdict: str) -> str:
    """``"✅ holds"`` etc. (:data:`VERDICT_MARK`); an unknown verdict as is."""
    return VERDICT_MARK.get(verdict, verdict)


def claim_markdown(claim: dict, nd: int = 3, *, protocol: bool = False, controls: bool = False,
                   rule: bool = False) -> str:
    """One Markdown paragraph for a claim record: name, verdict badge, statement, our value with its interval,
    the paper's; optionally its protocol, controls and rule (from ``details["rule"]``)."""
    d = claim.get("details", {}) or {}
    name = d.get("value_name", "value")
    value = interval(claim["value"], claim.get("ci_low"), claim.get("ci_high"), nd=nd)
    text = (f"**{claim['claim']} — {verdict_badge(claim['verdict'])}.** {claim['statement']} "
            f"Here: {name} = {value}. Paper: {claim['paper']}.")
    if protocol and claim.get("protocol"):
        text += f" Protocol: {claim['protocol']}."
    if controls and claim.get("controls"):
        text += f" Controls: {str(claim['controls']).rstrip('.')}."
    if rule and d.get("rule"):
        text += f" Rule: {str(d['rule']).rstrip('.')}."
    return text


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A Markdown (pipe) table: the ``header`` cells, the ``|---|`` rule, then one line per row of ``rows``
    (each cell as ``str``; a cell may carry Markdown such as ``**bold**``). No trailing newline."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def claim_section(claim: dict, *, heading: Optional[str] = None, bullets: Sequence[str] = (),
                  table: Optional[str] = None, after: str = "", nd: int = 3, **claim_options) -> str:
    """A claim's section of a chapter, from its record: an optional ``### heading``, the claim's paragraph
    (:func:`claim_markdown`, with ``nd`` and ``claim_options``: protocol, controls, rule), a bullet list
    (``bullets``, one Markdown string each, without the ``* ``), a Markdown table (e.g. :func:`markdown_table`)
    and free text ``after`` (appended as is)."""
    text = (f"### {heading}\n\n" if heading else "") + claim_markdown(claim, nd, **claim_options)
    if not bullets and table is None:
        return text + after
    text += "\n\n" + "".join(f"* {b}\n" for b in bullets)
    if table is not None:
        text += ("\n" if bullets else "") + table
    return text + after


def per_seed_table(claim: dict, nd: int = 3) -> Optional[pd.DataFrame]:
    """The per-seed values behind a claim's interval (``details["per_seed"]``), seeds x models; None when the
    record has none."""
    ps = pd.DataFrame((claim.get("details", {}) or {}).get("per_seed") or [])
    if ps.empty or not {"seed", "value"} <= set(ps.columns):
        return None
    if "model" not in ps:
        ps = ps.assign(model="value")
    return ps.pivot_table(index="seed", columns="model", values="value", aggfunc="first").round(nd)


def paper_vs_ours(record: dict, nd: int = 3) -> dict:
    """One row of the claims dashboard: the finding, the paper's number, ours with its interval, protocol and
    verdict."""
    return {"claim": record["claim"], "finding": record["statement"], "paper": record["paper"],
            "ours (95 % interval)": interval(record["value"], record.get("ci_low"), record.get("ci_high"), nd=nd,
                                             missing=""),
            "protocol": record.get("protocol", ""), "verdict": record["verdict"]}


def claims_table(records: Sequence[dict], nd: int = 3, others: Optional[dict] = None) -> pd.DataFrame:
    """:func:`paper_vs_ours` for every record, one row each. ``others``: column name -> the claim records of
    another arm (e.g. ``{"paper-faithful arm": records}``); each such column shows that arm's verdict and value
    for the same claim id ("" where it has none)."""
    df = pd.DataFrame([paper_vs_ours(r, nd) for r in records])
    for column, recs in (others or {}).items():
        by_id = {r["claim"]: r for r in recs}
        df[column] = [(f"{by_id[c]['verdict']}: " + interval(by_id[c]["value"], by_id[c].get("ci_low"),
                                                            by_id[c].get("ci_high"), nd=nd, missing=""))
                      if c in by_id else "" for c in df["claim"]]
    return df


def verdict_styler(df: pd.DataFrame, column: str = "verdict", nowrap: Sequence[str] = ()):
    """A pandas Styler of ``df`` with each verdict cell on its colour (:data:`wmnb.figures.style.VERDICT_COLORS`),
    white bold text, cells left/top aligned, the ``nowrap`` columns on one line, no index."""
    from ..figures.style import VERDICT_COLORS

    st = (df.style.hide(axis="index")
          .map(lambda v: f"color: white; background-color: {VERDICT_COLORS.get(v, '#999999')}; font-weight: bold",
               subset=[column])
          .set_properties(**{"text-align": "left", "vertical-align": "top"}))
    cols = [c for c in dict.fromkeys((*nowrap, column)) if c in df.columns]  # a column named twice counts once
    return st.set_properties(subset=cols, **{"white-space": "nowrap"})


def core_table(claims: Sequence[dict], nd: int = 3) -> pd.DataFrame:
    """One row per claim record (its ``core``, or ``details["core"]``): claim, core, verdict, value, interval,
    controls."""
    rows = []
    for c in claims:
        lo, hi = c.get("ci_low"), c.get("ci_high")
        rows.append(dict(claim=c["claim"], core=c.get("core", c.get("details", {}).get("core", "")),
                         verdict=c["verdict"], value=round(c["value"], nd),
                         ci=(f"[{fmt(lo, nd)}, {fmt(hi, nd)}]" if _finite(lo) and _finite(hi) else "—"),
                         controls=c.get("controls", "")))
    return pd.DataFrame(rows)

"""Why our verdicts differ from the paper's (chapter 15): a paper-faithful arm and one factor at a time.

Our quick models differ from the paper's in a few named ways at once (:func:`factors`): the readout of the CNN
map, the number of identities per category, the optimiser's schedule and batch, and the backbone. Each
:class:`Factor` holds the paper's setting in words and the change to the book's default that comes closest to it
here (an :class:`wmnb.runs.Arm`'s fields). Two kinds of arm follow:

* the **paper-faithful arm** (:func:`paper_arm`): every factor the machine allows set to the paper's value at
  once (the backbone stays EfficientNet-Lite0: no ResNet50 ImageNet weights ship offline);
* one **factor arm** per factor (:func:`factor_arm`): the book's default with that factor alone changed
  (the backbone's is the untrained ResNet50 control, the paper's architecture without ImageNet training).

Every arm's claims are the book's own claims (:func:`wmnb.claims.collect` with ``arm=...``): the same seeds, the
same analyses, caches and rules. :func:`verdict_table` lays them side by side (rows = arms, one row per claim)
and :func:`flips` names which factor moves which verdict away from the default's; :func:`at_margin` marks a
verdict decided by an interval that ends within a small band of its rule's threshold, the verdicts that moved
between builds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .. import claims, params
from ..config import ABLATION, CORES, WORLD, sizes
from ..errors import ConfigError
from ..runs import DEFAULT_ARM, Arm, RunSpec
from ..verdicts import HOLDS, INCONCLUSIVE, MIXED, NOT
from .core import seeds_of

__all__ = ["Factor", "FACTOR_NAMES", "PAPER", "factors", "paper_arm", "factor_arm", "arms", "check_factors",
           "paper_needs", "paper_records", "needs", "collect", "describe", "settings_table", "accuracy_table",
           "verdict_table", "flips", "reversals", "at_margin", "flips_markdown", "learned_markdown", "scope_markdown",
           "wide_table", "MARGIN_BAND", "LEARNED_MARGIN", "PARAMETERS"]

#: the factors of the paper-vs-default table, in the chapter's order
FACTOR_NAMES = ("readout", "identities", "optimiser", "backbone")
#: the paper-faithful arm's name (claim records of its runs carry ``arm == PAPER``)
PAPER = "paper-faithful"


@dataclass(frozen=True)
class Factor:
    """One way our models differ from the paper's.

    ``paper``: the paper's setting in words; ``here``: what the arms use for it on this machine; ``model``,
    ``train``, ``world``: the :class:`wmnb.runs.Arm` fields that make the change; ``in_paper_arm``: whether the
    paper-faithful arm takes it (False where the change is a control, not the paper's value)."""

    name: str
    paper: str
    here: str
    model: tuple = ()
    train: tuple = ()
    world: tuple = ()
    in_paper_arm: bool = True


def factors(profile: str) -> tuple[Factor, ...]:
    """The :data:`FACTOR_NAMES` factors at ``profile`` (their sizes come from :data:`wmnb.config.ABLATION`)."""
    a = sizes(ABLATION, profile)
    opt, k = a["optimiser"], a["identities_per_category"]
    return (
        Factor("readout", "trainable 1x1 conv of the whole map, then the global average; embedding = hidden size, "
                          "not normalised",
               "the avgpool readout on all channels of the map, embedding = hidden size, no layer norm",
               model=(("embedding_dim", None), ("embedding_norm", False), ("pca_channels", None),
                      ("readout", "avgpool"))),
        Factor("identities", "2 identities per category (ShapeNet)",
               f"K = {k}: {k - 1} training identities per category (the paper's 2 at K = 3) and 1 held out",
               world=(("identities_per_category", k),)),
        Factor("optimiser", "AdamW lr 3e-5, batch 256, step decay x0.1, a long schedule",
               f"AdamW lr {opt['lr']:g}, batch {opt['batch_size']}, {opt['steps']} steps, x{opt['gamma']:g} at "
               f"steps {list(opt['milestones'])}",
               train=tuple(sorted((n, tuple(v) if isinstance(v, list) else v) for n, v in opt.items()))),
        Factor("backbone", "ResNet50 with ImageNet weights (2048 channels)",
               "untrained ResNet50 (2048 channels), the only ResNet50 offline: a control, not the paper's value",
               world=(("backbone", "random"),), in_paper_arm=False),
    )


def check_factors(value: Any, name: str = "factors") -> tuple[str, ...]:
    """None (all of :data:`FACTOR_NAMES`) or a non-empty list of them, without repeats; ConfigError otherwise."""
    if value is None:
        return FACTOR_NAMES
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{name}={value!r} must be None or a non-empty list from {list(FACTOR_NAMES)}")
    bad = [v for v in value if v not in FACTOR_NAMES]
    if bad or len(set(value)) != len(value):
        raise ConfigError(f"{name}={list(value)!r}: {bad[0] if bad else 'a repeat'} is not allowed; choose distinct "
                          f"names from {list(FACTOR_NAMES)}")
    return tuple(value)


def _arm(name: str, label: str, parts: Sequence[Factor]) -> Arm:
    kw: dict[str, dict] = {"model": {}, "train": {}, "world": {}}
    for f in parts:
        for field in kw:
            kw[field].update(dict(getattr(f, field)))
    return Arm.of(name, label=label, **kw)


def paper_arm(profile: str) -> Arm:
    """Every factor that has the paper's value here, at once (:attr:`Factor.in_paper_arm`)."""
    return _arm(PAPER, "paper-faithful arm", [f for f in factors(profile) if f.in_paper_arm])


def factor_arm(factor: Factor) -> Arm:
    """The book's default with ``factor`` alone changed."""
    return _arm(f"only {factor.name}", f"default, {factor.name} changed", [factor])


def arms(profile: str, names: Optional[Sequence[str]] = None) -> dict[str, Arm]:
    """The chapter's arms by name, in table order: the default, one per factor of ``names``, the paper-faithful."""
    names = check_factors(names)
    out = {DEFAULT_ARM.name: DEFAULT_ARM}
    out.update({a.name: a for f in factors(profile) if f.name in names for a in [factor_arm(f)]})
    out[PAPER] = paper_arm(profile)
    return out


# ---------------------------------------------------------------------------------------------------------
# the runs: the claims page reads the paper-faithful arm; the chapter adds the factor arms on their scope
# ---------------------------------------------------------------------------------------------------------
def paper_needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """The paper-faithful arm's runs of the claims page (the claims' own ``needs`` with that arm), unless the
    page's ``paper_arm`` parameter is False."""
    if not p.get("paper_arm", True):
        return []
    return claims.needs({**p, "arm": paper_arm(p["profile"])})


def paper_records(w, *, only: Optional[Sequence[str]] = None, enabled: bool = True, **kw) -> list[dict]:
    """The paper-faithful arm's claim records of the paper's findings among ``only`` (None: F1-F9), for the
    claims page (``kw``: further arguments of :func:`wmnb.claims.collect`); none when not ``enabled``."""
    selected = [x for x in (only or ["F"]) if x[0] == "F"]
    if not (enabled and selected):
        return []
    return claims.collect(w, only=selected, arm=paper_arm(w.profile), **kw)


def _factor_scope(p: Mapping[str, Any]) -> dict:
    a = sizes(ABLATION, p["profile"])
    cores = tuple(a["factor_cores"])
    seeds = seeds_of(p)
    return dict(profile=p["profile"], cores=cores, dynamics_cores=tuple(c for c in cores if c != "rnn") or cores,
                seeds=seeds[:a["factor_seeds"]] if a["factor_seeds"] else seeds, only=tuple(a["factor_claims"]))


def needs(p: Mapping[str, Any]) -> list[RunSpec]:
    """Chapter 15's runs: the paper-faithful arm's (as the claims page reads them) and, for each factor of
    ``p["factors"]`` and the default, the runs of the factor claims (:data:`wmnb.config.ABLATION`'s
    ``factor_claims`` on ``factor_cores``) at the chapter's first ``factor_seeds`` seeds."""
    out = paper_needs(p)
    scope = _factor_scope(p)
    for arm in arms(p["profile"], p.get("factors")).values():
        out += claims.needs({**scope, "arm": arm, "only": scope["only"]})
    return list(dict.fromkeys(out))


def collect(w, p: Mapping[str, Any], progress: bool = False) -> dict[str, list[dict]]:
    """Claim records per arm name (:func:`arms` order): the factor claims of every arm on the factor scope
    (:func:`_factor_scope`), the default and the paper-faithful arm included, so each row of the table is
    computed on the same cores and seeds."""
    scope = _factor_scope(p)
    order = arms(w.profile, p.get("factors"))
    out = {}
    # the default arm last: in a book build the chapters beside this one cache its tables meanwhile
    for name in [n for n in order if n != DEFAULT_ARM.name] + [DEFAULT_ARM.name]:
        out[name] = claims.collect(w, cores=scope["cores"], dynamics_cores=scope["dynamics_cores"],
                                   seeds=scope["seeds"], only=scope["only"], arm=order[name])
    return {name: out[name] for name in order}


# ---------------------------------------------------------------------------------------------------------
# what each arm trains: its settings (from the resolved configs) and what it learned
# ---------------------------------------------------------------------------------------------------------
def _world_settings(profile: str, arm: Arm) -> dict:
    from ..perception import DEFAULT_BACKBONE

    return {"identities_per_category": WORLD[profile]["identities_per_category"], "backbone": DEFAULT_BACKBONE,
            **dict(arm.world)}


def describe(factor: str, profile: str, arm: Arm, core: str = "gru") -> str:
    """One factor's setting in an arm at ``profile``, read from the arm's resolved training config and world
    (``factor``: one of :data:`FACTOR_NAMES` or ``"hidden"``)."""
    cfg = RunSpec("MTMF", core, 0, arm=arm).config(profile)
    m, world = cfg.model, _world_settings(profile, arm)
    if factor == "readout":
        pca = "all channels" if m.pca_channels is None else f"PCA to {m.pca_channels} channels"
        return (f"{m.readout} ({pca}), embedding {m.embedding_dim}"
                + (", layer-normalised" if m.embedding_norm else ", not normalised"))
    if factor == "identities":
        return f"K = {world['identities_per_category']}"
    if factor == "optimiser":
        return (f"AdamW lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.steps} steps, x{cfg.gamma:g} at "
                f"{list(cfg.milestones)}")
    if factor == "backbone":
        return str(world["backbone"])
    if factor == "hidden":
        return ", ".join(f"{c} {RunSpec('MTMF', c, 0, arm=arm).config(profile).model.hidden_size}" for c in CORES)
    raise ConfigError(f"factor={factor!r} is not allowed; choose from {list(FACTOR_NAMES) + ['hidden']}")


def settings_table(profile: str, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """What differs, computed from the arms' resolved configs: one row per factor (and the hidden sizes) with the
    paper's setting, the book's default, the factor arm's and the paper-faithful arm's."""
    names = check_factors(names)
    paper = paper_arm(profile)
    rows = []
    for f in factors(profile):
        if f.name in names:
            rows.append({"factor": f.name, "paper": f.paper, "book default": describe(f.name, profile, DEFAULT_ARM),
                         "factor arm": describe(f.name, profile, factor_arm(f)),
                         "paper-faithful arm": describe(f.name, profile, paper)})
    rows.append({"factor": "hidden sizes", "paper": "rnn 512, gru 256, lstm 256",
                 "book default": describe("hidden", profile, DEFAULT_ARM), "factor arm": "(no arm: the same)",
                 "paper-faithful arm": describe("hidden", profile, paper)})
    return pd.DataFrame(rows)


def accuracy_table(w, p: Mapping[str, Any], split: str = "novel_angle", progress: bool = False) -> pd.DataFrame:
    """Masked accuracy per task feature of every arm's MTMF runs on the factor scope, at the end of training:
    ``arm, core, feature, accuracy`` (mean over seeds), ``ci_low, ci_high`` (t interval), ``n_seeds``, ``chance``
    (0.5). ``split``: the evaluation pool (novel angles: the images the claims' recordings never trained on)."""
    from ..analysis.stats import seed_ci
    from ..pipeline import RunSet

    scope = _factor_scope(p)
    rows = []
    for name, arm in arms(w.profile, p.get("factors")).items():
        specs = [RunSpec("MTMF", c, s, arm=arm) for c in scope["cores"] for s in scope["seeds"]]
        runs = RunSet(w, specs)
        acc: dict[tuple, list] = {}
        for spec in runs:
            m = runs.run(spec, progress).metrics
            m = m[(m["split"] == split) & (m["feature"] != "all")].groupby("feature")["accuracy"].mean()
            for feature, a in m.items():
                acc.setdefault((spec.core, feature), []).append(float(a))
        for (core, feature), vals in acc.items():
            mean, lo, hi = seed_ci(np.asarray(vals))
            rows.append(dict(arm=name, core=core, feature=feature, accuracy=mean, ci_low=lo, ci_high=hi,
                             n_seeds=len(vals), chance=0.5))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------
# the table: which factor moves which verdict
# ---------------------------------------------------------------------------------------------------------
#: half-width of the band around a rule's threshold inside which an interval's end puts a verdict "at the margin",
#: as a fraction of the interval's width (a verdict whose interval ends this close moved between builds)
MARGIN_BAND = 0.1


def at_margin(record: Mapping[str, Any], threshold: Optional[float] = None, band: float = MARGIN_BAND) -> bool:
    """Whether ``record``'s verdict rests on an interval that ends within ``band`` x (its width) of the rule's
    threshold: the record's own interval or one of its decided parts (``details["per_n"]``, e.g. F5's per-N
    parts). The threshold is ``threshold``, else the one the record states (``details["threshold"]``: F5, F9);
    a record that states none is never marked (its rule compares something other than its headline interval).

    Such a verdict can change with a build's seeds or arithmetic without the effect changing: the chapter marks
    it "at the margin" beside the verdict. A part that is inconclusive or has no interval decides nothing."""
    d = record.get("details") or {}
    t = threshold if threshold is not None else d.get("threshold")
    if t is None or record.get("verdict") not in (HOLDS, NOT, MIXED):
        return False
    parts = [record] + [p for p in (d.get("per_n") or {}).values() if isinstance(p, Mapping)]
    for part in parts:
        lo, hi = part.get("ci_low"), part.get("ci_high")
        if part.get("verdict", record.get("verdict")) not in (HOLDS, NOT) or lo is None or hi is None:
            continue
        lo, hi = float(lo), float(hi)
        if np.isfinite(lo) and np.isfinite(hi) and min(abs(lo - t), abs(hi - t)) <= band * max(hi - lo, 1e-12):
            return True
    return False


def verdict_table(records: Mapping[str, Sequence[Mapping[str, Any]]], reference: str = DEFAULT_ARM.name
                  ) -> pd.DataFrame:
    """One row per (arm, claim): ``arm, claim, verdict, value, ci_low, ci_high, at_margin, reference_verdict,
    changed`` (the verdict differs from the ``reference`` arm's for the same claim; False where the reference
    has no such claim). ``records``: claim records per arm name (:func:`collect`)."""
    if reference not in records:
        raise ConfigError(f"reference={reference!r} is not one of the arms {list(records)}")
    ref = {r["claim"]: r["verdict"] for r in records[reference]}
    rows = []
    for arm, recs in records.items():
        for r in recs:
            rv = ref.get(r["claim"])
            rows.append(dict(arm=arm, claim=r["claim"], verdict=r["verdict"], value=r.get("value"),
                             ci_low=r.get("ci_low"), ci_high=r.get("ci_high"), at_margin=at_margin(r),
                             reference_verdict=rv, changed=rv is not None and rv != r["verdict"]))
    cols = ["arm", "claim", "verdict", "value", "ci_low", "ci_high", "at_margin", "reference_verdict", "changed"]
    return pd.DataFrame(rows, columns=cols)


def flips(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`verdict_table` whose verdict differs from the reference's: ``arm, claim,
    reference_verdict, verdict, at_margin`` (the reference arm itself never appears)."""
    out = table[table.changed].loc[:, ["arm", "claim", "reference_verdict", "verdict", "at_margin"]]
    return out.rename(columns={"reference_verdict": "from", "verdict": "to"}).reset_index(drop=True)


def reversals(table: pd.DataFrame) -> pd.DataFrame:
    """The :func:`flips` that cross the rule's threshold (holds <-> does not hold, or to/from mixed), not those
    that only gain or lose the evidence to decide (to or from inconclusive)."""
    f = flips(table)
    return f[(f["from"] != INCONCLUSIVE) & (f["to"] != INCONCLUSIVE)].reset_index(drop=True)


#: chapter 15's own parameters (:mod:`wmnb.params` rules)
PARAMETERS = {"factors": params.Custom(lambda name, value: check_factors(value, name)),
              "paper_arm": params.Bool()}


def flips_markdown(table: pd.DataFrame, reference: str = DEFAULT_ARM.name) -> str:
    """The chapter's conclusion from :func:`verdict_table`, one bullet per claim: the reference arm's verdict,
    then each arm that changes it (marked *reversal* when it crosses the rule's threshold, *at the margin* when
    the new verdict rests on an interval end next to it), or that no arm does."""
    lines = []
    for claim, g in table.groupby("claim", sort=False):
        ref = g[g.arm == reference]
        if ref.empty:
            continue
        base = ref.verdict.iloc[0]
        moved = []
        for _, r in g[(g.arm != reference) & g.changed].iterrows():
            kind = "reversal" if INCONCLUSIVE not in (base, r.verdict) else "evidence"
            note = "; at the margin" if r.at_margin else ""
            moved.append(f"{r.arm} → *{r.verdict}* ({kind}{note})")
        tail = "; ".join(moved) if moved else "no arm changes it"
        lines.append(f"* **{claim}** (default: *{base}*): {tail}.")
    return "\n".join(lines)


#: an arm "did not learn" a task feature whose mean accuracy is below chance + this (the decodability gate's 0.1)
LEARNED_MARGIN = 0.1


def learned_markdown(acc: pd.DataFrame, margin: float = LEARNED_MARGIN) -> str:
    """Which arms left which task features near chance (mean accuracy below chance + ``margin``), from
    :func:`accuracy_table`; or that every arm learned every feature."""
    low = acc[acc.accuracy < acc.chance + margin]
    if low.empty:
        return (f"Every arm learned every task feature: mean masked accuracy above chance + {margin:g} for each "
                f"core and feature.")
    parts = []
    for (arm, feature), g in low.groupby(["arm", "feature"], sort=False):
        vals = ", ".join(f"{r.core} {r.accuracy:.2f}" for r in g.itertuples())
        parts.append(f"**{arm}**, {feature} tasks ({vals})")
    return (f"Near chance (mean masked accuracy below {0.5 + margin:.2f}, chance 0.5): " + "; ".join(parts)
            + ". Geometry claims about those features in those arms describe networks that did not learn them.")


def scope_markdown(p: Mapping[str, Any], records: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """One sentence on what the verdict table was computed on: arms, cores, seeds and claims."""
    scope = _factor_scope(p)
    ids = list(dict.fromkeys(r["claim"] for recs in records.values() for r in recs))
    return (f"{len(records)} arms × {len(ids)} claims ({', '.join(ids)}), each on the MTMF runs of "
            f"{', '.join(scope['cores'])} (memory dynamics: {', '.join(scope['dynamics_cores'])}) at seeds "
            f"{list(scope['seeds'])}.")


def wide_table(table: pd.DataFrame, nd: int = 3) -> pd.DataFrame:
    """:func:`verdict_table` for reading: ``claim, arm, ours (95 % interval), verdict, at the margin, default``,
    claims in order, arms in order within each."""
    from ..book.report import interval

    t = table.assign(_c=pd.Categorical(table.claim, list(dict.fromkeys(table.claim)), ordered=True))
    t = t.sort_values("_c", kind="stable")
    return pd.DataFrame({"claim": t.claim, "arm": t.arm,
                         "ours (95 % interval)": [interval(v, lo, hi, nd=nd, missing="")
                                                  for v, lo, hi in zip(t.value, t.ci_low, t.ci_high)],
                         "verdict": t.verdict, "at the margin": t.at_margin.map({True: "yes", False: ""}),
                         "default": t.reference_verdict.fillna("")}).reset_index(drop=True)

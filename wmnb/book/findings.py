"""The reader's path, computed when the book is built: what the book found, what changed, how to cite it.

The claims page (``book/12_claims.md``, stage 2) writes ``<build root>/_build/claims.json``. After every page
has executed, :func:`write_pages` turns it into three Markdown files under ``book/_executed/`` that the book's
static pages include, so they never disagree with the build they are part of:

* ``findings.md`` (included by the landing page, ``book/intro.md``): every claim with its verdict, each
  linked to the chapter that presents it (:data:`CLAIMS`), in one screen;
* ``changelog.md`` (included by ``book/changelog.md``): the verdicts of earlier versions
  (``book/verdict_history.json``, committed: one entry per measured version) compared with each other and
  with this build's;
* ``citation.md`` (included by ``book/cite.md``): ``CITATION.cff`` (the book, and the paper it references)
  as BibTeX and as the file itself.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .chapters import CHAPTERS
from .paths import BOOK_DIR, ROOT

#: claim id -> (what it says, in a few words; the chapter source stem that presents it). A claim made per
#: architecture ("F4 (gru)") links to that architecture's page of its chapter, the others to its main page.
CLAIMS: dict[str, tuple[str, str]] = {
    "F1": ("Multi-task networks keep task-irrelevant properties too", "05_task_relevance"),
    "F2": ("Subspaces shared across tasks in vanilla RNNs, task-specific in GRU/LSTM", "06_cross_task"),
    "F3": ("Less orthogonalized than the CNN's perceptual space", "07_orthogonalization"),
    "F4": ("No stable memory slot; partial realignment at executive steps", "08_memory_dynamics"),
    "F5": ("Encoding subspaces shared across stimulus positions", "08_memory_dynamics"),
    "F6": ("Memory transformations are rotations (Procrustes)", "09_procrustes"),
    "F7": ("Chronological memory subspaces (swap tests)", "09_procrustes"),
    "F8": ("Moving a memory along a decoder's normal changes the decision", "10_causal"),
    "F9": ("Novel identities generalise worse than novel angles", "04_behaviour"),
    "A1": ("Task-guided attention adds about 10 points", "11_attention"),
    "A2": ("Attention leaves the representational geometry as it is", "11_attention"),
    "A3": ("Dual attention adds little over task attention", "11_attention"),
    "T1": ("A transition into temporal superposition exists", "13_superposition"),
    "T2": ("The spectral radius drops across the transition", "13_superposition"),
    "T3": ("The N-back networks hold memories without temporal superposition", "13_superposition"),
    "P1": ("Recurrent networks length-generalise on regular tasks", "14_procedural"),
    "P2": ("The Transformer does not", "14_procedural"),
    "P3": ("The machine read out of a recurrent state is the true automaton", "14_procedural"),
}
HISTORY = BOOK_DIR / "verdict_history.json"
CITATION = ROOT / "CITATION.cff"
_ID = re.compile(r"^([FATP][1-9])(?: \((rnn|gru|lstm)\))?$")


def split_id(claim: str) -> tuple[str, str]:
    """``"F4 (gru)"`` -> ``("F4", "gru")``; ``"F1"`` -> ``("F1", "")``; a ValueError names an unknown id."""
    m = _ID.match(str(claim))
    if not m or m.group(1) not in CLAIMS:
        raise ValueError(f"claim={claim!r} is not a known claim id (known: {sorted(CLAIMS)}, "
                         f"optionally with ' (rnn|gru|lstm)')")
    return m.group(1), m.group(2) or ""


def chapter_page(claim: str) -> str:
    """The executed page (name in :data:`~.chapters.CHAPTERS`) that presents ``claim``."""
    base, core = split_id(claim)
    stem = CLAIMS[base][1]
    pages = [r.page for r in CHAPTERS if Path(r.source).stem == stem]
    for want in (f"{stem}__{core}" if core else "", f"{stem}__all", stem):
        if want in pages:
            return want
    raise ValueError(f"claim {claim!r}: no page of chapter {stem!r} in the run list")


def load_claims(root: Path = ROOT) -> dict | None:
    """``<root>/_build/claims.json`` as written by the claims page, or None before it has run: ``claims`` holds the
    default arm's rows, ``arms`` the other arms' by name."""
    path = Path(root) / "_build" / "claims.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError(f"{path}: expected an object with a list 'claims' (wmnb.claims.write_json)")
    # the landing page and the changelog speak of the book's default arm; the other arms' rows (chapter 15's
    # paper-faithful arm) are kept apart, by arm name
    rows = data["claims"]
    data["claims"] = [c for c in rows if c.get("arm", "default") == "default"]
    data["arms"] = {}
    for c in rows:
        if c.get("arm", "default") != "default":
            data["arms"].setdefault(c["arm"], []).append(c)
    return data


def _link(text: str, page: str) -> str:
    return f"{{doc}}`{text} </book/_executed/{page}>`"


def _verdict(v: str) -> str:
    return {"holds": "**holds**", "does not hold": "**does not hold**"}.get(v, f"*{v}*")


def _meta_text(meta: dict) -> str:
    seeds = meta.get("seeds") or []
    if not seeds:
        seed_text = "the profile's seeds"
    elif len(seeds) == 1:
        seed_text = f"seed {seeds[0]}"
    elif len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        seed_text = f"seeds {seeds[0]}–{seeds[-1]}"
    else:
        seed_text = "seeds " + ", ".join(map(str, seeds))
    return f"the `{meta.get('profile', '?')}` profile, {seed_text}"


def findings_markdown(claims: dict | None) -> str:
    """The landing page's summary: counts per verdict, then one row per claim (its parts per architecture in
    one cell), each linked to its chapter, and where the numbers are."""
    head = "## What this book found\n\n"
    if not claims or not claims["claims"]:
        return head + ("The claims page has not been executed in this build yet, so there are no verdicts to "
                       "show; `make book` computes them.\n")
    rows: dict[str, list[dict]] = {}
    for c in claims["claims"]:
        rows.setdefault(split_id(c["claim"])[0], []).append(c)
    counts: dict[str, int] = {}
    for c in claims["claims"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    meta = claims.get("meta") or {}
    smoke = (" *A smoke-profile build (tiny models, for tests): these verdicts are not results.*"
             if meta.get("profile") == "smoke" else "")
    out = [head + f"The paper's findings (F1–F9) and this book's extensions (A, T, P), each decided by a stated "
           f"rule from numbers computed when this book was built ({_meta_text(meta)}): "
           + ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))
           + f" of {len(claims['claims'])}. Numbers, intervals, rules and controls: "
           + _link("the claims page", "12_claims") + "." + smoke + "\n"]
    out += ["", "| | claim | verdict |", "|---|---|---|"]
    for base, parts in rows.items():
        page = chapter_page(base)
        if len(parts) == 1 and not split_id(parts[0]["claim"])[1]:
            verdict = _verdict(parts[0]["verdict"])
        elif len({p["verdict"] for p in parts}) == 1:  # one verdict for every architecture: say it once
            verdict = (f"{_verdict(parts[0]['verdict'])} ("
                       + ", ".join(_link(split_id(p["claim"])[1], chapter_page(p["claim"])) for p in parts) + ")")
        else:
            verdict = " · ".join(f"{_link(split_id(p['claim'])[1] or p['claim'], chapter_page(p['claim']))} "
                                 f"{_verdict(p['verdict'])}" for p in parts)
        out.append(f"| {_link(base, page)} | {CLAIMS[base][0]} | {verdict} |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- changelog
def load_history(path: Path = HISTORY) -> list[dict]:
    """The committed verdicts of earlier versions, oldest first: each entry ``{label, commit, date, profile,
    note, verdicts: {claim: verdict}}``. A malformed file is an error naming the entry and field."""
    from ..verdicts import VERDICTS

    path = Path(path)
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    entries = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected an object with a list 'versions'")
    for i, e in enumerate(entries):
        for key in ("label", "commit", "date", "profile", "verdicts"):
            if key not in e:
                raise ValueError(f"{path}: versions[{i}] has no field {key!r}")
        for claim, v in e["verdicts"].items():
            split_id(claim)
            if v not in VERDICTS:
                raise ValueError(f"{path}: versions[{i}].verdicts[{claim!r}] = {v!r}; expected one of {VERDICTS}")
    return entries


def verdict_changes(before: dict[str, str], after: dict[str, str]) -> list[tuple[str, str, str]]:
    """(claim, before, after) for every claim whose verdict differs, in ``after``'s order, then the claims
    only one side has (``"—"`` on the other)."""
    out = [(c, before.get(c, "—"), v) for c, v in after.items() if before.get(c, "—") != v]
    return out + [(c, v, "—") for c, v in before.items() if c not in after]


def _changes_table(changes, left: str, right: str) -> list[str]:
    lines = [f"| claim | {left} | {right} |", "|---|---|---|"]
    return lines + [f"| {c} | {a} | {b} |" for c, a, b in changes]


def changelog_markdown(history: list[dict], claims: dict | None) -> str:
    """What changed in the verdicts: from each recorded version to the next, and from the last recorded
    version of the same profile to this build (computed when the book is built)."""
    out = []
    built = {c["claim"]: c["verdict"] for c in (claims or {}).get("claims", [])}
    profile = ((claims or {}).get("meta") or {}).get("profile")
    same = [e for e in history if e["profile"] == profile]
    out.append("## This build against the last recorded version\n")
    if not built:
        out.append("The claims page has not been executed in this build, so there is nothing to compare.\n")
    elif not same:
        out.append(f"This build is at the `{profile}` profile; the recorded versions are of other profiles "
                   f"({', '.join(sorted({e['profile'] for e in history})) or 'none'}), and verdicts of two "
                   "profiles are not comparable, so no comparison is made.\n")
    else:
        last = same[-1]
        shared = {c: v for c, v in last["verdicts"].items() if c in built}
        changes = verdict_changes(shared, built)
        moved = [ch for ch in changes if ch[1] != "—"]
        new = [ch for ch in changes if ch[1] == "—"]
        out.append(f"Against **{last['label']}** (`{last['commit']}`, {last['date']}): {len(shared) - len(moved)} "
                   f"of the {len(shared)} claims recorded there have the same verdict in this build"
                   + (", and these moved:\n" if moved else ".\n"))
        if moved:
            out += _changes_table(moved, last["label"], "this build") + [""]
        if new:
            out.append(f"Not recorded in that version, so not compared: {', '.join(c for c, _, _ in new)}.\n")
    out.append("\n## Between recorded versions\n")
    if len(history) < 2:
        out.append("Fewer than two versions are recorded.\n")
    for a, b in zip(history, history[1:]):
        shared = [c for c in b["verdicts"] if c in a["verdicts"]]
        changes = [(c, a["verdicts"][c], b["verdicts"][c]) for c in shared if a["verdicts"][c] != b["verdicts"][c]]
        out.append(f"### {b['label']} (`{b['commit']}`, {b['date']})\n")
        if b.get("note"):
            out.append(b["note"] + "\n")
        out.append(f"Against {a['label']}: {len(shared) - len(changes)} of {len(shared)} shared claims the same"
                   + (", these moved:\n" if changes else ".\n"))
        if changes:
            out += _changes_table(changes, a["label"], b["label"]) + [""]
    if history:
        first = history[0]
        out.append(f"\n## The first recorded version: {first['label']} (`{first['commit']}`, {first['date']})\n")
        if first.get("note"):
            out.append(first["note"] + "\n")
        out += ["| claim | verdict |", "|---|---|"] + [f"| {c} | {v} |" for c, v in first["verdicts"].items()]
    return "\n".join(out) + "\n"


def record_version(label: str, commit: str, date: str, *, note: str = "", root: Path = ROOT,
                   path: Path = HISTORY) -> dict:
    """Append this build's verdicts (``<root>/_build/claims.json``) to the history as a new version."""
    claims = load_claims(root)
    if not claims:
        raise ValueError(f"no claims.json under {Path(root) / '_build'}: build the book first (make book)")
    history = load_history(path)
    entry = dict(label=label, commit=commit, date=date, profile=(claims.get("meta") or {}).get("profile", "?"),
                 note=note, verdicts={c["claim"]: c["verdict"] for c in claims["claims"]})
    Path(path).write_text(json.dumps({"versions": history + [entry]}, indent=1, ensure_ascii=False) + "\n")
    return entry


# ---------------------------------------------------------------------------------------------- citation
def citation_markdown(path: Path = CITATION) -> str:
    """``CITATION.cff`` as a BibTeX entry for the paper it references and one for the book, and the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the book's citation comes from it")
    text = path.read_text()
    cff = yaml.safe_load(text)
    for key in ("cff-version", "title", "authors", "version", "references"):
        if key not in cff:
            raise ValueError(f"{path}: the field {key!r} is missing")

    def names(authors):  # an entity ("name") is kept whole by braces; a person is "Family, Given"
        return " and ".join(f"{{{a['name']}}}" if a.get("name")
                            else f"{a.get('family-names', '')}, {a.get('given-names', '')}".strip(", ")
                            for a in authors)

    def tex(s):
        return str(s).replace("&", r"\&")

    book = (f"@software{{wmnb,\n  title = {{{tex(cff['title'])}}},\n  author = {{{names(cff['authors'])}}},\n"
            f"  version = {{{cff['version']}}},\n" + (f"  year = {{{str(cff['date-released'])[:4]}}},\n"
                                                     if cff.get("date-released") else "")
            + (f"  url = {{{cff['repository-code']}}},\n" if cff.get("repository-code") else "") + "}")
    p = next((r for r in cff["references"] if r.get("type") == "conference-paper"), None)
    if p is None:
        raise ValueError(f"{path}: 'references' has no conference-paper (the paper the book reproduces)")
    paper = (f"@inproceedings{{lei2024geometry,\n  title = {{{tex(p['title'])}}},\n  author = {{{names(p['authors'])}}},\n"
             f"  booktitle = {{{p.get('collection-title') or p.get('conference', {}).get('name', '')}}},\n"
             f"  year = {{{p.get('year', '')}}},\n}}")
    return ("Cite the paper for its findings, and this book (with its version) for the numbers and verdicts you "
            "take from it:\n\n```bibtex\n" + paper + "\n```\n\n```bibtex\n" + book + "\n```\n\n"
            "The same, as the repository's `CITATION.cff` (the Citation File Format, read by GitHub and Zenodo):"
            "\n\n```yaml\n" + text.rstrip() + "\n```\n")


def write_pages(root: Path = ROOT) -> list[Path]:
    """Write ``findings.md``, ``changelog.md`` and ``citation.md`` under ``<root>/book/_executed/`` from this
    build's ``claims.json``, the committed history and ``CITATION.cff``; a file whose text is unchanged is
    left alone (so an up-to-date HTML build stays up to date). Returns the files written."""
    from ..cache import atomic_write_bytes

    claims = load_claims(root)
    out_dir = Path(root) / "book" / "_executed"
    written = []
    for name, text in (("findings.md", findings_markdown(claims)),
                       ("changelog.md", changelog_markdown(load_history(), claims)),
                       ("citation.md", citation_markdown())):
        path = out_dir / name
        if not path.is_file() or path.read_text() != text:
            atomic_write_bytes(path, text.encode())
            written.append(path)
    return written

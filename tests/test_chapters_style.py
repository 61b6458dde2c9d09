"""The chapters tell the story, the package does the work (issue 23): short code cells, a ``(ch-...)=`` label on
every chapter, ``{ref}`` links and ``{cite}`` keys that resolve, plain prose mentions of other chapters turned into
links; and the report helpers that keep the cells short."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
MAX_CELL_LINES = 15

#: chapter sources whose code cells may be longer, with the reason
LONG_CELLS_EXEMPT: dict[str, str] = {}
#: pages that must carry a ``(ch-...)=`` label right before their title
LABELLED = sorted(p.name for p in BOOK.glob("[01][0-9]_*.md")) + ["intro.md", "reproducibility.md", "references.md"]
#: labels that other pages may link to before their page defines them, with the reason
PENDING_LABELS: dict[str, str] = {}

LABEL = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=[ \t]*$", re.MULTILINE)
TITLE_LABEL = re.compile(r"^\((ch-[a-z0-9-]+)\)=\n# ", re.MULTILINE)
REF = re.compile(r"\{ref\}`(?:[^`<]*<)?([^`<>]+?)>?`")
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
#: a plain-text mention of another chapter or of the claims page (a link's text is preceded by its backtick)
PLAIN_MENTION = re.compile(r"(?<!`)\b(?:[Cc]hapters?\s+\d+|claims page)\b")


def _sources():
    return sorted(BOOK.glob("*.md"))


def _chapter_notebooks():
    import jupytext

    return [(p, jupytext.read(p)) for p in sorted(BOOK.glob("[0-9][0-9]_*.md"))]


def _markdown_text(path: Path) -> str:
    """The prose of a page: the markdown cells of a notebook chapter, the whole file of a plain page."""
    text = path.read_text()
    if not text.startswith("---\njupytext:"):
        return text
    import jupytext

    return "\n".join(c.source for c in jupytext.read(path).cells if c.cell_type == "markdown")


def _labels() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in _sources():
        for label in LABEL.findall(p.read_text()):
            out.setdefault(label, []).append(p.name)
    return out


def _bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text(), re.MULTILINE))


def test_no_code_cell_is_longer_than_the_limit():
    long = []
    for path, nb in _chapter_notebooks():
        if path.name in LONG_CELLS_EXEMPT:
            continue
        for i, cell in enumerate(nb.cells):
            n = len(cell.source.splitlines())
            if cell.cell_type == "code" and n > MAX_CELL_LINES:
                long.append(f"{path.name} cell {i}: {n} lines, starting {cell.source.splitlines()[0]!r}")
    assert not long, "code cells longer than %d lines (move the logic into the package):\n" % MAX_CELL_LINES + \
        "\n".join(long)
    assert all(reason for reason in LONG_CELLS_EXEMPT.values())


def test_the_cell_length_check_finds_a_long_cell():
    """Positive control: the same count flags a cell of 16 lines."""
    import jupytext

    text = "---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n```{code-cell} ipython3\n" + \
        "\n".join(f"x{i} = {i}" for i in range(16)) + "\n```\n"
    nb = jupytext.reads(text, fmt="md:myst")
    assert [len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code"] == [16]


@pytest.mark.parametrize("name", LABELLED)
def test_every_chapter_has_a_label_before_its_title(name):
    m = TITLE_LABEL.search((BOOK / name).read_text())
    assert m, f"{name}: no (ch-...)= line right before its '# ' title"
    stem = name.split(".")[0].split("_", 1)[-1]
    assert m.group(1) == "ch-" + stem.replace("_", "-"), m.group(1)  # 05_task_relevance: ch-task-relevance


def test_labels_are_unique_and_named_after_their_files():
    labels = _labels()
    assert not {k: v for k, v in labels.items() if len(v) > 1}
    assert labels["ch-stimuli"] == ["01_stimuli.md"]
    assert labels["ch-behaviour"] == ["04_behaviour.md"]
    assert "ch-ablation" not in labels or labels["ch-ablation"][0].startswith("15_")


def test_every_ref_target_exists():
    labels = set(_labels()) | set(PENDING_LABELS)
    missing = {(p.name, t) for p in _sources() for t in REF.findall(p.read_text()) if t not in labels}
    assert not missing, missing
    assert REF.findall("see {ref}`chapter 4 <ch-behaviour>` and {ref}`ch-x`") == ["ch-behaviour", "ch-x"]


def test_pending_labels_are_not_defined_twice():
    for label in PENDING_LABELS:
        assert len(_labels().get(label, [])) <= 1


def test_every_cited_key_is_in_the_bibliography_and_the_book_cites():
    keys = _bib_keys()
    assert {"lei2024geometry", "sharma2026temporal", "deletang2023chomsky", "tan2019efficientnet",
            "he2016resnet", "schonemann1966procrustes"} <= keys
    cited = {(p.name, k.strip()) for p in _sources() for ks in CITE.findall(p.read_text()) for k in ks.split(",")}
    assert {k for _, k in cited} >= {"lei2024geometry", "sharma2026temporal", "deletang2023chomsky"}
    assert not {c for c in cited if c[1] not in keys}


def test_the_book_loads_the_bibliography():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert "{bibliography}" in (BOOK / "references.md").read_text()
    pytest.importorskip("sphinxcontrib.bibtex")


def test_prose_mentions_other_chapters_by_link():
    plain = [(p.name, m.group(0)) for p in _sources() if p.name != "12_claims.md"
             for m in PLAIN_MENTION.finditer(_markdown_text(p))]
    assert not plain, plain
    assert PLAIN_MENTION.findall("see chapter 4 and the claims page") == ["chapter 4", "claims page"]
    assert not PLAIN_MENTION.findall("see {ref}`chapter 4 <ch-behaviour>`")


# --------------------------------------------------------------------------- the pages built from the sources

def test_variant_pages_rename_the_labels_and_name_the_variant(tmp_path):
    import nbformat

    from wmnb.book.executor import _add_colab_badge

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("(ch-x)=\n# Title\n\nText."),
                                         nbformat.v4.new_markdown_cell("(sec-y)=\n## Part")])
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    _add_colab_badge(path, "book/06_cross_task.md", "GRU", label_suffix="gru")
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].source == "(ch-x-gru)=\n# Title (GRU)\n\nText."
    assert cells[-1].source == "(sec-y-gru)=\n## Part"
    nbformat.write(nb, path)
    _add_colab_badge(path, "book/06_cross_task.md", "all architectures compared")
    assert nbformat.read(path, as_version=4).cells[0].source.startswith("(ch-x)=\n# Title (all architectures")


def test_colab_notebooks_show_myst_as_plain_markdown():
    from wmnb.book.colab import plain_markdown

    assert plain_markdown("(ch-x)=\n# T\nsee {ref}`chapter 4 <ch-behaviour>`, {cite:t}`a2020, b2021`.") == \
        "# T\nsee chapter 4, [a2020, b2021]."


# --------------------------------------------------------------------------------------------- report helpers

def _record(**kw):
    rec = dict(claim="F1", statement="Irrelevant properties are kept.", value=0.15, ci_low=0.05, ci_high=0.2,
               paper="> 85 %", verdict="holds", protocol="image-disjoint", controls="relevant decodable",
               details={"value_name": "paired difference"})
    return {**rec, **kw}


def test_markdown_table():
    from wmnb.book.report import markdown_table

    assert markdown_table(["a", "b"], [(1, "**x**"), ("y", 2.5)]) == "| a | b |\n|---|---|\n| 1 | **x** |\n| y | 2.5 |"
    assert markdown_table(["a"], []) == "| a |\n|---|"


def test_claim_section_renders_a_claim_from_its_record():
    from wmnb.book.report import claim_markdown, claim_section, markdown_table

    rec = _record()
    head = claim_markdown(rec)
    assert "0.150 [0.050, 0.200]" in head and "✅ holds" in head
    assert claim_section(rec) == head
    assert claim_section(rec, heading="GRU", after=" End.") == "### GRU\n\n" + head + " End."
    table = markdown_table(["x"], [[1]])
    assert claim_section(rec, bullets=["one", "two"], table=table) == head + "\n\n* one\n* two\n\n" + table
    assert claim_section(rec, table=table, after="\n\nmore") == head + "\n\n" + table + "\n\nmore"
    assert claim_section(rec, protocol=True).startswith(claim_markdown(rec, protocol=True))


def test_chapter_text_builders_render_small_records():
    from wmnb.experiments import attention, cross_task, relevance

    v = dict(label="image-disjoint", mtmf=0.5, single=0.3, diff=0.2, mtmf_raw=0.6, single_raw=0.4, verdict="holds")
    d = dict(properties=["identity"], per_property={"identity": {"MTMF": 0.5, "STSF": 0.3}}, mtmf=0.5,
             single_mean=0.3, single_ci_low=0.2, single_ci_high=0.4, diff=0.2, diff_ci_low=0.1, diff_ci_high=0.3,
             n_seeds=3, keep_level=0.8, keep="no", less="yes", margin=0.05, by_protocol={"image": v})
    f1 = relevance.claim_F1_markdown(_record(details=d), heading="GRU")
    assert f1.startswith("### GRU\n\n**F1")
    assert "| image-disjoint | 0.500 | 0.300 | +0.200 | 0.600 | 0.400 | holds |" in f1
    assert "over 3 seed(s)." in f1 and "Per property (normalised, irrelevant contexts): identity: MTMF 0.50" in f1

    part = dict(diff=0.1, ci_low=0.0, ci_high=0.2, comparable=True, controls_pass=False, verdict="inconclusive")
    d2 = dict(parts={"gru@t0": part}, others={"raw": dict(variant="raw", protocol="image", verdict="holds")},
              variant="centred", sites=["t0"])
    f2 = cross_task.claim_F2_markdown(_record(claim="F2", details=d2))
    assert "| GRU | t0 | 0.100 [0.000, 0.200] | yes | FAIL | **inconclusive** |" in f2
    assert f2.endswith("The other readings of the same data:\n\n* raw (raw, image): **holds** by the same rule.")

    d3 = dict(parts={"MTMF vs avgpool": dict(value=0.1, ci_low=0.05, ci_high=0.15, verdict="holds")},
              location_share={}, gate_gain_over_avgpool={})
    a1 = attention.claim_A1_markdown(_record(claim="A1", details=d3), "smoke")
    assert "| MTMF vs avgpool | 0.100 [0.050, 0.150] | ✅ holds |" in a1 and a1.endswith("not results).")


def test_identity_check_markdown_reads_each_split():
    import pandas as pd

    from wmnb.experiments.behaviour import identity_check_markdown

    table = pd.DataFrame({"hard_nonmatch_share": [0.0, 0.2], "identity_accuracy": [0.9, 0.7],
                          "category_shortcut": [0.9, 0.8], "nonmatch_same_category": [float("nan"), 0.9],
                          "match_steps": [0.9, 0.5]}, index=pd.Index(["train", "novel_angle"], name="split"))
    text = identity_check_markdown(table).split("\n")
    assert text[0].startswith("* **train**: no two objects of this pool share a category")
    assert "**does** tell objects of one category apart, but scores below the shortcut" in text[1]

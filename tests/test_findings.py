"""The reader's path computed at build time: the landing page's findings, the verdict changelog, the citation."""
import json
import tomllib

import pytest
import yaml

from wmnb.book import CHAPTERS, ROOT, findings
from wmnb.verdicts import VERDICTS


def _claims(verdicts: dict, profile="quick"):
    return {"claims": [{"claim": c, "verdict": v, "statement": "s"} for c, v in verdicts.items()],
            "meta": {"profile": profile, "seeds": [0, 1, 2, 3, 4]}}


def test_every_claim_links_to_a_page_of_the_run_list():
    pages = {r.page for r in CHAPTERS}
    for base in findings.CLAIMS:
        assert findings.chapter_page(base) in pages
    assert findings.chapter_page("F4 (gru)") == "08_memory_dynamics__gru"
    assert findings.chapter_page("F2") == "06_cross_task__all"
    assert findings.chapter_page("A1") == "11_attention"
    with pytest.raises(ValueError, match="claim='F12'"):
        findings.chapter_page("F12")


def test_landing_page_lists_every_claim_with_its_verdict_and_chapter():
    built = {"F1": "holds", "F4 (rnn)": "mixed", "F4 (gru)": "does not hold", "A2": "inconclusive"}
    text = findings.findings_markdown(_claims(built))
    assert " of 4." in text and "seeds 0–4" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| {doc}")]
    assert len(rows) == 3  # F1, F4 (both architectures in one row), A2
    assert "</book/_executed/05_task_relevance>" in rows[0] and "**holds**" in rows[0]
    assert "08_memory_dynamics__gru>` **does not hold**" in rows[1] and "*mixed*" in rows[1]
    same = findings.findings_markdown(_claims({"F5 (rnn)": "holds", "F5 (gru)": "holds"}))
    assert "**holds** ({doc}`rnn </book/_executed/08_memory_dynamics__rnn>`, {doc}`gru" in same
    assert "smoke-profile build" in findings.findings_markdown(_claims(built, "smoke"))
    assert "smoke-profile" not in text
    assert "has not been executed" in findings.findings_markdown(None)


def test_changelog_compares_this_build_with_the_last_version_of_its_profile():
    history = [dict(label="v1", commit="aaa", date="d1", profile="quick", verdicts={"F1": "holds", "F9": "holds"}),
               dict(label="v2", commit="bbb", date="d2", profile="quick",
                    verdicts={"F1": "holds", "F9": "inconclusive"})]
    text = findings.changelog_markdown(history, _claims({"F1": "does not hold", "F9": "inconclusive", "T1": "holds"}))
    assert "Against **v2**" in text and "1 of the 2 claims" in text
    assert "| F1 | holds | does not hold |" in text
    assert "| F9 | holds | inconclusive |" in text  # between v1 and v2
    assert "not compared: T1" in text
    assert "not comparable" in findings.changelog_markdown(history, _claims({"F1": "holds"}, "smoke"))


def test_history_is_checked_and_the_committed_one_loads(tmp_path):
    committed = findings.load_history()
    assert len(committed) >= 2 and all(set(e["verdicts"].values()) <= set(VERDICTS) for e in committed)
    bad = tmp_path / "h.json"
    bad.write_text(json.dumps({"versions": [dict(label="x", commit="c", date="d", profile="quick",
                                                 verdicts={"F1": "probably"})]}))
    with pytest.raises(ValueError, match=r"verdicts\['F1'\]"):
        findings.load_history(bad)
    bad.write_text(json.dumps({"versions": [dict(label="x")]}))
    with pytest.raises(ValueError, match="'commit'"):
        findings.load_history(bad)


def test_record_version_appends_this_builds_verdicts(tmp_path):
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / "claims.json").write_text(json.dumps(_claims({"F1": "holds"})))
    hist = tmp_path / "h.json"
    findings.record_version("v9", "abc1234", "2026-12-07", root=tmp_path, path=hist)
    (entry,) = findings.load_history(hist)
    assert entry["verdicts"] == {"F1": "holds"} and entry["profile"] == "quick"


def test_citation_cff_cites_the_book_and_references_the_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert str(cff["version"]) == version
    (paper,) = [r for r in cff["references"] if r["type"] == "conference-paper"]
    assert [a["family-names"] for a in paper["authors"]] == ["Lei", "Ito", "Bashivan"]
    assert paper["year"] == 2024 and "NeurIPS 2024" in paper["collection-title"]
    assert "Geometry of naturalistic object representations" in paper["title"]
    text = findings.citation_markdown()
    assert "@inproceedings{lei2024geometry" in text and "author = {Lei, Xiaoxuan and Ito, Takuya" in text
    assert "@software{wmnb" in text and "version = {0.1.0}" in text.replace(version, "0.1.0")


def test_landing_changelog_and_cite_pages_are_in_the_book():
    toc = (ROOT / "_toc.yml").read_text()
    assert "file: book/cite" in toc and "file: book/changelog" in toc
    assert "_executed/findings.md" in (ROOT / "book" / "intro.md").read_text()
    assert "_executed/changelog.md" in (ROOT / "book" / "changelog.md").read_text()
    assert "_executed/citation.md" in (ROOT / "book" / "cite.md").read_text()


def test_write_pages_writes_only_what_changed(tmp_path):
    (tmp_path / "book" / "_executed").mkdir(parents=True)
    first = findings.write_pages(tmp_path)
    assert {p.name for p in first} == {"findings.md", "changelog.md", "citation.md"}
    assert findings.write_pages(tmp_path) == []


def test_the_landing_page_reads_the_default_arm_and_keeps_the_others_apart(tmp_path):
    from wmnb.book import findings

    rows = [dict(claim="F2", verdict="does not hold", arm="default"),
            dict(claim="F2", verdict="holds", arm="paper-faithful"), dict(claim="F3", verdict="holds")]
    (tmp_path / "_build").mkdir()
    (tmp_path / "_build" / "claims.json").write_text(json.dumps({"claims": rows, "meta": {}}))
    data = findings.load_claims(tmp_path)
    assert [(c["claim"], c["verdict"]) for c in data["claims"]] == [("F2", "does not hold"), ("F3", "holds")]
    assert [c["verdict"] for c in data["arms"]["paper-faithful"]] == ["holds"]

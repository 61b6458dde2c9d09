"""wmnb.book.paths: a build's artefacts follow its build root (issue 10, point 4)."""
from helpers import ROOT
from wmnb import book


def test_artefact_path_follows_the_build_root(monkeypatch, tmp_path):
    monkeypatch.delenv(book.BUILD_ROOT_ENV, raising=False)
    assert book.artefact_path("claims.json") == ROOT / "_build" / "claims.json"
    monkeypatch.setenv(book.BUILD_ROOT_ENV, str(tmp_path))
    assert book.artefact_path("claims.json") == tmp_path / "_build" / "claims.json"
    claims_run = next(r for r in book.CHAPTERS if r.source == "book/12_claims.md")
    assert "_build/claims.json" in claims_run.artefacts
    assert "book.artefact_path" in (ROOT / claims_run.source).read_text()

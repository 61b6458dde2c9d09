"""wmnb.book.executor: a shadow build writes its artefacts under its own root, and an overwritten artefact makes
the page stale (issue 10, point 4)."""
import json
import os
import textwrap

from helpers import ROOT
from wmnb import book


def test_shadow_build_never_touches_the_real_claims_json(tmp_path, monkeypatch):
    """Execute a one-cell chapter that writes claims.json like chapter 12, in a shadow root, through the
    book's own executor: the file lands in the shadow root, the real one is untouched; overwriting the
    artefact afterwards makes the page stale, so the next build rewrites it."""
    monkeypatch.delenv(book.BUILD_ROOT_ENV, raising=False)
    src = tmp_path / "99_writer.md"
    src.write_text(textwrap.dedent('''\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        ---

        # Writer

        ```{code-cell} ipython3
        :tags: [parameters]

        profile = "quick"
        ```

        ```{code-cell} ipython3
        import json
        from wmnb import book
        p = book.artefact_path("claims.json")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"meta": {"profile": profile}}))
        ```
        '''))
    run = book.ChapterRun(str(src), artefacts=("_build/claims.json",))
    real = ROOT / "_build" / "claims.json"
    before = real.read_bytes() if real.exists() else None
    shadow = tmp_path / "shadow"
    out_dir = shadow / "book" / "_executed"
    book.execute_run(run, "smoke", out_dir=out_dir)
    book._write_stamp(run, "smoke", out_dir)
    written = shadow / "_build" / "claims.json"
    assert json.loads(written.read_text())["meta"]["profile"] == "smoke"
    assert (real.read_bytes() if real.exists() else None) == before
    assert os.environ.get(book.BUILD_ROOT_ENV) is None  # restored after the run
    assert book.is_fresh(run, "smoke", out_dir)
    written.write_text('{"meta": {"profile": "other"}}')  # another build overwrote it
    assert not book.is_fresh(run, "smoke", out_dir)
    written.unlink()
    assert not book.is_fresh(run, "smoke", out_dir)


def test_the_shadow_root_of_the_smoke_check_holds_the_bibliography(tmp_path):
    """A shadow build cites from book/references.bib like the real one (it once had only the .md front matter,
    and every {cite} became a warning)."""
    from wmnb.book import executor

    root = executor.shadow_root(tmp_path / "shadow")
    assert (root / "book" / "references.bib").read_bytes() == (executor.BOOK_DIR / "references.bib").read_bytes()
    assert not list((root / "book").glob("[0-9][0-9]_*.md"))  # chapter sources are still read from the repo

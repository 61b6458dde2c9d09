"""The build's time table: every executed page's last wall time, shown on the reproducibility page."""
import json

from wmnb import book


def test_record_time_keeps_the_last_execution_per_page(tmp_path):
    page = book.CHAPTERS[0].page
    book.record_time(tmp_path, page, "smoke", 12.0)
    book.record_time(tmp_path, page, "quick", 90.0)
    data = json.loads((tmp_path / book.TIMINGS).read_text())
    assert data[page]["seconds"] == 90.0 and data[page]["profile"] == "quick"
    md = book.timings_markdown(tmp_path)
    assert f"`{page}` | quick" in md and "1.5 min" in md and "**all pages above, one after another**" in md


def test_timings_markdown_without_any_execution(tmp_path):
    assert "executed and timed yet" in book.timings_markdown(tmp_path)


def test_training_stage_and_wall_time_are_reported(tmp_path):
    page = book.CHAPTERS[0].page
    book.record_time(tmp_path, page, "quick", 60.0)
    book.record_training(tmp_path, "quick", 600.0, 2, {"MTMF gru seed 0": 50.0, "STSF-location gru seed 0": 20.0,
                                                      "MTMF rnn seed 0": 80.0})
    book.record_wall(tmp_path, "quick", 1500.0, 2, 31)
    md = book.timings_markdown(tmp_path)
    assert "training stage before the pages (3 runs, 2 at a time)" in md and "10.0 min" in md
    assert "31 pages, 2 at a time" in md and "**25.0 min**" in md
    assert "median 50 s, longest 80 s (MTMF rnn seed 0)" in md


def test_stages_run_readers_after_what_they_read():
    """The "all" variants read their per-core siblings' tables and the claims page reads every chapter's: they
    execute in later stages, so a parallel build never computes a table twice."""
    groups = book.stages(book.CHAPTERS)
    where = {r.page: i for i, g in enumerate(groups) for r in g}
    assert sorted(r.page for g in groups for r in g) == sorted(r.page for r in book.CHAPTERS)
    for r in book.CHAPTERS:
        if r.variant == "all":
            for sib in (s for s in book.CHAPTERS if s.source == r.source and s.variant != "all"):
                assert where[sib.page] < where[r.page]
    claims = where["12_claims"]
    assert all(where[r.page] < claims for r in book.CHAPTERS if r.page[:2] <= "14" and r.page != "12_claims")


def test_html_is_rebuilt_only_when_an_input_changed(tmp_path):
    """A warm rebuild with nothing changed skips Jupyter Book; any changed input, or a failed last build, does not."""
    import os
    import time

    from wmnb.book.executor import _html_stamp, html_fresh

    (tmp_path / "book" / "_executed").mkdir(parents=True)
    (tmp_path / "_build" / "html").mkdir(parents=True)
    for p in ("_config.yml", "_toc.yml", "book/intro.md", "book/_executed/01_stimuli.ipynb"):
        (tmp_path / p).write_text("x")
    assert not html_fresh(tmp_path)  # never built (or the last build failed: no stamp)
    past = time.time() - 100
    for p in tmp_path.rglob("*"):
        os.utime(p, (past, past))
    _html_stamp(tmp_path).write_text("built")
    assert html_fresh(tmp_path)
    (tmp_path / "book" / "_executed" / "01_stimuli.ipynb").write_text("re-executed")
    assert not html_fresh(tmp_path)


def test_a_cold_build_starts_the_slowest_pages_first(tmp_path):
    """Without timings of its own, a stage starts the pages of COLD_FIRST first (in that order); with timings,
    the measured times decide."""
    from wmnb.book.chapters import COLD_FIRST
    from wmnb.book.executor import _longest_first

    stage0 = book.stages(book.CHAPTERS)[0]
    order = [r.page for r in _longest_first(stage0, tmp_path)]
    assert order[0].startswith(COLD_FIRST[0]) and sorted(order) == sorted(r.page for r in stage0)
    assert all(any(p.startswith(c) for p in order[:len(COLD_FIRST)]) for c in COLD_FIRST)
    book.record_time(tmp_path, "01_stimuli", "quick", 1e4)
    assert _longest_first(stage0, tmp_path)[0].page == "01_stimuli"


def test_bad_jobs_fail_before_any_work(tmp_path):
    import pytest

    from wmnb.errors import ConfigError

    for kw, name in ((dict(jobs=0), "jobs"), (dict(train_jobs=0), "train_jobs")):
        with pytest.raises(ConfigError, match=name):
            book.execute(["01"], "smoke", out_dir=tmp_path / "book" / "_executed", **kw)
    assert not (tmp_path / "book").exists()  # nothing was written


def test_choosing_the_training_precision_re_executes_the_pages(monkeypatch):
    """WMNB_PRECISION changes which runs a page reads, so an executed page is stale when it changes."""
    from wmnb.book.executor import run_fingerprint

    run = book.CHAPTERS[0]
    monkeypatch.delenv("WMNB_PRECISION", raising=False)
    base = run_fingerprint(run, "quick")
    assert run_fingerprint(run, "quick") == base
    monkeypatch.setenv("WMNB_PRECISION", "fp32")
    assert run_fingerprint(run, "quick") != base

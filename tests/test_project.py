"""Project-level checks: dependency lists agree, the CLI answers, the book's run list matches its TOC."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _req_name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {r.strip() for r in py["dependencies"]}
    for extra in py["optional-dependencies"].values():
        wanted |= {r.strip() for r in extra}
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_reqs = {ln.strip()[2:].strip() for ln in env_lines
                if ln.strip().startswith("- ") and not ln.strip().startswith("- -e")
                and any(c in ln for c in "<>=") and "python=" not in ln}
    assert {_req_name(r): r for r in wanted} == {_req_name(r): r for r in pip_reqs}


def test_jupyter_book_pinned_below_2():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["book"]
    jb = [d for d in deps if _req_name(d) == "jupyter-book"]
    assert jb and "<2" in jb[0]


def test_cli_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "wmnb.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for cmd in ("assets", "stimuli", "features", "train", "book"):
        assert cmd in out


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci


def test_toc_lists_exactly_the_declared_chapter_runs():
    from wmnb.book import CHAPTERS

    toc = (ROOT / "_toc.yml").read_text()
    listed = re.findall(r"file:\s*(book/_executed/\S+)", toc)
    assert sorted(listed) == sorted(r.toc_entry for r in CHAPTERS)
    assert len(set(listed)) == len(listed)
    for r in CHAPTERS:
        assert (ROOT / r.source).exists(), r.source


def test_every_chapter_source_has_a_parameters_cell():
    for src in sorted((ROOT / "book").glob("[0-9][0-9]_*.md")):
        text = src.read_text()
        assert re.search(r"```\{code-cell\}[^\n]*\n:tags: \[parameters\]", text), f"{src.name} has no parameters cell"
        assert "profile" in text, f"{src.name} does not take the profile parameter"


def test_papermill_reads_every_chapter_parameter():
    """papermill infers a chapter's parameters line by line (for `papermill --help-notebook` and Colab forms) and
    only warns on a line it cannot parse (e.g. an "=" inside the comment): every assignment must be readable."""
    import ast

    import jupytext
    from papermill.translators import PythonTranslator

    from wmnb.book import CHAPTERS, ROOT

    for src in sorted({r.source for r in CHAPTERS}):
        nb = jupytext.read(ROOT / src)
        cell = next(c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", []))
        names = [n.targets[0].id for n in ast.parse(cell.source).body]
        assert [p.name for p in PythonTranslator.inspect(cell)] == names, src


def test_cli_train_rejects_bad_parameters_before_any_work():
    out = subprocess.run([sys.executable, "-m", "wmnb.cli", "train", "--scenario", "XTXF"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "scenario" in out.stderr and "XTXF" in out.stderr and "MTMF" in out.stderr


def test_cli_train_smoke_run(tmp_path):
    import os

    env = {**os.environ, "WMNB_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "wmnb.cli", "train", "--source", "procedural", "--profile",
                          "smoke", "--scenario", "STSF", "--feature", "location", "--device", "cpu"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Run(STSF, gru" in out.stdout and "novel_angle" in out.stdout


def test_no_sentence_ends_twice_before_the_smoke_suffix():
    """``report.smoke_suffix`` ends the sentence (its "." or the smoke remark): text before it must not end in
    "." too, or the page reads "..". Checked on the sources, as a chapter's prose can only be read executed."""
    bad = []
    for md in sorted((ROOT / "book").glob("*.md")):
        for m in re.finditer(r"\.[\"']\)?\s*\+\s*report\.smoke_suffix", md.read_text()):
            bad.append(f"{md.name}:{md.read_text()[:m.start()].count(chr(10)) + 1}")
    assert not bad, bad

"""A chapter run through papermill, as a reader would run it (issue 10): its first cell (wmnb.book.chapter_setup)
rejects a bad parameter before any work, and chapter 1 reads a local ShapeNet folder given as a parameter."""
from pathlib import Path

import pytest

from helpers import ROOT, _files, fake_shapenet


def _papermill(chapter: str, parameters: dict, tmp_path: Path):
    import jupytext
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(jupytext.read(ROOT / "book" / chapter), str(tmp_path / "out.ipynb"),
                                   parameters=parameters, cwd=str(ROOT), kernel_name="python3",
                                   progress_bar=False)
    return err.value


@pytest.mark.parametrize("chapter, parameters, words", [
    ("01_stimuli.md", dict(seed=-1, source="procedural"), ["seed=-1"]),
    ("04_behaviour.md", dict(scenario="MTMF", seeds=[0, -1], source="procedural"), ["seeds=-1"]),
])
def test_chapter_with_a_bad_parameter_fails_in_its_first_cell(tmp_path, monkeypatch, chapter, parameters, words):
    """Through papermill, as a reader would run it: a ConfigError naming the parameter, before any work."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WMNB_CACHE", str(cache))  # the kernel inherits it
    err = _papermill(chapter, {"profile": "smoke", **parameters}, tmp_path)
    assert err.ename == "ConfigError"
    for w in words:
        assert w in err.evalue
    assert _files(cache) == []  # nothing rendered, nothing cached


def test_chapter_1_on_a_fake_shapenet_folder(tmp_path, monkeypatch):
    """Chapter 1 through papermill at smoke, reading a local ShapeNet folder given as a chapter parameter."""
    import jupytext
    import nbformat
    import papermill

    root = fake_shapenet(tmp_path / "ShapeNetCore.v2", n=3)
    monkeypatch.setenv("WMNB_CACHE", str(tmp_path / "cache"))
    papermill.execute_notebook(jupytext.read(ROOT / "book" / "01_stimuli.md"), str(tmp_path / "out.ipynb"),
                               parameters=dict(profile="smoke", source="shapenet", shapenet_root=str(root),
                                               identities_per_category=3),
                               cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    text = "".join(str(c.get("outputs", "")) for c in nbformat.read(tmp_path / "out.ipynb", 4).cells)
    assert "source='shapenet'" in text and "ShapeNetCore.v2" in text

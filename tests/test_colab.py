"""The committed Colab notebooks are generated from the chapter sources and must not drift from them."""
import pytest

from wmnb.book.colab import NOTEBOOK_DIR, chapter_sources, colab_notebook, colab_text


@pytest.mark.parametrize("src", chapter_sources(), ids=lambda p: p.stem)
def test_committed_colab_notebook_is_up_to_date(src):
    path = NOTEBOOK_DIR / src.with_suffix(".ipynb").name
    assert path.exists(), f"missing {path}; run `wmnb book colab`"
    assert path.read_text() == colab_text(src), f"{path.name} is stale; run `wmnb book colab`"


def test_colab_notebook_installs_wmnb_first_and_keeps_parameters_cell():
    src = chapter_sources()[0]
    nb = colab_notebook(src)
    assert "pip" in nb.cells[0].source and "google.colab" in nb.cells[0].source
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_repository_address_comes_from_config_and_placeholder_means_no_link(tmp_path):
    from wmnb.book.colab import colab_url, repository_url, setup_source

    cfg = tmp_path / "_config.yml"
    cfg.write_text("repository:\n  url: https://github.com/wmnb/wmnb\n")
    assert repository_url(cfg) is None
    cfg.write_text("title: x\n")
    assert repository_url(cfg) is None
    cfg.write_text("repository:\n  url: https://github.com/someone/wmnb-book.git\n")
    url = repository_url(cfg)
    assert url == "https://github.com/someone/wmnb-book"
    assert colab_url("book/01_stimuli.md", url) == (
        "https://colab.research.google.com/github/someone/wmnb-book/blob/main/notebooks/01_stimuli.ipynb")
    assert "git+https://github.com/someone/wmnb-book@main" in setup_source(url)
    assert "RuntimeError" in setup_source(None) and "pip install -e" in setup_source(None)
    import pytest as _pytest
    from wmnb.errors import ConfigError
    with _pytest.raises(ConfigError, match="repository.url"):
        colab_url("book/01_stimuli.md", "https://gitlab.com/a/b")

"""The committed Colab notebooks are generated from the chapter sources and must not drift from them."""
import pytest

from wmnb.colab import NOTEBOOK_DIR, chapter_sources, colab_notebook, colab_text


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

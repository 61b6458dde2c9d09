"""The static fallback of an explorer lists what the live widget shows, in a block the browser check reads."""
import pandas as pd
import pytest

from wmnb.figures import explorer


@pytest.fixture
def shown(monkeypatch):
    import IPython
    import IPython.display

    out = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj: out.append(obj.data))
    return out


def test_fallback_table_marks_fields_and_items_for_the_browser_check(shown):
    explorer.fallback_table("browser", pd.DataFrame({"image": [3, 7], "angle": [0, 2], "extra": [1, 1]}),
                            ["image", "angle"], "what it shows")
    (html,) = shown
    assert 'class="wmnb-explorer-fallback"' in html and 'data-fields="image,angle"' in html
    assert 'data-items="2"' in html and "<th>angle</th>" in html and "extra" not in html


def test_fallback_table_names_a_field_the_table_lacks(shown):
    with pytest.raises(ValueError, match="azimuth"):
        explorer.fallback_table("browser", pd.DataFrame({"image": [1]}), ["image", "azimuth"])


def test_fallback_table_shows_nothing_outside_a_kernel(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    explorer.fallback_table("browser", pd.DataFrame({"image": [1]}), ["image"])  # no error, no output

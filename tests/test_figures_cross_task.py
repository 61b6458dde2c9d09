"""wmnb.figures.cross_task on a planted summary: the figures must draw, not crash."""
import matplotlib

matplotlib.use("Agg")

from helpers import _xt_summary  # noqa: E402
from wmnb.figures import cross_task as ff  # noqa: E402


def test_figures_draw():
    import matplotlib.pyplot as plt

    s = _xt_summary()
    for fig in (ff.gi_by_site(s), ff.memory_gi(s), ff.memory_gi(s, variant="raw")):
        assert len(fig.axes) >= 1
        plt.close(fig)

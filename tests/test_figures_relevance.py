"""wmnb.figures.relevance on a planted summary: the figure must draw, not crash."""
import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from wmnb.experiments import relevance as rel  # noqa: E402
from wmnb.figures import relevance as fr  # noqa: E402


def test_relevance_protocol_bars_draws():
    import matplotlib.pyplot as plt

    rows = []
    for seed in (0, 1):
        for pr in ("image", "transfer", "sequence"):
            for sc in ("STSF", "MTMF"):
                for p in ("location", "identity"):
                    rows.append(dict(seed=seed, protocol=pr, scenario=sc, core="gru", property=p, relevant=False,
                                     accuracy=0.6, normalised=0.4 + 0.1 * seed, chance=0.25, n_cells=3, n_test=10))
    fig = fr.relevance_protocol_bars(pd.DataFrame(rows, columns=rel.SUMMARY_COLUMNS))
    assert len(fig.axes) == 1
    plt.close(fig)

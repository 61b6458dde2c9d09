"""The one figure style and the report snippets the chapters print (wmnb.figures.style, wmnb.book.report), and
the shape of the two homes: figures in wmnb/figures, book machinery in wmnb/book without an import cycle."""
import ast
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from wmnb.book import report  # noqa: E402
from wmnb.figures import style  # noqa: E402

PKG = Path(__file__).resolve().parent.parent / "wmnb"


def _claim(verdict="holds", lo=0.05, hi=0.2, per_seed=True):
    ps = [{"seed": 0, "model": "MTMF", "value": 0.1}, {"seed": 1, "model": "MTMF", "value": 0.2}] if per_seed else []
    return dict(claim="F1", statement="Irrelevant properties are kept.", value=0.15, ci_low=lo, ci_high=hi,
                paper="> 85 %", verdict=verdict, protocol="image-disjoint", controls="relevant decodable",
                details={"value_name": "paired difference", "rule": "interval above 0.05", "per_seed": ps})


# ------------------------------------------------------------------------------------------- report snippets
def test_interval_text_and_its_missing_cases():
    assert report.interval(0.81234, 0.7712, 0.8491) == "0.812 [0.771, 0.849]"
    assert report.interval(0.5, 0.4, 0.6, pct=True) == "50.0 % [40.0 %, 60.0 %]"
    one_seed = report.interval(0.8, np.nan, np.nan)
    assert one_seed.startswith("0.800") and "no interval" in one_seed and "[" not in one_seed
    assert report.interval(0.8, np.nan, np.nan, missing="") == "0.800"
    assert report.interval(np.nan, 0.1, 0.2) == "n/a" and report.interval(None, 0.1, 0.2) == "n/a"
    assert report.fmt(None) == "n/a" and report.fmt(0.12345, 2) == "0.12"


def test_seed_interval_is_the_t_interval_of_the_values():
    from wmnb.analysis.stats import seed_ci

    vals = [0.8, 0.82, 0.79]
    m, lo, hi = seed_ci(np.asarray(vals), 0.95)
    assert report.seed_interval(vals) == report.interval(m, lo, hi)
    assert "no interval" in report.seed_interval([0.8])          # one seed: no interval, said so


def test_smoke_note_only_at_smoke():
    assert report.smoke_suffix("quick") == "."
    assert "not results" in report.smoke_suffix("smoke")
    assert "never a result" in report.SMOKE_NOTE


def test_claim_markdown_carries_verdict_interval_and_paper():
    md = report.claim_markdown(_claim())
    assert md.startswith("**F1 — ✅ holds.**") and "0.150 [0.050, 0.200]" in md and "Paper: > 85 %" in md
    assert "Protocol" not in md and "Controls" not in md
    full = report.claim_markdown(_claim(), protocol=True, controls=True, rule=True)
    assert "Protocol: image-disjoint." in full and "Controls: relevant decodable." in full and "Rule:" in full
    for v in ("does not hold", "mixed", "inconclusive"):
        assert report.verdict_badge(v) in report.claim_markdown(_claim(v))
        assert "✅" not in report.claim_markdown(_claim(v))
    assert "no interval" in report.claim_markdown(_claim(lo=np.nan, hi=np.nan))


def test_per_seed_table_and_claims_tables():
    t = report.per_seed_table(_claim())
    assert list(t.index) == [0, 1] and list(t.columns) == ["MTMF"] and t.loc[1, "MTMF"] == 0.2
    assert report.per_seed_table(_claim(per_seed=False)) is None
    ct = report.claims_table([_claim(), _claim("inconclusive", np.nan, np.nan)])
    assert list(ct["ours (95 % interval)"]) == ["0.150 [0.050, 0.200]", "0.150"]
    assert list(report.core_table([_claim()])["ci"]) == ["[0.050, 0.200]"]


def test_verdict_styler_colours_each_verdict_with_the_palette():
    df = report.claims_table([_claim(v) for v in ("holds", "does not hold", "mixed", "inconclusive")])
    html = report.verdict_styler(df, nowrap=("claim",)).to_html()
    for v, colour in style.VERDICT_COLORS.items():
        assert colour.lower() in html.lower(), v
    assert len(set(style.VERDICT_COLORS.values())) == 4               # four verdicts, four colours


# ------------------------------------------------------------------------------------------- one style
def test_style_applies_rc_and_restores_it():
    before = plt.rcParams["axes.spines.top"]
    with style.style():
        assert plt.rcParams["axes.spines.top"] is False and plt.rcParams["figure.dpi"] == style.RC["figure.dpi"]
    with style.style(images=True):
        assert plt.rcParams["axes.spines.top"] is True           # image frames keep all four sides
    assert plt.rcParams["axes.spines.top"] == before

    @style.styled
    def fig():
        return plt.rcParams["font.size"]

    assert fig() == style.RC["font.size"]


def test_every_figure_module_takes_its_colours_from_the_style():
    """No figure module names its own colours (hex codes, 'tab:' names): the palette lives in style.py.
    Positive control: the same scan finds the palette in style.py."""
    pattern = re.compile(r"#[0-9a-fA-F]{6}\b|['\"]tab:[a-z]+['\"]")
    assert pattern.search((PKG / "figures" / "style.py").read_text())
    offenders = {p.name: pattern.findall(p.read_text()) for p in (PKG / "figures").glob("*.py")
                 if p.name != "style.py"}
    assert not {k: v for k, v in offenders.items() if v}, offenders


def test_figures_have_one_home_and_the_book_has_no_import_cycle():
    for old in ("plots.py", "plots_analysis.py", "plots_dynamics.py", "task_figures.py", "figures_f1f2.py",
                "figures_f3.py", "figures_f6f8.py", "book.py", "colab.py", "htmlcheck.py", "apidoc.py",
                "display.py", "stimuli/figures.py"):
        assert not (PKG / old).exists(), old

    def imports(path):
        tree = ast.parse(path.read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}

    assert "executor" not in imports(PKG / "book" / "colab.py")      # colab needs paths only
    assert "colab" in imports(PKG / "book" / "executor.py")          # the executor badges pages with it


# ------------------------------------------------------------------------------------------- renders
def test_behaviour_and_task_figures_render():
    from wmnb import tasks
    from wmnb.figures import behaviour, tasks as task_figures

    rows = [dict(seed=s, split=sp, feature=f, n=n, accuracy=0.6 + 0.1 * n + 0.01 * s)
            for s in (0, 1) for sp in ("train", "novel_angle", "novel_identity") for f in style.FEATURES
            for n in (1, 2)]
    metrics = pd.DataFrame(rows)
    history = pd.concat([metrics.assign(step=k * 10) for k in range(3)])
    for fig in (behaviour.learning_curves(history, feature="location"), behaviour.accuracy_by_task(metrics),
                behaviour.split_gap(metrics),
                behaviour.compare_readouts(metrics.assign(readout=np.where(metrics.seed == 0, "a", "b")))):
        assert fig.axes
        plt.close(fig)
    labels = {f: np.arange(32) % 4 for f in tasks.FEATURES}
    trials = tasks.generate_trials(labels, np.arange(32), "MTMF", 4, seed=0)
    fig = task_figures.plot_trials(trials, [0, 1])
    tgt = int(trials.targets[0, -1])
    spine = fig.axes[len(fig.axes) // 2 - 1].spines["top"]
    assert spine.get_visible()                                       # the target frame is whole
    assert matplotlib.colors.same_color(spine.get_edgecolor(), task_figures.RESPONSE_COLORS[tgt])
    plt.close(fig)
    table = trials.balance_table()
    for fig in (task_figures.plot_balance(table), task_figures.plot_chance_levels(table)):
        assert fig.axes
        plt.close(fig)


def test_ordered_cells_puts_features_in_book_order():
    from wmnb.figures.dynamics import ordered_cells

    df = pd.DataFrame({"task_feature": ["category", "location", "identity", "location"], "n": [1, 2, 1, 1]})
    out = ordered_cells(df)
    assert list(zip(out.task_feature, out.n)) == [("location", 1), ("location", 2), ("identity", 1),
                                                  ("category", 1)]


@pytest.mark.parametrize("mod", ["stimuli", "perception", "tasks", "behaviour", "relevance", "cross_task",
                                 "orthogonality", "dynamics", "procrustes", "perturbation", "explorer", "style"])
def test_every_figure_module_imports(mod):
    import importlib

    importlib.import_module(f"wmnb.figures.{mod}")

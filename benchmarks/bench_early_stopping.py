"""Would stopping a run when it has learned shorten the quick book? A replay on the cached runs' histories.

A plateau rule that reads only the evaluations recorded so far stops a run at exactly the step where it would
have stopped had it been trained with that rule (training up to that step is the same), so replaying it on the
histories of runs trained to the full budget measures its savings and its cost without training anything.

Rule (per task, i.e. per (feature, N) of the run's scenario): stop at an evaluation when no task's masked
accuracy on the validation split improved by more than ``min_delta`` over its best before the last
``patience`` evaluations. Validation split "train" = held-out sequences of the training images (the honest
choice: the novel-angle and novel-identity images are the test sets); "novel_angle" is shown for comparison
only (stopping on the test images would select on them).

    .venv/bin/python benchmarks/bench_early_stopping.py [--profile quick] [--patience 3 4 5] [--min-delta 0.005 0.01]

Prints, per rule, the fraction of the step budget used and the change of final novel-angle accuracy
(stopped - full budget: mean, 10th percentile, worst), overall and per kind of run.
"""
from __future__ import annotations

import argparse
import json

import pandas as pd

from wmnb.cache import default_cache_dir


def stop_step(acc: pd.DataFrame, patience: int, min_delta: float) -> int:
    """The step at which the rule stops (the last step when it never does). ``acc``: (step x task) accuracy."""
    for i in range(patience, len(acc)):
        gain = acc.iloc[i - patience + 1:i + 1].max() - acc.iloc[:i - patience + 1].max()
        if (gain <= min_delta).all():
            return int(acc.index[i])
    return int(acc.index[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--patience", type=int, nargs="+", default=[3, 4, 5])
    ap.add_argument("--min-delta", type=float, nargs="+", default=[0.005, 0.01])
    a = ap.parse_args(argv)
    rows = []
    for info_path in sorted((default_cache_dir() / "runs").glob("*/info.json")):
        info = json.loads(info_path.read_text())
        c = info["config"]
        if c["profile"] != a.profile:
            continue
        h = pd.read_csv(info_path.with_name("history.csv"))
        na = h[(h.split == "novel_angle") & (h.feature == "all")].set_index("step").accuracy
        m = c["model"]
        kind = " ".join([c["scenario"], m["core"], m["readout"]] + [v for v in (m["attention"], m["gate"]) if v != "none"])
        for split in ("train", "novel_angle"):
            v = h[(h.split == split) & (h.feature != "all")].assign(task=lambda d: d.feature + d.n.astype(str))
            acc = v.pivot(index="step", columns="task", values="accuracy").sort_index()
            for pat in a.patience:
                for md in a.min_delta:
                    s = stop_step(acc, pat, md)
                    rows.append(dict(split=split, patience=pat, min_delta=md, kind=kind, used=s / c["steps"],
                                     change=na.loc[s] - na.iloc[-1]))
    df = pd.DataFrame(rows)
    if df.empty:
        print(f"no cached {a.profile} runs in {default_cache_dir()}; build the book first")
        return
    print(f"{df.kind.size // (2 * len(a.patience) * len(a.min_delta))} cached {a.profile} runs; "
          "change = final novel-angle accuracy when stopped - at the full budget")
    q10 = ("change", lambda x: x.quantile(0.1))
    print(df.groupby(["split", "patience", "min_delta"]).agg(budget_used=("used", "mean"), change_mean=("change", "mean"),
                                                           change_q10=q10, change_worst=("change", "min"))
          .round(3).to_string())
    best = df[(df.split == "train") & (df.patience == max(a.patience)) & (df.min_delta == min(a.min_delta))]
    print(f"\nper kind of run, validation = held-out sequences of training images, patience {max(a.patience)}, "
          f"min_delta {min(a.min_delta)}:")
    print(best.groupby("kind").agg(runs=("used", "size"), budget_used=("used", "mean"), change_mean=("change", "mean"),
                                   change_worst=("change", "min")).round(3).to_string())


if __name__ == "__main__":
    main()

"""Planted tables, fakes and paths shared by several test modules (not a test module itself)."""
from pathlib import Path

import pandas as pd

from wmnb.stimuli import CATEGORIES, procedural_mesh
from wmnb.stimuli.shapenet import SYNSETS


CLAIM_KEYS = {"claim", "statement", "value", "ci_low", "ci_high", "paper", "verdict", "details", "protocol",
              "controls"}


def _xt_summary():
    rows = []
    for core, g in (("rnn", 0.8), ("gru", 0.3)):
        for seed in (0, 1):
            for site, ages in (("encoding", (0,)), ("memory", (1, 2))):
                for pr in (("image", "sequence") if site == "encoding" else ("image",)):
                    for v in ("raw", "centred"):
                        for a in ages:
                            for n in (1, 2, 3):
                                if a > n:
                                    continue
                                for p in ("location", "identity", "category"):
                                    rows.append(dict(seed=seed, core=core, scenario="MTMF", site=site, protocol=pr,
                                                     variant=v, age=a, n=n, property=p, validation=0.9,
                                                     generalisation=0.25 + 0.65 * g, same_feature_other_n=0.8,
                                                     chance=0.25, generalisation_index=g + 0.01 * seed,
                                                     decodable=True))
    return pd.DataFrame(rows)


ROOT = Path(__file__).resolve().parent.parent


def fake_shapenet(root: Path, n: int = 3) -> Path:
    """A tiny ShapeNetCore.v2 tree: ``n`` procedural meshes per category written as OBJ (as test_stimuli)."""
    for cat in CATEGORIES:
        for k in range(n):
            m = procedural_mesh(cat, k)
            d = root / SYNSETS[cat] / f"{k:04x}abcd" / "models"
            d.mkdir(parents=True)
            lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in m.vertices]
            lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in m.faces]
            (d / "model_normalized.obj").write_text("\n".join(lines) + "\n")
    return root


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*")] if folder.exists() else []

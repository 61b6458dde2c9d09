"""Meshes from a local ShapeNetCore.v2 folder (optional source; ShapeNet is gated, so nothing is downloaded).

Layout: ``<root>/<synset>/<model_id>/models/model_normalized.obj`` (+ ``.mtl`` and textures). Identities of
a category are the first ``k`` model ids in SORTED order (never file-system order). ShapeNetCore.v2 OBJ
files are pre-aligned with Y up and the front towards -Z (shapenet.org); a 180 degree yaw
(:data:`SHAPENET_YAW_DEG`) turns them to the package's canonical front (+Z).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from wmnb.errors import AssetError, ConfigError, check_choice, check_int
from wmnb.stimuli.formats import DEFAULT_MAX_FACES, decimate, folder_reader, parse_obj
from wmnb.stimuli.mesh import Mesh, normalise, rotation_y

SYNSETS = {"airplane": "02691156", "car": "02958343", "chair": "03001627", "table": "04379243"}
MODEL_FILE = Path("models") / "model_normalized.obj"
#: yaw applied to ShapeNetCore.v2 models so their front faces +Z
SHAPENET_YAW_DEG = 180.0


def _root(root: Union[str, os.PathLike, None]) -> Path:
    if root is None or str(root) == "":
        raise ConfigError("shapenet_root=None: give the path of a local ShapeNetCore.v2 folder "
                          "(<root>/<synset>/<model_id>/models/model_normalized.obj)")
    p = Path(root).expanduser()
    if not p.is_dir():
        raise AssetError(f"ShapeNetCore.v2 folder {p} does not exist; download ShapeNetCore.v2 (gated, needs an "
                         f"account) or use source='debian' / 'procedural'")
    return p


def list_shapenet_identities(root: Union[str, os.PathLike], category: str, k: int) -> list[str]:
    """The first ``k`` model ids (sorted) of a category that have ``models/model_normalized.obj``.

    Raises ConfigError for an unknown category or bad ``k``, AssetError when the root or the synset folder
    is missing or holds fewer than ``k`` usable models.
    """
    check_choice("category", category, list(SYNSETS))
    k = check_int("k", k, low=1)
    syn = _root(root) / SYNSETS[category]
    if not syn.is_dir():
        raise AssetError(f"ShapeNet synset folder {syn} ({category}) does not exist in {Path(root)}")
    ids = sorted(d.name for d in syn.iterdir() if (d / MODEL_FILE).is_file())
    if len(ids) < k:
        raise AssetError(f"{syn} has {len(ids)} models with {MODEL_FILE}, fewer than k={k}")
    return ids[:k]


def load_shapenet_mesh(root: Union[str, os.PathLike], category: str, k: int,
                       max_faces: int = DEFAULT_MAX_FACES) -> Mesh:
    """Load identity number ``k`` (0-based, in sorted model-id order) of a category as a normalised Mesh."""
    k = check_int("k", k, low=0)
    model_id = list_shapenet_identities(root, category, k + 1)[k]
    path = _root(root) / SYNSETS[category] / model_id / MODEL_FILE
    try:
        mesh = parse_obj(path.read_text(encoding="utf-8", errors="replace"), folder_reader(path.parent))
    except (OSError, ValueError) as exc:
        raise AssetError(f"cannot parse {path}: {exc}") from exc
    if mesh.n_faces == 0:
        raise AssetError(f"{path} contains no faces")
    return normalise(decimate(mesh, max_faces), rotation_y(SHAPENET_YAW_DEG))

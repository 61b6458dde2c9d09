"""The one mesh type every source returns and the renderer consumes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Mesh:
    """A triangle mesh with one colour per face.

    Attributes
    ----------
    vertices : (V, 3) float64
        Positions. After :func:`normalise`: Y up, the object's canonical front facing +Z (towards a camera
        at azimuth 0), centred on its bounding-box centre, bounding-box diagonal = 1.
    faces : (F, 3) int64
        Vertex indices of each triangle.
    face_colors : (F, 3) float64 in [0, 1]
        Linear RGB albedo per face.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_colors: np.ndarray

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.faces = np.asarray(self.faces, dtype=np.int64).reshape(-1, 3)
        self.face_colors = np.asarray(self.face_colors, dtype=np.float64).reshape(-1, 3)
        if len(self.face_colors) != len(self.faces):
            raise ValueError(f"face_colors has {len(self.face_colors)} rows but there are {len(self.faces)} faces")
        if len(self.faces) and (self.faces.min() < 0 or self.faces.max() >= len(self.vertices)):
            raise ValueError("faces index vertices that do not exist")

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(0), self.vertices.max(0)

    @staticmethod
    def concat(meshes: list["Mesh"]) -> "Mesh":
        vs, fs, cs, off = [], [], [], 0
        for m in meshes:
            vs.append(m.vertices)
            fs.append(m.faces + off)
            cs.append(m.face_colors)
            off += len(m.vertices)
        return Mesh(np.concatenate(vs), np.concatenate(fs), np.concatenate(cs))


def rotation_y(deg: float) -> np.ndarray:
    """3x3 rotation about +Y (right-handed; positive turns +Z towards +X)."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rotation_x(deg: float) -> np.ndarray:
    """3x3 rotation about +X (positive turns +Y towards +Z)."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def normalise(mesh: Mesh, rotation: np.ndarray | None = None) -> Mesh:
    """Apply an orientation correction, centre the bounding box at the origin, scale its diagonal to 1."""
    v = mesh.vertices
    if rotation is not None:
        v = v @ np.asarray(rotation, dtype=np.float64).T
    lo, hi = v.min(0), v.max(0)
    diag = float(np.linalg.norm(hi - lo))
    if diag <= 0:
        raise ValueError("mesh is degenerate (zero extent)")
    v = (v - (lo + hi) / 2) / diag
    return Mesh(v, mesh.faces.copy(), mesh.face_colors.copy())

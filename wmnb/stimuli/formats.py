"""Mesh file parsers (Wavefront OBJ + MTL, AC3D ``.ac``) and a deterministic decimation.

Every parser returns a :class:`wmnb.stimuli.mesh.Mesh` with one colour per triangle (linear RGB albedo in
[0, 1]); polygons are fan-triangulated. Companion files (``.mtl`` libraries, texture images) are read
through a ``read_file(relative_path) -> bytes`` callable, so the same code reads from a folder, a zip
archive (``.sh3f``) or memory. A missing companion file is not an error: the affected faces get the
material colour (or the default grey).

Textures are reduced to one colour: the alpha-weighted mean of the image in linear RGB, multiplied by the
material's diffuse colour. Faces whose texture is mostly transparent (mean alpha below
``MIN_TEXTURE_ALPHA``, e.g. propeller discs) are dropped.
"""
from __future__ import annotations

import io
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from wmnb.stimuli.mesh import Mesh

#: colour of faces without a (readable) material
DEFAULT_COLOR = (0.6, 0.6, 0.6)
#: faces whose texture's mean alpha is below this are dropped (transparent cards, propeller discs)
MIN_TEXTURE_ALPHA = 0.25
#: default face budget of :func:`decimate`
DEFAULT_MAX_FACES = 20000

ReadFile = Callable[[str], bytes]


@dataclass(frozen=True)
class TextureColor:
    """Mean colour of a texture image: linear RGB (alpha-weighted) and mean alpha (coverage)."""

    rgb: tuple
    alpha: float


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear RGB (IEC 61966-2-1)."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def texture_mean_color(data: bytes) -> TextureColor:
    """Mean colour of an image file's bytes (any format Pillow reads), see :class:`TextureColor`."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGBA")
        if max(im.size) > 256:  # the mean does not need every pixel; keeps big textures fast
            im = im.resize((min(im.size[0], 256), min(im.size[1], 256)), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float64) / 255.0
    rgb = srgb_to_linear(a[..., :3]).reshape(-1, 3)
    alpha = a[..., 3].reshape(-1)
    wsum = alpha.sum()
    mean = (rgb * alpha[:, None]).sum(0) / wsum if wsum > 0 else rgb.mean(0)
    return TextureColor(tuple(float(x) for x in mean), float(alpha.mean()))


class _TextureCache:
    def __init__(self, read_file: Optional[ReadFile]):
        self.read_file = read_file
        self.cache: dict[str, Optional[TextureColor]] = {}

    def get(self, path: str) -> Optional[TextureColor]:
        if path not in self.cache:
            self.cache[path] = None
            if self.read_file is not None:
                try:
                    self.cache[path] = texture_mean_color(self.read_file(path))
                except Exception:  # missing or unreadable texture: fall back to the material colour
                    self.cache[path] = None
        return self.cache[path]


def _fan(poly: list[int]) -> list[tuple[int, int, int]]:
    return [(poly[0], poly[i], poly[i + 1]) for i in range(1, len(poly) - 1)]


# ----------------------------------------------------------------------------------------------- OBJ / MTL

@dataclass
class _Material:
    kd: tuple = DEFAULT_COLOR
    texture: Optional[str] = None


def _map_file(rest: str) -> str:
    """The file name of a ``map_Kd [options] file`` statement (options start with '-')."""
    toks = rest.split()
    n_args = {"-o": 3, "-s": 3, "-t": 3, "-mm": 2, "-bm": 1, "-blendu": 1, "-blendv": 1, "-clamp": 1,
              "-texres": 1, "-imfchan": 1, "-boost": 1, "-cc": 1, "-type": 1}
    i = 0
    while i < len(toks) and toks[i].startswith("-") and toks[i] in n_args:
        i += 1 + n_args[toks[i]]
    return " ".join(toks[i:]).replace("\\", "/")


def parse_mtl(text: str, base: str = "", read_file: Optional[ReadFile] = None,
              textures: Optional[_TextureCache] = None) -> dict[str, tuple]:
    """Parse an MTL library into ``{material name: (rgb linear (3,), alpha coverage)}``.

    ``base`` is the folder (inside ``read_file``'s namespace) that texture paths are relative to.
    The colour is ``Kd`` times the texture's mean colour when ``map_Kd`` names a readable image.
    """
    textures = textures or _TextureCache(read_file)
    mats: dict[str, _Material] = {}
    cur: Optional[_Material] = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition(" ")
        rest = rest.strip()
        if key == "newmtl":
            cur = mats.setdefault(rest, _Material())
        elif cur is None:
            continue
        elif key == "Kd":
            vals = rest.split()
            try:
                rgb = [float(v) for v in vals[:3]]
                if len(rgb) == 1:
                    rgb = rgb * 3
                cur.kd = tuple(min(max(v, 0.0), 1.0) for v in rgb)
            except ValueError:
                pass
        elif key == "map_Kd":
            cur.texture = _map_file(rest)
    out = {}
    for name, m in mats.items():
        rgb, alpha = np.array(m.kd, dtype=np.float64), 1.0
        if m.texture:
            tc = textures.get(posixpath.normpath(posixpath.join(base, m.texture)))
            if tc is None and "/" in m.texture:  # some exporters keep absolute/foreign paths: try the name
                tc = textures.get(posixpath.normpath(posixpath.join(base, posixpath.basename(m.texture))))
            if tc is not None:
                rgb, alpha = rgb * np.array(tc.rgb), tc.alpha
        out[name] = (rgb, alpha)
    return out


def parse_obj(text: str, read_file: Optional[ReadFile] = None, *, base: str = "") -> Mesh:
    """Parse a Wavefront OBJ text into a :class:`Mesh`.

    Parameters
    ----------
    text : str
        OBJ file contents.
    read_file : callable, optional
        ``read_file(path) -> bytes`` for the ``mtllib`` files and textures (paths joined to ``base``);
        None = no materials (all faces grey).
    base : str
        Folder of the OBJ file in ``read_file``'s namespace.

    Notes
    -----
    Supports ``v``, ``f`` (``i``, ``i/t``, ``i//n``, ``i/t/n``; negative = relative indices; polygons
    fan-triangulated), ``usemtl`` and ``mtllib``. Faces referencing unknown materials are grey.
    """
    textures = _TextureCache(read_file)
    verts: list[list[float]] = []
    tris: list[tuple[int, int, int]] = []
    tri_mat: list[int] = []
    mat_names: list[Optional[str]] = [None]
    mat_index = {None: 0}
    cur = 0
    libs: list[str] = []
    for raw in text.splitlines():
        if not raw or raw[0] == "#":
            continue
        parts = raw.split()
        if not parts:
            continue
        key = parts[0]
        if key == "v":
            verts.append([float(parts[1]), float(parts[2]), float(parts[3])])
        elif key == "f":
            n = len(verts)
            poly = []
            for p in parts[1:]:
                i = int(p.split("/", 1)[0])
                poly.append(i - 1 if i > 0 else n + i)
            if len(poly) >= 3:
                for t in _fan(poly):
                    tris.append(t)
                    tri_mat.append(cur)
        elif key == "usemtl":
            name = raw.strip()[len("usemtl"):].strip()
            if name not in mat_index:
                mat_index[name] = len(mat_names)
                mat_names.append(name)
            cur = mat_index[name]
        elif key == "mtllib":
            libs.append(raw.strip()[len("mtllib"):].strip())
    materials: dict[str, tuple] = {}
    if read_file is not None:
        for lib in libs:
            candidates = [lib] + (lib.split() if " " in lib else [])
            for cand in candidates:
                path = posixpath.normpath(posixpath.join(base, cand.replace("\\", "/")))
                try:
                    data = read_file(path)
                except Exception:
                    continue
                materials.update(parse_mtl(data.decode("utf-8", errors="replace"),
                                           posixpath.dirname(path), read_file, textures))
                break
    table = np.empty((len(mat_names), 3))
    alpha = np.ones(len(mat_names))
    for k, name in enumerate(mat_names):
        rgb, a = materials.get(name, (np.array(DEFAULT_COLOR), 1.0)) if name is not None else (
            np.array(DEFAULT_COLOR), 1.0)
        table[k], alpha[k] = rgb, a
    faces = np.asarray(tris, dtype=np.int64).reshape(-1, 3)
    fm = np.asarray(tri_mat, dtype=np.int64)
    v = np.asarray(verts, dtype=np.float64).reshape(-1, 3)
    if len(faces) and (faces.min() < 0 or faces.max() >= len(v)):
        raise ValueError("OBJ face references a vertex that does not exist")
    keep = alpha[fm] >= MIN_TEXTURE_ALPHA if len(fm) else np.zeros(0, bool)
    return _compact(Mesh(v, faces[keep], table[fm[keep]]))


# -------------------------------------------------------------------------------------------------- AC3D

_AC_TOKEN = re.compile(r'"[^"]*"|\S+')


def parse_ac(text: str, read_file: Optional[ReadFile] = None, *, base: str = "",
             use_textures: bool = True, skip_objects: Optional[str] = None) -> Mesh:
    """Parse an AC3D (``.ac``) text into a :class:`Mesh`.

    Materials (``MATERIAL "name" rgb r g b ...``) give face colours; nested ``OBJECT`` blocks are placed
    with their ``rot`` (3x3, row-major, applied to row vectors as in OpenSceneGraph: ``v @ R``) and
    ``loc`` (translation), composed down the hierarchy. ``SURF`` polygons (type 0) are fan-triangulated;
    line surfaces are skipped. With ``use_textures``, a textured object's faces are tinted with the
    texture's mean colour (and dropped if it is mostly transparent). ``skip_objects`` is a regular
    expression: objects whose ``name`` matches it (``re.search``) are left out with their children (e.g.
    propeller discs whose transparency texture is not available).
    """
    skip_re = re.compile(skip_objects) if skip_objects else None
    lines = text.splitlines()
    if not lines or not lines[0].startswith("AC3D"):
        raise ValueError("not an AC3D file (missing 'AC3D' header)")
    textures = _TextureCache(read_file if use_textures else None)
    mats: list[np.ndarray] = []
    verts_out: list[np.ndarray] = []
    faces_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    n_verts = 0
    pos = 1
    n = len(lines)

    def toks(i):
        return _AC_TOKEN.findall(lines[i])

    # materials come first
    while pos < n and not lines[pos].startswith("OBJECT"):
        t = toks(pos)
        if t and t[0] == "MATERIAL":
            try:
                k = t.index("rgb")
                mats.append(np.clip(np.array([float(x) for x in t[k + 1:k + 4]]), 0, 1))
            except (ValueError, IndexError):
                mats.append(np.array(DEFAULT_COLOR))
        pos += 1

    def read_object(pos: int, parent_r: np.ndarray, parent_t: np.ndarray, skip: bool = False) -> int:
        nonlocal n_verts
        r_local = np.eye(3)
        t_local = np.zeros(3)
        local_v = np.zeros((0, 3))
        tris: list[tuple[int, int, int]] = []
        tri_mat: list[int] = []
        texture: Optional[str] = None
        pos += 1  # the OBJECT line
        kids = 0
        while pos < n:
            t = toks(pos)
            if not t:
                pos += 1
                continue
            key = t[0]
            if key == "kids":
                kids = int(t[1])
                pos += 1
                break
            if key == "data":
                nchar = int(t[1])
                pos += 1
                got = 0
                while got < nchar and pos < n:  # data may span several lines
                    got += len(lines[pos]) + 1
                    pos += 1
                continue
            if key == "name" and skip_re is not None and skip_re.search(lines[pos][4:].strip().strip('"')):
                skip = True
            elif key == "texture":
                texture = t[1].strip('"') if len(t) > 1 else None
            elif key == "rot":
                r_local = np.array([float(x) for x in t[1:10]]).reshape(3, 3)
            elif key == "loc":
                t_local = np.array([float(x) for x in t[1:4]])
            elif key == "numvert":
                nv = int(t[1])
                local_v = np.array([[float(x) for x in lines[pos + 1 + i].split()[:3]] for i in range(nv)],
                                   dtype=np.float64).reshape(-1, 3)
                pos += nv
            elif key == "numsurf":
                ns = int(t[1])
                pos += 1
                for _ in range(ns):
                    flags, mat, refs = 0, 0, []
                    while pos < n:
                        st = lines[pos].split()
                        if not st:
                            pos += 1
                            continue
                        if st[0] == "SURF":
                            flags = int(st[1], 16) if st[1].lower().startswith("0x") else int(st[1])
                        elif st[0] == "mat":
                            mat = int(st[1])
                        elif st[0] == "refs":
                            nr = int(st[1])
                            refs = [int(lines[pos + 1 + i].split()[0]) for i in range(nr)]
                            pos += nr + 1
                            break
                        pos += 1
                    if flags & 0x0F == 0 and len(refs) >= 3:
                        for tri in _fan(refs):
                            tris.append(tri)
                            tri_mat.append(mat)
                continue
            pos += 1
        # world transform of this object: v_world = (v @ R_local + t_local) @ R_parent + t_parent
        r_world = r_local @ parent_r
        t_world = t_local @ parent_r + parent_t
        if tris and len(local_v) and not skip:
            f = np.asarray(tris, dtype=np.int64)
            ok = (f.min(1) >= 0) & (f.max(1) < len(local_v))
            f = f[ok]
            m = np.asarray(tri_mat, dtype=np.int64)[ok]
            cols = np.stack([mats[k] if 0 <= k < len(mats) else np.array(DEFAULT_COLOR) for k in m]) \
                if len(m) else np.zeros((0, 3))
            if texture and use_textures and len(f):
                tc = textures.get(posixpath.normpath(posixpath.join(base, texture.replace("\\", "/"))))
                if tc is not None:
                    if tc.alpha < MIN_TEXTURE_ALPHA:
                        f, cols = f[:0], cols[:0]
                    else:
                        cols = cols * np.array(tc.rgb)
            if len(f):
                verts_out.append(local_v @ r_world + t_world)
                faces_out.append(f + n_verts)
                cols_out.append(cols)
                n_verts += len(local_v)
        for _ in range(kids):
            while pos < n and not lines[pos].startswith("OBJECT"):
                pos += 1
            if pos >= n:
                break
            pos = read_object(pos, r_world, t_world, skip)
        return pos

    while pos < n:
        if lines[pos].startswith("OBJECT"):
            pos = read_object(pos, np.eye(3), np.zeros(3))
        else:
            pos += 1
    if not faces_out:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 3)))
    return _compact(Mesh(np.concatenate(verts_out), np.concatenate(faces_out), np.concatenate(cols_out)))


# ------------------------------------------------------------------------------------------ file helpers

def folder_reader(folder: str | Path) -> ReadFile:
    """A ``read_file`` for paths relative to a folder."""
    root = Path(folder)

    def read(path: str) -> bytes:
        return (root / path).read_bytes()

    return read


def zip_reader(zf) -> ReadFile:
    """A ``read_file`` for member paths of an open :class:`zipfile.ZipFile` (leading '/' ignored)."""
    names = {n.lstrip("/"): n for n in zf.namelist()}
    lower = {k.lower(): v for k, v in names.items()}

    def read(path: str) -> bytes:
        p = posixpath.normpath(path.lstrip("/"))
        name = names.get(p) or lower.get(p.lower())
        if name is None:
            raise KeyError(path)
        return zf.read(name)

    return read


def load_mesh_file(path: str | Path) -> Mesh:
    """Parse an ``.obj`` or ``.ac`` file from disk (companion files from the same folder)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    reader = folder_reader(path.parent)
    if path.suffix.lower() == ".obj":
        return parse_obj(text, reader)
    if path.suffix.lower() == ".ac":
        return parse_ac(text, reader)
    raise ValueError(f"unsupported mesh format {path.suffix!r} (expected .obj or .ac)")


# -------------------------------------------------------------------------------------------- decimation

def _compact(mesh: Mesh) -> Mesh:
    """Drop unreferenced vertices (keeps the order of the remaining ones)."""
    if mesh.n_faces == 0:
        return Mesh(np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 3)))
    used = np.zeros(len(mesh.vertices), bool)
    used[mesh.faces.ravel()] = True
    remap = np.cumsum(used) - 1
    return Mesh(mesh.vertices[used], remap[mesh.faces], mesh.face_colors)


def _cluster(mesh: Mesh, res: int) -> Mesh:
    v = mesh.vertices
    lo, hi = v.min(0), v.max(0)
    ext = np.maximum(hi - lo, 1e-12)
    cell = ext.max() / res
    q = np.minimum(np.floor((v - lo) / cell).astype(np.int64), (np.ceil(ext / cell)).astype(np.int64))
    dims = q.max(0) + 1
    key = (q[:, 0] * dims[1] + q[:, 1]) * dims[2] + q[:, 2]
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(-1)
    counts = np.bincount(inv, minlength=len(uniq)).astype(np.float64)
    newv = np.stack([np.bincount(inv, weights=v[:, k], minlength=len(uniq)) for k in range(3)], 1) / counts[:, None]
    f = inv[mesh.faces]
    ok = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f, c = f[ok], mesh.face_colors[ok]
    # remove duplicate triangles (same vertex set), keeping the first occurrence
    s = np.sort(f, axis=1)
    _, first = np.unique(s, axis=0, return_index=True)
    first = np.sort(first)
    return _compact(Mesh(newv, f[first], c[first]))


def decimate(mesh: Mesh, max_faces: int = DEFAULT_MAX_FACES) -> Mesh:
    """Reduce a mesh to at most ``max_faces`` triangles by vertex clustering on a regular grid.

    Deterministic: vertices in one grid cell merge into their mean, collapsed and duplicate triangles are
    dropped. The grid gets coarser (cells along the longest bbox side: 1024, then x0.85 per step) until the
    budget is met. Meshes within the budget are returned unchanged. Bounds shrink by at most one cell.
    """
    if max_faces < 1:
        raise ValueError("max_faces must be >= 1")
    if mesh.n_faces <= max_faces:
        return mesh
    res = 1024.0
    out = mesh
    while res >= 2:
        out = _cluster(mesh, int(res))
        if out.n_faces <= max_faces:
            return out
        res *= 0.85
    return out

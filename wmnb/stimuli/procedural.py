"""Dependency-free parametric meshes: chairs, tables, cars and airplanes built from boxes and cylinders.

Every object is a deterministic function of ``(category, k, seed)``: the same triple gives bit-identical
vertices, faces and colours on any machine (only numpy arithmetic on a seeded ``default_rng``). Discrete
styles (legs or pedestal, round or rectangular top, sedan or pickup, airliner or fighter...) are cycled by
``k`` so that neighbouring identities always differ in kind; continuous proportions and colours are drawn
from the generator, so any number of identities can be made.

Conventions of the built meshes (before :func:`wmnb.stimuli.mesh.normalise`, which centres and scales
them): metres, Y up, the object's front towards +Z (a car's or airplane's nose, the side of a chair one sits
down from). All colours are bright enough to stand out on a black background (never near-black).

Examples
--------
>>> from wmnb.stimuli.procedural import procedural_mesh
>>> m = procedural_mesh("chair", 3, seed=0)
>>> m.vertices.shape[1], m.n_faces > 50
(3, True)
"""
from __future__ import annotations

import colorsys

import numpy as np

from wmnb.errors import check_choice, check_int
from wmnb.stimuli.mesh import Mesh, normalise, rotation_x, rotation_y

#: categories this module can build, in label order
PROCEDURAL_CATEGORIES = ("airplane", "car", "chair", "table")

_N_SEG = 20  # segments of a cylinder around its axis


# --------------------------------------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------------------------------------
def _orient_outward(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Flip triangles of a convex solid so that their normals point away from its centroid."""
    c = vertices.mean(0)
    a, b, d = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    n = np.cross(b - a, d - a)
    centre = (a + b + d) / 3.0
    flip = np.einsum("ij,ij->i", n, centre - c) < 0
    faces = faces.copy()
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return faces


def _solid(vertices: np.ndarray, faces: np.ndarray, color) -> Mesh:
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = _orient_outward(vertices, np.asarray(faces, dtype=np.int64))
    cols = np.tile(np.asarray(color, dtype=np.float64), (len(faces), 1))
    return Mesh(vertices, faces, cols)


# the 6 quads of a hexahedron whose corners are indexed i = xbit + 2*ybit + 4*zbit
_HEX_QUADS = np.array([[0, 2, 6, 4], [1, 3, 7, 5], [0, 1, 5, 4], [2, 3, 7, 6], [0, 1, 3, 2], [4, 5, 7, 6]])
_HEX_FACES = np.concatenate([_HEX_QUADS[:, [0, 1, 2]], _HEX_QUADS[:, [0, 2, 3]]])


def hexahedron(corners, color) -> Mesh:
    """A convex solid with 8 corners (index = xbit + 2*ybit + 4*zbit) and 12 triangles.

    Parameters
    ----------
    corners : (8, 3) array_like
        Corner positions; corner ``i`` is the (i&1, i>>1&1, i>>2&1) corner of a deformed unit cube.
    color : (3,) array_like in [0, 1]
    """
    return _solid(np.asarray(corners, dtype=np.float64).reshape(8, 3), _HEX_FACES, color)


def box(center, size, color) -> Mesh:
    """An axis-aligned box of full extents ``size`` (3,) centred on ``center`` (3,)."""
    center = np.asarray(center, dtype=np.float64)
    half = np.asarray(size, dtype=np.float64) / 2.0
    bits = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=np.float64)
    return hexahedron(center + (bits * 2 - 1) * half, color)


def frustum(p0, p1, r0: float, r1: float, color, n: int = _N_SEG) -> Mesh:
    """A capped cylinder / cone frustum from point ``p0`` (radius ``r0``) to ``p1`` (radius ``r1``).

    A radius of 0 gives a cone with a single apex vertex. ``n`` segments around the axis.
    """
    p0 = np.asarray(p0, dtype=np.float64)
    p1 = np.asarray(p1, dtype=np.float64)
    axis = p1 - p0
    axis = axis / np.linalg.norm(axis)
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    ang = 2 * np.pi * np.arange(n) / n
    ring = np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * w  # (n, 3)
    verts, faces = [], []

    def add_ring(p, r):
        if r <= 1e-9:
            verts.append(p[None])
            return [len_so_far(verts) - 1] * n
        verts.append(p + r * ring)
        start = len_so_far(verts) - n
        return list(range(start, start + n))

    def len_so_far(vs):
        return sum(len(v) for v in vs)

    ia = add_ring(p0, r0)
    ib = add_ring(p1, r1)
    for j in range(n):
        j2 = (j + 1) % n
        if ia[j] != ia[j2]:
            faces.append([ia[j], ia[j2], ib[j2]])
        if ib[j] != ib[j2]:
            faces.append([ia[j], ib[j2], ib[j]])
    for p, idx in ((p0, ia), (p1, ib)):
        if idx[0] != idx[1]:  # a cap
            verts.append(p[None])
            c = len_so_far(verts) - 1
            faces.extend([[c, idx[j], idx[(j + 1) % n]] for j in range(n)])
    return _solid(np.concatenate(verts), np.array(faces), color)


def _transform(mesh: Mesh, rotation=None, pivot=(0, 0, 0), translate=(0, 0, 0)) -> Mesh:
    v = mesh.vertices - np.asarray(pivot, dtype=np.float64)
    if rotation is not None:
        v = v @ np.asarray(rotation).T
    v = v + np.asarray(pivot, dtype=np.float64) + np.asarray(translate, dtype=np.float64)
    return Mesh(v, mesh.faces.copy(), mesh.face_colors.copy())


def _mirror_x(mesh: Mesh) -> Mesh:
    v = mesh.vertices * np.array([-1.0, 1.0, 1.0])
    return Mesh(v, mesh.faces[:, [0, 2, 1]], mesh.face_colors.copy())


# --------------------------------------------------------------------------------------------------------
# colours
# --------------------------------------------------------------------------------------------------------
_GOLDEN = 0.6180339887498949


def _colour(rng: np.random.Generator, k: int, *, offset: float = 0.0, sat=(0.35, 0.8), val=(0.6, 0.95)):
    """A bright colour whose hue walks the golden-ratio sequence over ``k`` (neighbours differ in hue)."""
    hue = (k * _GOLDEN + offset + rng.uniform(-0.06, 0.06)) % 1.0
    s = rng.uniform(*sat)
    v = rng.uniform(*val)
    return np.array(colorsys.hsv_to_rgb(hue, s, v))


def _neutral(rng: np.random.Generator, low=0.55, high=0.85, tint=None):
    g = rng.uniform(low, high)
    c = np.array([g, g, g])
    if tint is not None:
        c = 0.8 * c + 0.2 * np.asarray(tint)
    return c


_WOODS = np.array([[0.62, 0.42, 0.25], [0.78, 0.6, 0.4], [0.5, 0.33, 0.2], [0.85, 0.72, 0.52],
                   [0.7, 0.5, 0.35]])
_DARK_OK = np.array([0.32, 0.32, 0.35])  # tyres etc.: dark but visible on black


def _pick(rng, k, options, shift=0):
    """Cycle a discrete style by ``k`` (so neighbours differ), with a seeded shift per seed."""
    return options[(k + shift) % len(options)]


# --------------------------------------------------------------------------------------------------------
# categories
# --------------------------------------------------------------------------------------------------------
def _chair(rng: np.random.Generator, k: int, shift: int) -> tuple[list[Mesh], str]:
    base = _pick(rng, k, ("legs", "pedestal", "sled", "round_legs"), shift)
    back = _pick(rng, k // 2 + k, ("panel", "slats", "ladder"), shift)
    arms = bool((k // 4 + k + shift) % 3 == 0) or base == "pedestal" and rng.uniform() < 0.5
    w = rng.uniform(0.42, 0.6)
    d = rng.uniform(0.4, 0.55)
    t = rng.uniform(0.04, 0.1)
    h = rng.uniform(0.38, 0.5)
    hb = rng.uniform(0.3, 0.6)
    tilt = rng.uniform(0, 14)
    main = _colour(rng, k, offset=0.1)
    frame = _WOODS[rng.integers(len(_WOODS))] if rng.uniform() < 0.5 else _colour(rng, k, offset=0.5,
                                                                                      sat=(0.1, 0.4))
    parts = [box((0, h - t / 2, 0), (w, t, d), main)]
    lw = rng.uniform(0.03, 0.055)
    if base in ("legs", "round_legs"):
        for sx in (-1, 1):
            for sz in (-1, 1):
                x, z = sx * (w / 2 - lw), sz * (d / 2 - lw)
                if base == "legs":
                    parts.append(box((x, (h - t) / 2, z), (lw * 1.4, h - t, lw * 1.4), frame))
                else:
                    parts.append(frustum((x * 1.08, 0, z * 1.08), (x, h - t, z), lw * 0.6, lw * 0.9, frame,
                                         n=10))
        if rng.uniform() < 0.5:  # stretchers
            for sx in (-1, 1):
                parts.append(box((sx * (w / 2 - lw), h * 0.3, 0), (lw, lw, d - 2 * lw), frame))
    elif base == "pedestal":
        parts.append(frustum((0, 0.07, 0), (0, h - t, 0), 0.03, 0.03, _neutral(rng), n=12))
        arm_len = rng.uniform(0.26, 0.34)
        for i in range(5):
            a = 2 * np.pi * i / 5
            leg = box((0, 0.05, arm_len / 2), (0.05, 0.04, arm_len), frame)
            parts.append(_transform(leg, rotation_y(np.rad2deg(a))))
            tip = np.array([np.sin(a), 0, np.cos(a)]) * arm_len
            parts.append(box(tip + (0, 0.02, 0), (0.05, 0.04, 0.05), _DARK_OK + 0.1))
    else:  # sled: two floor runners joined by uprights
        for sx in (-1, 1):
            x = sx * (w / 2 - lw)
            parts.append(box((x, lw / 2, 0), (lw, lw, d * 1.05), frame))
            for sz in (-1, 1):
                parts.append(box((x, (h - t) / 2, sz * (d / 2 - lw)), (lw, h - t, lw), frame))
    # back, built upright at the rear edge then tilted backwards about the rear edge of the seat
    zb = -d / 2 + 0.03
    back_parts = []
    pw = rng.uniform(0.035, 0.05)
    for sx in (-1, 1):
        back_parts.append(box((sx * (w / 2 - pw / 2), h + hb / 2, zb), (pw, hb, pw), frame))
    if back == "panel":
        back_parts.append(box((0, h + hb * 0.55, zb), (w, hb * 0.8, 0.04), main))
    elif back == "slats":
        n = int(rng.integers(3, 6))
        for x in np.linspace(-w / 2 + 0.08, w / 2 - 0.08, n):
            back_parts.append(box((x, h + hb / 2, zb), (0.035, hb, 0.025), main))
        back_parts.append(box((0, h + hb - 0.03, zb), (w, 0.06, 0.04), frame))
    else:  # ladder
        n = int(rng.integers(2, 5))
        for y in np.linspace(h + 0.12, h + hb - 0.04, n):
            back_parts.append(box((0, y, zb), (w, 0.05, 0.03), main))
    back_mesh = Mesh.concat(back_parts)
    parts.append(_transform(back_mesh, rotation_x(-tilt), pivot=(0, h, zb)))
    if arms:
        ah = rng.uniform(0.18, 0.26)
        for sx in (-1, 1):
            x = sx * (w / 2 + 0.02)
            parts.append(box((x, h + ah, -0.02), (0.06, 0.04, d * 0.85), frame))
            parts.append(box((x, h + ah / 2, d / 2 - 0.06), (0.04, ah, 0.04), frame))
    desc = f"{base.replace('_', ' ')}, {back} back" + (", arms" if arms else "")
    return parts, desc


def _table(rng: np.random.Generator, k: int, shift: int) -> tuple[list[Mesh], str]:
    top = _pick(rng, k, ("rect", "round", "square", "oval"), shift)
    base = _pick(rng, k // 4 + k, ("legs", "pedestal", "trestle"), shift)
    height = float(rng.choice([0.45, 0.74, 0.76, 1.02])) + rng.uniform(-0.03, 0.03)
    th = rng.uniform(0.03, 0.08)
    topc = _WOODS[rng.integers(len(_WOODS))] if rng.uniform() < 0.5 else _colour(rng, k, offset=0.3)
    frame = _colour(rng, k, offset=0.7, sat=(0.1, 0.5)) if rng.uniform() < 0.6 else topc * 0.85
    if top == "rect":
        lx, lz = rng.uniform(1.1, 1.8), rng.uniform(0.6, 0.95)
    elif top == "square":
        lx = lz = rng.uniform(0.7, 1.0)
    else:
        lx = rng.uniform(0.7, 1.1)
        lz = lx if top == "round" else lx * rng.uniform(0.55, 0.7)
    if top in ("rect", "square"):
        parts = [box((0, height - th / 2, 0), (lx, th, lz), topc)]
    else:
        disc = frustum((0, height - th, 0), (0, height, 0), lx / 2, lx / 2, topc, n=32)
        v = disc.vertices * np.array([1.0, 1.0, lz / lx])
        parts = [Mesh(v, disc.faces, disc.face_colors)]
    lw = rng.uniform(0.04, 0.08)
    leg_h = height - th
    if base == "legs":
        inset = 0.78 if top in ("round", "oval") else 1.0
        round_legs = rng.uniform() < 0.5
        for sx in (-1, 1):
            for sz in (-1, 1):
                x = sx * (lx / 2 * inset - lw * 1.2) * (0.72 if top in ("round", "oval") else 1)
                z = sz * (lz / 2 * inset - lw * 1.2) * (0.72 if top in ("round", "oval") else 1)
                if round_legs:
                    parts.append(frustum((x, 0, z), (x, leg_h, z), lw * 0.4, lw * 0.6, frame, n=10))
                else:
                    parts.append(box((x, leg_h / 2, z), (lw, leg_h, lw), frame))
        if top in ("rect", "square"):  # apron under the top
            ah = rng.uniform(0.05, 0.1)
            parts.append(box((0, leg_h - ah / 2, lz / 2 - lw), (lx - 2.5 * lw, ah, 0.02), frame))
            parts.append(box((0, leg_h - ah / 2, -lz / 2 + lw), (lx - 2.5 * lw, ah, 0.02), frame))
    elif base == "pedestal":
        foot = rng.uniform(0.22, 0.4) * max(lz, 0.6)
        if top == "rect":  # two pedestals for a long top
            xs = (-lx / 4, lx / 4)
        else:
            xs = (0.0,)
        for x in xs:
            parts.append(frustum((x, 0.04, 0), (x, leg_h, 0), lw * 0.9, lw * 0.6, frame, n=16))
            if rng.uniform() < 0.5:
                parts.append(frustum((x, 0, 0), (x, 0.04, 0), foot, foot * 0.9, frame, n=24))
            else:
                for i in range(4):
                    leg = box((x, 0.03, foot / 2), (0.06, 0.06, foot), frame)
                    parts.append(_transform(leg, rotation_y(45 + 90 * i), pivot=(x, 0, 0)))
    else:  # trestle: two A-shaped ends joined by a stretcher
        for sx in (-1, 1):
            x = sx * (lx / 2 - 0.12)
            spread = lz * 0.35
            for sz in (-1, 1):
                c = [(x - lw / 2, 0, sz * spread - lw / 2), (x + lw / 2, 0, sz * spread - lw / 2),
                     (x - lw / 2, leg_h, sz * 0.05 - lw / 2), (x + lw / 2, leg_h, sz * 0.05 - lw / 2),
                     (x - lw / 2, 0, sz * spread + lw / 2), (x + lw / 2, 0, sz * spread + lw / 2),
                     (x - lw / 2, leg_h, sz * 0.05 + lw / 2), (x + lw / 2, leg_h, sz * 0.05 + lw / 2)]
                parts.append(hexahedron(c, frame))
            parts.append(box((x, 0.03, 0), (lw * 1.2, 0.06, 2 * spread + lw), frame))
        parts.append(box((0, leg_h * 0.35, 0), (lx - 0.24, lw, lw), frame))
    desc = f"{top} top, {base}" + (", low" if height < 0.6 else ", bar height" if height > 0.9 else "")
    return parts, desc


def _car(rng: np.random.Generator, k: int, shift: int) -> tuple[list[Mesh], str]:
    style = _pick(rng, k, ("sedan", "hatchback", "pickup", "van", "sports", "suv"), shift)
    L = rng.uniform(3.8, 4.9)
    W = rng.uniform(1.65, 1.95)
    clear = {"suv": 0.35, "pickup": 0.33, "van": 0.25, "sports": 0.12}.get(style, 0.2) + rng.uniform(-0.03, 0.03)
    bh = {"sports": 0.45, "van": 0.7, "suv": 0.75, "pickup": 0.7}.get(style, 0.6) + rng.uniform(-0.05, 0.05)
    body_c = _colour(rng, k, offset=0.0, sat=(0.5, 0.9), val=(0.65, 0.95))
    glass = np.array([0.55, 0.68, 0.8]) * rng.uniform(0.85, 1.0)
    parts = []
    y0 = clear
    y1 = clear + bh
    # lower body: slightly tapered hexahedron (narrower at the top, shorter bonnet line)
    nose_drop = rng.uniform(0.05, 0.2) * bh
    c = []
    for i in range(8):
        xb, yb, zb = i & 1, (i >> 1) & 1, (i >> 2) & 1
        x = (W / 2) * (1 if xb else -1) * (0.96 if yb else 1.0)
        z = (L / 2) * (1 if zb else -1) * (0.97 if yb else 1.0)
        y = y1 if yb else y0
        if yb and zb:
            y -= nose_drop
        c.append((x, y, z))
    parts.append(hexahedron(c, body_c))
    # cabin
    ch = {"van": 0.85, "suv": 0.6, "sports": 0.33}.get(style, 0.45) + rng.uniform(-0.05, 0.05)
    if style == "van":
        zr, zf, zr_top, zf_top = -L / 2 + 0.05, L / 2 - 0.9, -L / 2 + 0.1, L / 2 - 1.3
    elif style == "hatchback" or style == "suv":
        zr, zf = -L / 2 + 0.1, L * rng.uniform(0.05, 0.15)
        zr_top, zf_top = zr + 0.15, zf - rng.uniform(0.5, 0.8)
    elif style == "pickup":
        zr, zf = -L * 0.05, L * 0.2
        zr_top, zf_top = zr + 0.05, zf - 0.45
    else:  # sedan, sports
        zr, zf = -L * rng.uniform(0.25, 0.33), L * rng.uniform(0.08, 0.18)
        zr_top, zf_top = zr + rng.uniform(0.3, 0.6), zf - rng.uniform(0.5, 0.8)
    cw, cw_top = W * 0.92, W * 0.8
    c = []
    for i in range(8):
        xb, yb, zb = i & 1, (i >> 1) & 1, (i >> 2) & 1
        x = ((cw_top if yb else cw) / 2) * (1 if xb else -1)
        y = y1 + (ch if yb else -0.02)
        z = (zf_top if yb else zf) if zb else (zr_top if yb else zr)
        c.append((x, y, z))
    parts.append(hexahedron(c, glass))
    # roof panel (body colour) on top of the glass cabin
    parts.append(box((0, y1 + ch + 0.015, (zf_top + zr_top) / 2), (cw_top * 1.01, 0.03, zf_top - zr_top), body_c))
    if style == "pickup":  # open bed walls
        for sx in (-1, 1):
            parts.append(box((sx * (W / 2 - 0.04), y1 + 0.15, (zr - L / 2) / 2), (0.08, 0.3, zr + L / 2), body_c))
        parts.append(box((0, y1 + 0.15, -L / 2 + 0.04), (W, 0.3, 0.08), body_c))
    if style == "sports" and rng.uniform() < 0.7:
        parts.append(box((0, y1 + 0.2, -L / 2 + 0.15), (W * 0.9, 0.04, 0.25), body_c * 0.8))
        for sx in (-1, 1):
            parts.append(box((sx * W * 0.35, y1 + 0.1, -L / 2 + 0.15), (0.05, 0.2, 0.08), body_c * 0.8))
    # wheels (axis along X)
    r = {"suv": 0.4, "pickup": 0.4, "sports": 0.32}.get(style, 0.34) + rng.uniform(-0.02, 0.02)
    tw = rng.uniform(0.2, 0.3)
    wb = L * rng.uniform(0.28, 0.34)
    hub = _neutral(rng, 0.7, 0.9)
    for sz in (-1, 1):
        for sx in (-1, 1):
            x_out = sx * (W / 2 + 0.02)
            x_in = x_out - sx * tw
            parts.append(frustum((x_in, r, sz * wb), (x_out, r, sz * wb), r, r, _DARK_OK, n=18))
            parts.append(frustum((x_out, r, sz * wb), (x_out + sx * 0.01, r, sz * wb), r * 0.55, r * 0.55,
                                 hub, n=12))
    # lights
    lz = L / 2 * 0.97
    for sx in (-1, 1):
        parts.append(box((sx * W * 0.33, y1 - nose_drop - 0.12, lz + 0.01), (0.3, 0.1, 0.04), (0.98, 0.95, 0.75)))
        parts.append(box((sx * W * 0.36, y1 - 0.15, -L / 2 - 0.01), (0.25, 0.1, 0.04), (0.9, 0.2, 0.2)))
    return parts, style


def _wing(x0, x1, z_le_root, chord_root, chord_tip, sweep, y, dihedral, thick, color) -> Mesh:
    """A trapezoidal wing panel between span positions x0 (root) and x1 (tip), leading edge towards +Z."""
    span = x1 - x0
    y_tip = y + abs(span) * np.tan(np.deg2rad(dihedral))
    z_le_tip = z_le_root - sweep
    c = []
    for i in range(8):
        xb, yb, zb = i & 1, (i >> 1) & 1, (i >> 2) & 1
        x = x1 if xb else x0
        yy = (y_tip if xb else y) + (thick / 2 if yb else -thick / 2) * (0.5 if xb else 1.0)
        if xb:
            z = z_le_tip if zb else z_le_tip - chord_tip
        else:
            z = z_le_root if zb else z_le_root - chord_root
        c.append((x, yy, z))
    return hexahedron(c, color)


def _airplane(rng: np.random.Generator, k: int, shift: int) -> tuple[list[Mesh], str]:
    style = _pick(rng, k, ("airliner", "fighter", "prop", "twin_prop", "jumbo", "glider"), shift)
    Lf = {"fighter": 15, "prop": 8, "twin_prop": 11, "jumbo": 60, "glider": 8}.get(style, 35) * rng.uniform(0.9, 1.1)
    r = Lf * {"fighter": 0.05, "prop": 0.07, "glider": 0.04, "twin_prop": 0.065, "jumbo": 0.055}.get(style, 0.05)
    r *= rng.uniform(0.9, 1.15)
    body = _neutral(rng, 0.75, 0.95) if style in ("airliner", "jumbo") else _colour(rng, k, sat=(0.2, 0.6))
    accent = _colour(rng, k, offset=0.4, sat=(0.55, 0.9))
    parts = []
    zt, zn = -Lf / 2, Lf / 2  # tail and nose ends of the fuselage
    nose_len = Lf * (0.2 if style == "fighter" else 0.1)
    tail_len = Lf * 0.22
    parts.append(frustum((0, 0, zt + tail_len), (0, 0, zn - nose_len), r, r, body))
    parts.append(frustum((0, 0, zn - nose_len), (0, -r * 0.2 if style != "fighter" else 0, zn),
                         r, r * (0.05 if style == "fighter" else 0.3), body))
    parts.append(frustum((0, r * 0.35, zt), (0, 0, zt + tail_len), r * 0.3, r, body))
    # cockpit windows
    parts.append(box((0, r * 0.55, zn - nose_len * (0.9 if style == "fighter" else 0.4)),
                     (r * 1.1, r * 0.5, r * 0.8), (0.55, 0.7, 0.85)))
    # main wing
    if style == "fighter":
        span = Lf * rng.uniform(0.3, 0.4)
        c_root, c_tip, sweep = Lf * 0.45, Lf * 0.05, Lf * 0.38
        wing_y, dih, z_le = 0.0, -2.0, Lf * 0.12
    elif style == "glider":
        span = Lf * rng.uniform(1.4, 1.8)
        c_root, c_tip, sweep = Lf * 0.12, Lf * 0.06, 0.0
        wing_y, dih, z_le = r * 0.8, 3.0, Lf * 0.2
    elif style in ("prop", "twin_prop"):
        span = Lf * rng.uniform(0.55, 0.7) * (1.0 if style == "prop" else 0.8)
        c_root, c_tip, sweep = Lf * 0.16, Lf * 0.1, Lf * 0.01
        high = rng.uniform() < 0.5
        wing_y, dih, z_le = (r * 0.9 if high else -r * 0.6), (1.0 if high else 5.0), Lf * 0.2
    else:
        span = Lf * rng.uniform(0.45, 0.55)
        c_root, c_tip, sweep = Lf * 0.2, Lf * 0.06, Lf * rng.uniform(0.12, 0.2)
        wing_y, dih, z_le = -r * 0.5, 6.0, Lf * 0.1
    thick = max(c_root * 0.1, r * 0.25)
    right = _wing(r * 0.5, span / 2, z_le, c_root, c_tip, sweep, wing_y, dih, thick, accent)
    parts.extend([right, _mirror_x(right)])
    # tail: horizontal stabiliser + fin (twin fins for fighters, T-tail sometimes)
    fin_h = r * {"fighter": 3.0, "glider": 4.0}.get(style, 2.8) * rng.uniform(0.9, 1.2)
    fin_c = tail_len * 0.8
    t_tail = style in ("glider", "twin_prop") and rng.uniform() < 0.7
    fins = [(-r * 0.6, 15.0), (r * 0.6, -15.0)] if style == "fighter" else [(0.0, 0.0)]
    for fx, lean in fins:
        c = []
        for i in range(8):
            xb, yb, zb = i & 1, (i >> 1) & 1, (i >> 2) & 1
            top = yb == 1
            x = fx + (0.05 * r if xb else -0.05 * r) + (np.tan(np.deg2rad(lean)) * fin_h if top else 0)
            y = r * 0.3 + (fin_h if top else 0)
            z_le_fin = zt + fin_c - (fin_c * 0.55 if top else 0)
            chord = fin_c * (0.45 if top else 1.0)
            z = z_le_fin if zb else z_le_fin - chord
            c.append((x, y, z))
        parts.append(hexahedron(c, accent if style != "airliner" else body))
    hs_span = span * rng.uniform(0.28, 0.4) if style != "fighter" else span * 0.6
    hs_y = r * 0.3 + fin_h * 0.95 if t_tail else r * 0.2
    hs = _wing(0.0 if t_tail else r * 0.3, hs_span / 2, zt + fin_c * (0.45 if t_tail else 0.9),
               fin_c * 0.6, fin_c * 0.3, fin_c * 0.25, hs_y, 3.0, thick * 0.6, accent)
    parts.extend([hs, _mirror_x(hs)])
    # engines
    engines = {"airliner": 2, "jumbo": 4, "twin_prop": 2}.get(style, 0)
    if engines:
        er = r * (0.45 if style != "twin_prop" else 0.5)
        el = c_root * 0.9
        xs = [span * 0.18] if engines == 2 else [span * 0.15, span * 0.3]
        for x in xs:
            frac = (x - r * 0.5) / (span / 2 - r * 0.5)
            zl = z_le - sweep * frac
            yw = wing_y + abs(x - r * 0.5) * np.tan(np.deg2rad(dih))
            for sx in (-1, 1):
                if style == "twin_prop":
                    p0, p1 = (sx * x, yw, zl - el * 0.7), (sx * x, yw, zl + el * 0.3)
                else:
                    p0, p1 = (sx * x, yw - er * 1.3, zl - el * 0.4), (sx * x, yw - er * 1.3, zl + el * 0.6)
                parts.append(frustum(p0, p1, er * 0.8, er, _neutral(rng, 0.6, 0.8), n=14))
                if style == "twin_prop":
                    parts.append(box((sx * x, yw, p1[2] + 0.05), (er * 5, er * 0.3, 0.08), _DARK_OK + 0.15))
    if style == "prop":
        parts.append(box((0, -r * 0.2, zn + 0.05), (r * 4.5, r * 0.35, 0.1), _DARK_OK + 0.15))
    return parts, style.replace("_", "-")


_BUILDERS = {"airplane": _airplane, "car": _car, "chair": _chair, "table": _table}


def _build(category: str, k: int, seed: int) -> tuple[Mesh, str]:
    check_choice("category", category, PROCEDURAL_CATEGORIES)
    k = check_int("k", k, low=0)
    seed = check_int("seed", seed, low=0)
    cat_index = PROCEDURAL_CATEGORIES.index(category)
    rng = np.random.default_rng([cat_index, k, seed])
    shift = int(np.random.default_rng([seed, cat_index, 7919]).integers(0, 60)) if seed else 0
    parts, desc = _BUILDERS[category](rng, k, shift)
    mesh = normalise(Mesh.concat(parts))
    # never near-black: lift any face whose brightest channel is below 0.3
    cols = mesh.face_colors
    peak = cols.max(1, keepdims=True)
    cols = np.where(peak < 0.3, cols + (0.3 - peak), cols)
    return Mesh(mesh.vertices, mesh.faces, np.clip(cols, 0.0, 1.0)), desc


def procedural_mesh(category: str, k: int, seed: int = 0) -> Mesh:
    """Build identity ``k`` of ``category`` as a normalised, coloured triangle mesh.

    Parameters
    ----------
    category : {"airplane", "car", "chair", "table"}
    k : int >= 0
        Identity index within the category; any number of identities can be made.
    seed : int >= 0
        Seed of the family; the same ``(category, k, seed)`` gives a bit-identical mesh.

    Returns
    -------
    Mesh
        Y up, front towards +Z, bounding box centred at the origin with diagonal 1; per-face colours in
        [0, 1] (never near-black).
    """
    return _build(category, k, seed)[0]


def procedural_description(category: str, k: int, seed: int = 0) -> str:
    """A short human-readable description of identity ``k`` (its discrete style choices)."""
    return _build(category, k, seed)[1]


def procedural_name(category: str, k: int) -> str:
    """The stable identity name ``"<category>_<kkk>"`` used in stimulus metadata."""
    return f"{category}_{int(k):03d}"

"""A small, deterministic CPU renderer (pure numpy z-buffer, flat Lambert shading, supersampled).

No OpenGL, no native code: the same mesh, view and size give the same bytes on every machine and run.

Camera
------
A perspective camera sits at a fixed distance from the origin and looks at it. ``azimuth_deg = 0`` puts
the camera on the +Z axis, so it sees the object's canonical front (which faces +Z after
:func:`wmnb.stimuli.mesh.normalise`); positive azimuth moves the camera towards +X; positive
``elevation_deg`` raises it above the object (it then looks down). The field of view is fixed so that a
normalised mesh (bounding-box diagonal 1, centred: every vertex lies within radius 0.5 of the origin)
fits inside the frame at *any* view with a small margin. The scale is the same for every object and view,
so apparent size differences are real size differences.

Shading
-------
Flat (one colour per face): ``albedo * (ambient + key |n.l_key| + fill |n.l_fill|)`` with the two lights
fixed relative to the camera (key from the upper left, fill from the right), so every view is lit the same
way. ``|n.l|`` lights both sides of each triangle (meshes are often open or inconsistently wound), and the
ambient term keeps dark materials visible. Colours are treated as linear RGB, averaged over the
``supersample x supersample`` sub-pixels of each output pixel (anti-aliasing), then gamma-encoded (2.2).

Rasterisation
-------------
Triangles are grouped by the size of their screen bounding box (rounded up to powers of two) and each
group is rasterised with one broadcast over (triangle, y, x) candidates, in chunks of bounded memory.
Depth is resolved with an order-independent minimum (``np.minimum.at``), and exact depth ties are broken
by the smallest face index, so the result does not depend on processing order.
"""
from __future__ import annotations

import numpy as np

from wmnb.errors import ConfigError, check_float, check_int
from wmnb.stimuli.mesh import Mesh

#: camera distance from the origin, in units of the normalised mesh (bbox diagonal 1)
CAMERA_DISTANCE = 2.5
#: radius (from the origin) that must fit into the frame; 0.5 = every vertex of a normalised mesh
FIT_RADIUS = 0.5
#: extra margin around the fitted sphere (fraction of the half-frame)
MARGIN = 0.04
AMBIENT = 0.30
KEY_STRENGTH = 0.70
FILL_STRENGTH = 0.30
#: light directions in camera coordinates (x right, y up, z towards the viewer)
KEY_DIR_CAM = (-0.45, 0.60, 0.66)
FILL_DIR_CAM = (0.75, -0.05, 0.45)
GAMMA = 2.2
#: maximal number of (triangle, pixel) candidates per broadcast chunk (memory bound)
_CHUNK = 1 << 21


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.sqrt((v * v).sum())


def camera_basis(azimuth_deg: float, elevation_deg: float, distance: float = CAMERA_DISTANCE):
    """Camera position and orthonormal basis for a view.

    Returns
    -------
    eye : (3,) position; right, up, forward : (3,) unit vectors (forward points from the eye to the origin).
    """
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    eye = distance * np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    forward = _unit(-eye)
    world_up = np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, world_up)
    if np.sqrt((right * right).sum()) < 1e-9:  # looking straight up/down: pick a stable right vector
        right = np.array([np.cos(az), 0.0, -np.sin(az)])
    right = _unit(right)
    up = _unit(np.cross(right, forward))
    return eye, right, up, forward


def focal_length() -> float:
    """Focal length in half-frame units: a sphere of radius FIT_RADIUS at the origin fits with MARGIN."""
    d, r = CAMERA_DISTANCE, FIT_RADIUS
    tan_half = r / np.sqrt(d * d - r * r)  # tangent of the sphere's angular radius
    return float(1.0 / (tan_half * (1.0 + MARGIN)))


def _dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product with a fixed summation order (no BLAS: bit-identical on any thread count)."""
    return a[..., 0] * b[0] + a[..., 1] * b[1] + a[..., 2] * b[2]


def _check_background(background) -> np.ndarray:
    bg = np.asarray(background)
    if bg.shape != (3,) or not np.all(np.isfinite(bg.astype(float))) or bg.min() < 0 or bg.max() > 255:
        raise ConfigError(f"background={background!r} must be three values in 0..255 (RGB)")
    return bg.astype(np.float64)


def face_shading(mesh: Mesh, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Linear RGB colour of every face for a view, shape (F, 3), in [0, 1]."""
    _, right, up, forward = camera_basis(azimuth_deg, elevation_deg)
    v = mesh.vertices
    f = mesh.faces
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    e1, e2 = b - a, c - a
    n = np.stack([e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1],
                  e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
                  e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]], axis=1)
    norm = np.sqrt((n * n).sum(1))
    n = n / np.where(norm > 0, norm, 1.0)[:, None]
    back = -forward  # towards the viewer

    def world(d):
        d = _unit(d)
        return _unit(d[0] * right + d[1] * up + d[2] * back)

    key, fill = world(KEY_DIR_CAM), world(FILL_DIR_CAM)
    light = AMBIENT + KEY_STRENGTH * np.abs(_dot3(n, key)) + FILL_STRENGTH * np.abs(_dot3(n, fill))
    return np.clip(mesh.face_colors * light[:, None], 0.0, 1.0)


def _rasterise(px: np.ndarray, py: np.ndarray, inv_z: np.ndarray, faces: np.ndarray, n: int) -> np.ndarray:
    """Face index per pixel of an n x n image (-1 = background).

    px, py : (V,) screen coordinates in pixels (x right, y down; pixel centres at i + 0.5);
    inv_z : (V,) 1 / depth (larger = nearer).
    """
    x0, x1, x2 = px[faces[:, 0]], px[faces[:, 1]], px[faces[:, 2]]
    y0, y1, y2 = py[faces[:, 0]], py[faces[:, 1]], py[faces[:, 2]]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    xmin = np.maximum(np.ceil(np.minimum(np.minimum(x0, x1), x2) - 0.5), 0).astype(np.int64)
    xmax = np.minimum(np.floor(np.maximum(np.maximum(x0, x1), x2) - 0.5), n - 1).astype(np.int64)
    ymin = np.maximum(np.ceil(np.minimum(np.minimum(y0, y1), y2) - 0.5), 0).astype(np.int64)
    ymax = np.minimum(np.floor(np.maximum(np.maximum(y0, y1), y2) - 0.5), n - 1).astype(np.int64)
    ok = (np.abs(area) > 1e-12) & (xmax >= xmin) & (ymax >= ymin)
    idx = np.nonzero(ok)[0]
    if len(idx) == 0:
        return np.full((n, n), -1, dtype=np.int64)
    w = xmax[idx] - xmin[idx] + 1
    h = ymax[idx] - ymin[idx] + 1
    bw = 1 << np.ceil(np.log2(w)).astype(np.int64)
    bh = 1 << np.ceil(np.log2(h)).astype(np.int64)
    z0, z1, z2 = inv_z[faces[:, 0]], inv_z[faces[:, 1]], inv_z[faces[:, 2]]

    frag_pix, frag_depth, frag_face = [], [], []
    group_key = bw * (1 << 20) + bh
    order = np.argsort(group_key, kind="stable")
    keys_sorted = group_key[order]
    bounds = np.nonzero(np.diff(keys_sorted))[0] + 1
    for g in np.split(order, bounds):
        gw, gh = int(bw[g[0]]), int(bh[g[0]])
        per = gw * gh
        step = max(1, _CHUNK // per)
        ox = np.arange(gw, dtype=np.int64)
        oy = np.arange(gh, dtype=np.int64)
        for s in range(0, len(g), step):
            t = idx[g[s:s + step]]
            xs = xmin[t][:, None, None] + ox[None, None, :]          # (k,1,gw)
            ys = ymin[t][:, None, None] + oy[None, :, None]          # (k,gh,1)
            cx = xs + 0.5
            cy = ys + 0.5
            ax, ay, bx, by, qx, qy = (x0[t][:, None, None], y0[t][:, None, None], x1[t][:, None, None],
                                      y1[t][:, None, None], x2[t][:, None, None], y2[t][:, None, None])
            ar = area[t][:, None, None]
            # barycentric weights (edge functions / signed area): all >= 0 inside, either winding
            w0 = ((bx - cx) * (qy - cy) - (qx - cx) * (by - cy)) / ar
            w1 = ((qx - cx) * (ay - cy) - (ax - cx) * (qy - cy)) / ar
            w2 = 1.0 - w0 - w1
            inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (xs <= xmax[t][:, None, None]) & (
                ys <= ymax[t][:, None, None])
            if not inside.any():
                continue
            depth = -(w0 * z0[t][:, None, None] + w1 * z1[t][:, None, None] + w2 * z2[t][:, None, None])
            kk, yy, xx = np.nonzero(inside)
            frag_pix.append((ymin[t][kk] + yy) * n + xmin[t][kk] + xx)
            frag_depth.append(depth[kk, yy, xx])
            frag_face.append(t[kk])
    out = np.full(n * n, -1, dtype=np.int64)
    if not frag_pix:
        return out.reshape(n, n)
    pix = np.concatenate(frag_pix)
    dep = np.concatenate(frag_depth)
    fac = np.concatenate(frag_face)
    zbuf = np.full(n * n, np.inf)
    np.minimum.at(zbuf, pix, dep)
    win = dep == zbuf[pix]
    best = np.full(n * n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, pix[win], fac[win])
    covered = best != np.iinfo(np.int64).max
    out[covered] = best[covered]
    return out.reshape(n, n)


def face_index_image(mesh: Mesh, azimuth_deg: float, elevation_deg: float, size: int) -> np.ndarray:
    """Which face is visible at each pixel of a ``size x size`` image (-1 = background); no supersampling."""
    eye, right, up, forward = camera_basis(azimuth_deg, elevation_deg)
    rel = mesh.vertices - eye
    xc, yc, zc = _dot3(rel, right), _dot3(rel, up), _dot3(rel, forward)
    if len(zc) and zc.min() <= 1e-6:
        raise ConfigError("the mesh reaches behind the camera; normalise it first (bbox diagonal 1)")
    fl = focal_length()
    half = size / 2.0
    px = half + (xc / zc) * fl * half
    py = half - (yc / zc) * fl * half
    return _rasterise(px, py, 1.0 / zc, mesh.faces, size)


def render_object(mesh: Mesh, azimuth_deg: float, elevation_deg: float, size: int, *,
                  background=(0, 0, 0), supersample: int = 3) -> np.ndarray:
    """Render a normalised mesh to an RGB image.

    Parameters
    ----------
    mesh : Mesh
        Normalised mesh (see :func:`wmnb.stimuli.mesh.normalise`): Y up, front towards +Z, bbox diagonal 1.
    azimuth_deg, elevation_deg : float
        View direction in degrees (0, 0 = looking at the front; +azimuth moves the camera towards +X,
        +elevation moves it above the object).
    size : int
        Output width and height in pixels.
    background : 3 values in 0..255
        Background RGB (sRGB, 8-bit).
    supersample : int
        Sub-pixels per pixel along each axis (anti-aliasing; 1 = none).

    Returns
    -------
    (size, size, 3) uint8 image. Deterministic: same bytes for the same inputs.
    """
    size = check_int("size", size, low=1, high=8192)
    ss = check_int("supersample", supersample, low=1, high=8)
    check_float("azimuth_deg", azimuth_deg)
    check_float("elevation_deg", elevation_deg, low=-90, high=90)
    bg = _check_background(background)
    bg_lin = (bg / 255.0) ** GAMMA
    n = size * ss
    fidx = face_index_image(mesh, azimuth_deg, elevation_deg, n)
    colors = face_shading(mesh, azimuth_deg, elevation_deg) if mesh.n_faces else np.zeros((0, 3))
    lin = np.empty((n, n, 3))
    lin[...] = bg_lin
    hit = fidx >= 0
    lin[hit] = colors[fidx[hit]]
    lin = lin.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    img = np.round(255.0 * np.clip(lin, 0.0, 1.0) ** (1.0 / GAMMA))
    # pixels with no object at all keep exactly the requested background value
    cover = hit.reshape(size, ss, size, ss).any(axis=(1, 3))
    img[~cover] = np.round(bg)
    return img.astype(np.uint8)

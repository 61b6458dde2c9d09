"""Mesh parsers, decimation, the CPU renderer and the ShapeNet folder loader (no external assets needed)."""
import io

import numpy as np
import pytest
from PIL import Image

from wmnb.errors import AssetError, ConfigError
from wmnb.stimuli.formats import decimate, load_mesh_file, parse_ac, parse_obj
from wmnb.stimuli.mesh import Mesh, normalise
from wmnb.stimuli.render import render_object
from wmnb.stimuli.shapenet import SYNSETS, list_shapenet_identities, load_shapenet_mesh

CUBE_OBJ = """\
mtllib cube.mtl
v -1 -1 -1
v 1 -1 -1
v 1 1 -1
v -1 1 -1
v -1 -1 1
v 1 -1 1
v 1 1 1
v -1 1 1
usemtl red
f 1 2 3 4
f 5 6 7 8
usemtl tex
f 1 2 6 5
f -1 -2 -6 -5
usemtl missing
f 1 4 8 5
f 2 3 7 6
"""

CUBE_MTL = """\
newmtl red
Kd 1.0 0.0 0.0
newmtl tex
Kd 0.5 1.0 1.0
map_Kd tex.png
"""


def _png(rgb, size=(4, 4), alpha=255) -> bytes:
    im = Image.new("RGBA", size, tuple(rgb) + (alpha,))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _files(mapping):
    def read(path):
        return mapping[path]
    return read


def test_obj_quads_negative_indices_materials_and_texture():
    files = {"cube.mtl": CUBE_MTL.encode(), "tex.png": _png((255, 255, 255))}
    m = parse_obj(CUBE_OBJ, _files(files))
    assert m.n_faces == 12 and len(m.vertices) == 8
    # quads fan-triangulated in order: first two triangles red
    np.testing.assert_allclose(m.face_colors[:4], [[1, 0, 0]] * 4)
    # textured: Kd x mean texture colour (white texture -> Kd)
    np.testing.assert_allclose(m.face_colors[4:8], [[0.5, 1, 1]] * 4, atol=1e-9)
    # material not in the library -> default grey
    np.testing.assert_allclose(m.face_colors[8:], [[0.6, 0.6, 0.6]] * 4)
    # negative indices: "f -1 -2 -6 -5" == "f 8 7 3 4"
    assert sorted(m.faces[6]) == sorted([7, 6, 2])


def test_obj_texture_colour_is_linear_mean_and_missing_mtl_is_grey():
    files = {"cube.mtl": CUBE_MTL.encode(), "tex.png": _png((188, 188, 188))}
    m = parse_obj(CUBE_OBJ, _files(files))
    lin = ((188 / 255 + 0.055) / 1.055) ** 2.4
    np.testing.assert_allclose(m.face_colors[4], [0.5 * lin, lin, lin], rtol=1e-6)
    grey = parse_obj(CUBE_OBJ, _files({}))  # mtllib cannot be read
    np.testing.assert_allclose(grey.face_colors, 0.6)
    assert parse_obj(CUBE_OBJ).n_faces == 12


def test_obj_transparent_texture_faces_dropped():
    files = {"cube.mtl": CUBE_MTL.encode(), "tex.png": _png((255, 255, 255), alpha=0)}
    assert parse_obj(CUBE_OBJ, _files(files)).n_faces == 8


AC = """AC3Db
MATERIAL "red" rgb 1 0 0  amb 0.2 0.2 0.2  emis 0 0 0  spec 0 0 0  shi 10  trans 0
MATERIAL "blue" rgb 0 0 1  amb 0.2 0.2 0.2  emis 0 0 0  spec 0 0 0  shi 10  trans 0
OBJECT world
kids 1
OBJECT group
name "parent"
loc 10 0 0
kids 2
OBJECT poly
name "square"
loc 0 1 0
numvert 4
0 0 0
1 0 0
1 1 0
0 1 0
numsurf 2
SURF 0x10
mat 0
refs 4
0 0 0
1 1 0
2 1 1
3 0 1
SURF 0x02
mat 1
refs 2
0 0 0
1 0 0
kids 0
OBJECT poly
name "rotated"
texture "t.png"
rot 0 1 0 -1 0 0 0 0 1
numvert 3
1 0 0
2 0 0
1 0 5
numsurf 1
SURF 0x10
mat 1
refs 3
0 0 0
1 0 0
2 0 0
kids 0
"""


def test_ac_hierarchy_transforms_materials_and_textures():
    m = parse_ac(AC, _files({"t.png": _png((255, 255, 255))}))
    assert m.n_faces == 3  # quad -> 2 triangles, line surface skipped, 1 triangle
    np.testing.assert_allclose(m.face_colors[:2], [[1, 0, 0]] * 2)
    np.testing.assert_allclose(m.face_colors[2], [0, 0, 1])
    v = m.vertices
    # square: parent loc (10,0,0) + own loc (0,1,0)
    assert np.allclose(v[:4].min(0), [10, 1, 0]) and np.allclose(v[:4].max(0), [11, 2, 0])
    # rotated (row vectors, v @ R): (1,0,0) -> (0,1,0), then parent's loc
    np.testing.assert_allclose(v[4], [10, 1, 0])
    np.testing.assert_allclose(v[5], [10, 2, 0])
    np.testing.assert_allclose(v[6], [10, 1, 5])


def test_ac_skip_objects_and_transparent_texture():
    assert parse_ac(AC, skip_objects="rot").n_faces == 2
    assert parse_ac(AC, _files({"t.png": _png((9, 9, 9), alpha=0)})).n_faces == 2
    with pytest.raises(ValueError):
        parse_ac("not an ac file")


def test_load_mesh_file_from_folder(tmp_path):
    (tmp_path / "cube.obj").write_text(CUBE_OBJ)
    (tmp_path / "cube.mtl").write_text(CUBE_MTL)
    (tmp_path / "tex.png").write_bytes(_png((255, 255, 255)))
    assert load_mesh_file(tmp_path / "cube.obj").n_faces == 12
    (tmp_path / "a.ac").write_text(AC)
    assert load_mesh_file(tmp_path / "a.ac").n_faces == 3


def _sphere(n=60):
    th = np.linspace(0, np.pi, n + 1)
    ph = np.linspace(0, 2 * np.pi, n, endpoint=False)
    t, p = np.meshgrid(th, ph, indexing="ij")
    v = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], -1).reshape(-1, 3)
    f = []
    for i in range(n):
        for j in range(n):
            a, b, c, d = i * n + j, i * n + (j + 1) % n, (i + 1) * n + j, (i + 1) * n + (j + 1) % n
            f += [[a, b, c], [b, d, c]]
    f = np.array(f)
    return Mesh(v, f, np.full((len(f), 3), 0.7))


def test_decimate_caps_faces_and_keeps_bounds():
    m = _sphere(80)
    d = decimate(m, 2000)
    assert 100 < d.n_faces <= 2000
    lo, hi = m.bounds()
    dlo, dhi = d.bounds()
    assert np.all(dlo >= lo - 1e-9) and np.all(dhi <= hi + 1e-9)
    np.testing.assert_allclose(dlo, lo, atol=0.1)
    np.testing.assert_allclose(dhi, hi, atol=0.1)
    assert decimate(m, m.n_faces) is m
    d2 = decimate(m, 2000)
    assert np.array_equal(d.faces, d2.faces) and np.array_equal(d.vertices, d2.vertices)


def _box(lo, hi, color):
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    quads = [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 5, 4], [3, 2, 6, 7], [0, 3, 7, 4], [1, 2, 6, 5]]
    f = [t for q in quads for t in ([q[0], q[1], q[2]], [q[0], q[2], q[3]])]
    return Mesh(v, f, np.tile(color, (len(f), 1)))


def _asymmetric():
    # a grey slab with a red block in front (+Z) on the right (+X) half, top
    body = _box((-1, -1, -0.3), (1, 1, 0.3), (0.5, 0.5, 0.5))
    nose = _box((0.2, 0.2, 0.3), (0.9, 0.9, 0.8), (1.0, 0.0, 0.0))
    return normalise(Mesh.concat([body, nose]))


def test_render_deterministic_and_shape():
    m = _asymmetric()
    a = render_object(m, 30, 15, 64)
    b = render_object(m, 30, 15, 64)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    s1 = render_object(m, 0, 0, 32, supersample=1)
    assert s1.shape == (32, 32, 3)


def test_render_object_where_expected_and_background_elsewhere():
    m = normalise(_box((-1, -1, -1), (1, 1, 1), (0.8, 0.8, 0.8)))
    img = render_object(m, 0, 0, 64, background=(10, 20, 30))
    fg = np.any(img != np.array([10, 20, 30], np.uint8), axis=2)
    assert fg[32, 32] and not fg[0, 0] and not fg[63, 63] and not fg[0, 63]
    ys, xs = np.nonzero(fg)
    # centred square
    assert abs((xs.min() + xs.max()) / 2 - 31.5) <= 1 and abs((ys.min() + ys.max()) / 2 - 31.5) <= 1
    # lit, never near-black
    assert img[32, 32].mean() > 100
    # a normalised mesh fits inside the frame at any view (corners stay background)
    for az, el in [(0, 0), (45, 35), (90, -30), (200, 80)]:
        im = render_object(m, az, el, 48)
        edge = np.concatenate([im[0], im[-1], im[:, 0], im[:, -1]])
        assert edge.max() == 0


def test_render_front_back_differ_and_orientation():
    m = _asymmetric()
    front = render_object(m, 0, 0, 64)
    back = render_object(m, 180, 0, 64)
    assert not np.array_equal(front, back)
    red = lambda im: (im[..., 0] > 100) & (im[..., 1] < 60)  # noqa: E731
    # from the front (camera on +Z), +X is on the right of the image and +Y up: red block top-right
    ys, xs = np.nonzero(red(front))
    assert len(xs) > 20 and xs.mean() > 32 and ys.mean() < 32
    # from the back the red block is hidden behind the slab
    assert red(back).sum() < 5
    # positive azimuth moves the camera towards +X: the block's right side becomes visible, block moves left
    ys90, xs90 = np.nonzero(red(render_object(m, 90, 0, 64)))
    assert xs90.mean() < 32


def test_render_bad_parameters():
    m = _asymmetric()
    with pytest.raises(ConfigError):
        render_object(m, 0, 0, 0)
    with pytest.raises(ConfigError):
        render_object(m, 0, 0, 16, background=(0, 0))
    with pytest.raises(ConfigError):
        render_object(m, 0, 100, 16)


def _shapenet(tmp_path, n=3):
    root = tmp_path / "ShapeNetCore.v2"
    for k in range(n):
        d = root / SYNSETS["chair"] / f"m{(n - k):03d}" / "models"  # created in reverse order
        d.mkdir(parents=True)
        # object k is a box of width k+1 with its "front" (ShapeNet: -Z) marked red
        body = _box((-(k + 1), 0, -1), (k + 1, 1, 1), (0.5, 0.5, 0.5))
        lines = [f"v {x} {y} {z}" for x, y, z in body.vertices] + ["usemtl m"]
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in body.faces]
        (d / "model_normalized.obj").write_text("\n".join(lines) + "\n")
    (root / SYNSETS["chair"] / "empty_folder").mkdir()
    return root


def test_shapenet_sorted_ids_and_errors(tmp_path):
    root = _shapenet(tmp_path)
    assert list_shapenet_identities(root, "chair", 3) == ["m001", "m002", "m003"]
    assert list_shapenet_identities(root, "chair", 2) == ["m001", "m002"]
    m = load_shapenet_mesh(root, "chair", 0)
    assert m.n_faces == 12
    assert np.isclose(np.linalg.norm(np.subtract(*m.bounds()[::-1])), 1.0)
    with pytest.raises(AssetError):
        list_shapenet_identities(root, "chair", 4)
    with pytest.raises(AssetError):
        list_shapenet_identities(root, "car", 1)  # synset folder missing
    with pytest.raises(AssetError):
        list_shapenet_identities(tmp_path / "nope", "chair", 1)
    with pytest.raises(ConfigError):
        list_shapenet_identities(root, "sofa", 1)
    with pytest.raises(ConfigError):
        list_shapenet_identities(None, "chair", 1)

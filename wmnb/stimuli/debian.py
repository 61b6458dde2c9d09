"""Real meshes from Debian packages: the book's default, offline-friendly object source.

Two packages provide the four categories:

* ``sweethome3d-furniture`` (Sweet Home 3D furniture libraries, ``.sh3f`` = zip of OBJ + MTL + textures,
  CC0 / CC-BY-3.0 per library): chairs, tables, cars;
* ``flightgear-data-ai`` (FlightGear AI aircraft, AC3D ``.ac``, GPL-2+): airplanes.

``fetch_assets()`` (the ``wmnb assets`` command) downloads both with ``apt-get download`` and extracts them
with ``dpkg-deb -x`` into ``<cache>/assets/debian/``. The curated identity list is
``debian_catalog.json`` (next to this module): per identity a stable id, the source file, its sha256, an
orientation correction and the licence/creator for attribution. Identities of a category are ordered by
id (sorted), never by file-system order.
"""
from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

import numpy as np

from wmnb.cache import atomic_write_json, default_cache_dir, save_arrays, sha256_bytes
from wmnb.errors import AssetError, ConfigError, check_choice
from wmnb.stimuli.formats import DEFAULT_MAX_FACES, decimate, folder_reader, parse_ac, parse_obj, zip_reader
from wmnb.stimuli.mesh import Mesh, normalise, rotation_x, rotation_y

PACKAGES = ("sweethome3d-furniture", "flightgear-data-ai")
CATEGORIES = ("airplane", "car", "chair", "table")
SH3D_DIR = "usr/share/sweethome3d/furniture"
FLIGHTGEAR_DIR = "usr/share/games/flightgear/AI/Aircraft"
CATALOG_PATH = Path(__file__).with_name("debian_catalog.json")
#: bump when parsing/decimation changes, so cached parsed meshes are rebuilt
PARSER_VERSION = "1"
_MARKER = ".wmnb-extracted.json"
FETCH_HINT = "run `wmnb assets` (or wmnb.stimuli.debian.fetch_assets()) to download and extract them"


# ------------------------------------------------------------------------------------------------ catalog

@lru_cache(maxsize=1)
def _catalog() -> tuple:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    entries = tuple(sorted(data["identities"], key=lambda e: (e["category"], e["id"])))
    ids = [e["id"] for e in entries]
    if len(set(ids)) != len(ids):
        raise AssetError(f"{CATALOG_PATH} has duplicate identity ids")
    return entries


def catalog() -> list[dict]:
    """All catalog entries (copies), sorted by (category, id)."""
    return [dict(e) for e in _catalog()]


def list_identities(category: str) -> list[dict]:
    """Catalog entries of one category, sorted by their stable id.

    Each entry has: id, category, name, package, archive (``.sh3f`` file or null), path (model file inside
    the archive, or under ``AI/Aircraft/``), source (human-readable), sha256, model_rotation (3x3
    row-major or null), yaw_deg, pitch_deg, skip_objects (AC3D object-name regex or null), licence, creator.
    """
    check_choice("category", category, CATEGORIES)
    return [dict(e) for e in _catalog() if e["category"] == category]


def get_identity(identity_id: str) -> dict:
    """The catalog entry with this id (ConfigError if unknown)."""
    for e in _catalog():
        if e["id"] == identity_id:
            return dict(e)
    raise ConfigError(f"identity={identity_id!r} is not in the Debian catalog; "
                      f"choose one of {[e['id'] for e in _catalog()]}")


def attribution_table():
    """A pandas DataFrame crediting every catalog mesh: id, category, name, creator, licence, package, source."""
    import pandas as pd

    cols = ["id", "category", "name", "creator", "licence", "package", "source"]
    return pd.DataFrame([{c: e[c] for c in cols} for e in _catalog()], columns=cols)


# --------------------------------------------------------------------------------------------- assets

def default_assets_dir(cache_dir: Optional[Union[str, os.PathLike]] = None) -> Path:
    """``<cache_dir>/assets/debian`` (cache_dir defaults to :func:`wmnb.cache.default_cache_dir`)."""
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / "assets" / "debian"


def _source_bytes(entry: dict, assets_dir: Path) -> tuple[bytes, object]:
    """(model file bytes, read_file for its companions, base folder) of a catalog entry."""
    if entry.get("archive"):
        zpath = assets_dir / SH3D_DIR / entry["archive"]
        if not zpath.is_file():
            raise AssetError(f"missing Sweet Home 3D library {zpath}; {FETCH_HINT}")
        zf = zipfile.ZipFile(zpath)
        reader = zip_reader(zf)
        try:
            data = reader(entry["path"])
        except KeyError:
            raise AssetError(f"{entry['path']!r} is not inside {zpath}; the package version differs from "
                             f"the catalog's. {FETCH_HINT}") from None
        return data, (reader, posixpath.dirname(entry["path"].lstrip("/")), zf)
    fpath = assets_dir / FLIGHTGEAR_DIR / entry["path"]
    if not fpath.is_file():
        raise AssetError(f"missing FlightGear model {fpath}; {FETCH_HINT}")
    return fpath.read_bytes(), (_aircraft_reader(fpath.parent), "", None)


def _aircraft_reader(models_dir: Path):
    """Companion files of a FlightGear model: its own folder first, then the aircraft's ``Textures/``."""
    first, second = folder_reader(models_dir), folder_reader(models_dir.parent / "Textures")

    def read(path: str) -> bytes:
        try:
            return first(path)
        except OSError:
            return second(posixpath.basename(path))

    return read


def verify_entry(entry: dict, assets_dir: Optional[Union[str, os.PathLike]] = None) -> bool:
    """True when the entry's source file exists and has the catalog's sha256."""
    assets_dir = Path(assets_dir) if assets_dir is not None else default_assets_dir()
    try:
        data, (_, _, zf) = _source_bytes(entry, assets_dir)
    except AssetError:
        return False
    if zf is not None:
        zf.close()
    return sha256_bytes(data) == entry["sha256"]


def assets_present(assets_dir: Optional[Union[str, os.PathLike]] = None) -> bool:
    """True when the extracted packages' folders exist (quick check; no hashing)."""
    d = Path(assets_dir) if assets_dir is not None else default_assets_dir()
    return (d / SH3D_DIR).is_dir() and (d / FLIGHTGEAR_DIR).is_dir()


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise AssetError(
            f"`{cmd[0]}` is not available, so the Debian mesh packages cannot be fetched. On Debian/Ubuntu "
            f"install apt/dpkg; on other systems use source='procedural' (no download) or source='shapenet' "
            f"(a local ShapeNetCore.v2 folder).") from None
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()[-800:]
        hint = ""
        if cmd[0] == "apt-get":
            hint = (" If the package is unknown, run `apt-get update` (as root: `sudo apt-get update`) and retry. "
                    "Without apt, use source='procedural' or source='shapenet'.")
        raise AssetError(f"{what} failed (exit {proc.returncode}): {msg}.{hint}")


def fetch_assets(cache_dir: Optional[Union[str, os.PathLike]] = None, progress: bool = True) -> Path:
    """Download and extract the Debian mesh packages; return the assets folder.

    Runs ``apt-get download sweethome3d-furniture flightgear-data-ai`` in a temporary folder and
    ``dpkg-deb -x`` for each ``.deb`` into a temporary folder that is then renamed to
    ``<cache_dir>/assets/debian`` (atomic: an interrupted fetch leaves no half folder). Idempotent: when the
    folder exists, carries the completion marker and every catalog entry verifies, nothing is done.

    Raises
    ------
    AssetError
        ``apt-get``/``dpkg-deb`` missing or failing (the message says how to proceed), or the extracted
        files do not match the catalog's sha256.
    """
    target = default_assets_dir(cache_dir)
    if (target / _MARKER).is_file() and all(verify_entry(e, target) for e in _catalog()):
        if progress:
            print(f"Debian mesh assets already present and verified in {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".debian-fetch-", dir=target.parent))
    try:
        debs = work / "debs"
        out = work / "extracted"
        debs.mkdir()
        out.mkdir()
        if progress:
            print(f"Downloading {', '.join(PACKAGES)} with apt-get (about 400 MB) ...", flush=True)
        _run(["apt-get", "download", *PACKAGES], debs, "apt-get download")
        files = sorted(debs.glob("*.deb"))
        if len(files) < len(PACKAGES):
            raise AssetError(f"apt-get download produced {[f.name for f in files]}, expected {len(PACKAGES)} "
                             f".deb files. Run `apt-get update` and retry.")
        for f in files:
            if progress:
                print(f"Extracting {f.name} ...", flush=True)
            _run(["dpkg-deb", "-x", str(f), str(out)], work, f"dpkg-deb -x {f.name}")
            f.unlink()  # the .deb is no longer needed
        bad = [e["id"] for e in _catalog() if not verify_entry(e, out)]
        if bad:
            raise AssetError(f"the downloaded packages do not match the catalog (sha256 or missing file) for "
                             f"{bad}; the Debian package versions differ from the ones the catalog was made "
                             f"with. Use source='procedural' or update debian_catalog.json.")
        atomic_write_json(out / _MARKER, {"packages": [f.name for f in files],
                                          "n_verified": len(_catalog())})
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if progress:
        print(f"Debian mesh assets ready in {target}")
    return target


# ----------------------------------------------------------------------------------------------- meshes

def orientation_matrix(entry: dict) -> np.ndarray:
    """3x3 rotation taking the source file's coordinates to the canonical frame (Y up, front +Z).

    SH3D's ``modelRotation`` (row-major, applied to column vectors) comes first, then the catalog's extra
    yaw (about +Y) and pitch (about +X), in degrees.
    """
    r = np.eye(3)
    if entry.get("model_rotation"):
        r = np.asarray(entry["model_rotation"], dtype=np.float64).reshape(3, 3)
    r = rotation_y(float(entry.get("yaw_deg", 0.0))) @ r
    r = rotation_x(float(entry.get("pitch_deg", 0.0))) @ r
    return r


_MEMORY: dict[tuple, Mesh] = {}


def _parse(entry: dict, assets_dir: Path) -> Mesh:
    data, (reader, base, zf) = _source_bytes(entry, assets_dir)
    try:
        digest = sha256_bytes(data)
        if digest != entry["sha256"]:
            raise AssetError(f"{entry['id']}: sha256 of {entry['source']} is {digest}, the catalog expects "
                             f"{entry['sha256']}; the assets are corrupt or from another package version. "
                             f"Delete {assets_dir} and {FETCH_HINT}.")
        text = data.decode("utf-8", errors="replace")
        if entry["path"].lower().endswith(".ac"):
            mesh = parse_ac(text, reader, base=base, skip_objects=entry.get("skip_objects"))
        else:
            mesh = parse_obj(text, reader, base=base)
    finally:
        if zf is not None:
            zf.close()
    return mesh


def load_debian_mesh(entry_or_id: Union[str, dict], assets_dir: Optional[Union[str, os.PathLike]] = None,
                     max_faces: int = DEFAULT_MAX_FACES) -> Mesh:
    """Load one catalog identity as a normalised :class:`Mesh` (Y up, front +Z, bbox diagonal 1).

    The source bytes are checked against the catalog's sha256. The parsed, decimated, normalised mesh is
    cached in memory and as ``.npz`` under ``<assets_dir>/../debian-meshes/`` so later loads are fast.

    Raises
    ------
    AssetError
        Assets missing (the message gives the command to fetch them) or sha256 mismatch.
    ConfigError
        Unknown identity id.
    """
    entry = get_identity(entry_or_id) if isinstance(entry_or_id, str) else dict(entry_or_id)
    assets_dir = Path(assets_dir) if assets_dir is not None else default_assets_dir()
    if not assets_present(assets_dir):
        raise AssetError(f"Debian mesh assets not found in {assets_dir}; {FETCH_HINT}")
    key = (str(assets_dir.resolve()), entry["id"], entry["sha256"], int(max_faces),
           json.dumps([orientation_matrix(entry).round(12).tolist(), entry.get("skip_objects")]))
    if key in _MEMORY:
        m = _MEMORY[key]
        return Mesh(m.vertices.copy(), m.faces.copy(), m.face_colors.copy())
    cache_file = (assets_dir.parent / "debian-meshes" /
                  f"{entry['id']}-{entry['sha256'][:12]}-{int(max_faces)}-v{PARSER_VERSION}-"
                  f"{sha256_bytes(key[-1].encode())[:8]}.npz")
    mesh = None
    if cache_file.is_file():
        if not verify_entry(entry, assets_dir):
            _parse(entry, assets_dir)  # raises the precise AssetError (missing file or sha256 mismatch)
        try:
            with np.load(cache_file) as z:
                mesh = Mesh(z["vertices"], z["faces"], z["face_colors"])
        except Exception:
            mesh = None
    if mesh is None:
        raw = _parse(entry, assets_dir)
        if raw.n_faces == 0:
            raise AssetError(f"{entry['id']}: {entry['source']} contains no polygons")
        mesh = normalise(decimate(raw, max_faces), orientation_matrix(entry))
        try:
            save_arrays(cache_file, vertices=mesh.vertices, faces=mesh.faces, face_colors=mesh.face_colors)
        except OSError:
            pass  # read-only cache: fine, just slower next time
    _MEMORY[key] = mesh
    return Mesh(mesh.vertices.copy(), mesh.faces.copy(), mesh.face_colors.copy())

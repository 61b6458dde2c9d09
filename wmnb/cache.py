"""Content-addressed, atomically written, verified caches.

Every cached artefact (stimulus sets, feature banks, trained runs) lives in a folder named by the sha256 of
its canonical config plus the package's cache version. Files are written to a temporary name and renamed,
so an interrupted write never leaves a half file under the real name; a manifest of per-file sha256 is
written last and checked on load, so a corrupted cache is detected (and rebuilt by the caller), never used.

Files an entry holds *before* its manifest exists (a training run's resume checkpoints) carry their own
sha256 in a sidecar file written after them and are verified before they are read
(:mod:`wmnb.training`); file names starting with "." (temporary files) are never listed in a manifest.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: bump when the on-disk layout or the meaning of a cached artefact changes
CACHE_VERSION = "1"


def default_cache_dir() -> Path:
    """The cache root: ``$WMNB_CACHE`` if set, else ``<repo or cwd>/.wmnb-cache``."""
    env = os.environ.get("WMNB_CACHE")
    if env:
        return Path(env)
    return Path.cwd() / ".wmnb-cache"


def canonical(obj: Any) -> Any:
    """A JSON-able canonical form of configs: dataclasses, paths, numpy scalars, tuples -> lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and obj.is_integer():
        return obj  # keep 1.0 as 1.0; json prints it stably
    return obj


def config_hash(obj: Any, *, kind: str, length: int = 16) -> str:
    """sha256 (truncated) of ``kind`` + cache version + the canonical JSON of ``obj``."""
    payload = json.dumps({"kind": kind, "v": CACHE_VERSION, "cfg": canonical(obj)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; cache files are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_with(path: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and atomically rename the result to ``path`` (for torch.save, np.savez...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(canonical(obj), indent=2, sort_keys=True) + "\n").encode())


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Atomically save named arrays as an uncompressed .npz."""
    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    atomic_write_with(path, _write)


class CacheEntry:
    """A folder of files plus ``manifest.json`` ({file: sha256}, written last).

    ``entry.complete()`` is True only when the manifest exists and every listed file has its recorded
    hash. ``entry.commit(meta)`` writes the manifest of all files currently in the folder.
    """

    MANIFEST = "manifest.json"

    def __init__(self, root: str | os.PathLike, kind: str, key: str):
        self.dir = Path(root) / kind / key
        self.kind = kind
        self.key = key

    def path(self, name: str) -> Path:
        return self.dir / name

    def complete(self, *, verify: bool = True) -> bool:
        man = self.dir / self.MANIFEST
        if not man.exists():
            return False
        try:
            files = json.loads(man.read_text())["files"]
        except (ValueError, KeyError):
            return False
        for name, digest in files.items():
            p = self.dir / name
            if not p.exists():
                return False
            if verify and sha256_file(p) != digest:
                return False
        return True

    def meta(self) -> dict:
        return json.loads((self.dir / self.MANIFEST).read_text()).get("meta", {})

    def begin(self) -> None:
        """Start (re)building: drop a stale manifest so a crash mid-build never looks complete."""
        self.dir.mkdir(parents=True, exist_ok=True)
        man = self.dir / self.MANIFEST
        if man.exists():
            man.unlink()

    def commit(self, meta: dict | None = None) -> None:
        files = {p.name: sha256_file(p) for p in sorted(self.dir.iterdir())
                 if p.is_file() and p.name != self.MANIFEST and not p.name.startswith(".")}
        atomic_write_json(self.dir / self.MANIFEST, {"files": files, "meta": meta or {}})

    def clear(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)

"""Content-addressed, atomically written, verified caches.

Every cached artefact (stimulus sets, feature banks, trained runs) lives in a folder named by the sha256 of
its canonical config plus the package's cache version. Files are written to a temporary name and renamed,
so an interrupted write never leaves a half file under the real name; a manifest of per-file sha256 is
written last and checked on load, so a corrupted cache is detected (and rebuilt by the caller), never used.

Files an entry holds *before* its manifest exists (a training run's resume checkpoints) carry their own
sha256 in a sidecar file written after them and are verified before they are read
(:mod:`wmnb.training`); file names starting with "." (temporary files) are never listed in a manifest.

Concurrent writers (sweep workers on a shared filesystem, a chapter and a sweep at once) are serialised per
entry by :func:`entry_lock`: an exclusive POSIX record lock (``fcntl.lockf``) on ``<kind>/.<key>.lock``, which
holds its owner's host and pid for messages. The kernel (or the NFS server) drops the lock when its owner
dies, even by SIGKILL, so a dead owner never blocks anyone; the next writer removes the dead one's temporary
files (:meth:`CacheEntry.remove_partial`) and re-checks the manifest before writing anything.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

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

    @property
    def lock_path(self) -> Path:
        """The entry's writer lock, beside (not inside) its folder so :meth:`clear` never removes it."""
        return self.dir.parent / f".{self.key}.lock"

    def remove_partial(self) -> list[str]:
        """Delete the temporary files (``.*.tmp``) a killed writer left in the folder; returns their names.

        Call it only while holding :func:`entry_lock`: then no live writer can own them.
        """
        if not self.dir.is_dir():
            return []
        gone = []
        for p in self.dir.glob(".*.tmp"):
            p.unlink(missing_ok=True)
            gone.append(p.name)
        return gone


class LockBusy(RuntimeError):
    """Raised by :func:`entry_lock` with ``wait=False`` when another live process holds the lock."""

    def __init__(self, path: Path, owner: Optional[dict]):
        self.path, self.owner = path, owner
        super().__init__(f"{path} is held by {describe_owner(owner)}")


def describe_owner(owner: Optional[dict]) -> str:
    """``"pid 123 on host h since 2026-11-30 01:00:00 UTC"`` (or "an unknown process")."""
    if not owner:
        return "an unknown process"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(owner.get("since", 0)))
    return f"pid {owner.get('pid')} on host {owner.get('host')} since {since}"


def lock_owner(entry: CacheEntry) -> Optional[dict]:
    """The owner ({host, pid, since}) of the live lock on ``entry``, or None when nobody holds it.

    Probes with a non-blocking lock attempt, so a lock file left by a dead process reads as free.
    """
    try:
        with entry_lock(entry, wait=False):
            return None
    except LockBusy as busy:
        return busy.owner or {}


def _read_owner(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def entry_lock(entry: CacheEntry, *, wait: bool = True, poll_s: float = 0.5,
               on_wait: Optional[Callable[[Optional[dict]], None]] = None) -> Iterator[Path]:
    """Hold the exclusive writer lock of ``entry`` for the ``with`` block (one writer per entry, across
    processes and hosts sharing the cache).

    ``wait=False`` raises :class:`LockBusy` at once when a live process holds it; else the caller polls
    every ``poll_s`` seconds (calling ``on_wait(owner)`` once) until it is free. The lock is a POSIX record
    lock, released by the kernel when its holder exits or is killed, so a stale lock file never blocks; the
    file is deleted on release, and a waiter that locked a file which was meanwhile deleted retries on the
    current one. Not re-entrant within one process (POSIX locks are per process).
    """
    import fcntl

    path = entry.lock_path
    path.parent.mkdir(parents=True, exist_ok=True)
    announced = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, _umask_mode())
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            owner = _read_owner(path)
            if not wait:
                raise LockBusy(path, owner) from None
            if on_wait is not None and not announced:
                on_wait(owner)
                announced = True
            time.sleep(poll_s)
            continue
        try:  # the holder before us may have deleted the file we locked: then lock the current one
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}).encode())
        yield path
    finally:
        try:
            path.unlink(missing_ok=True)  # while still holding it: nobody else can be mid-acquire on it
        finally:
            os.close(fd)

"""wmnb.cache: canonical config hashes, cache entries that detect corruption, atomic writes."""
import numpy as np
import pytest

from wmnb.cache import CacheEntry, atomic_write_bytes, config_hash, save_arrays


def test_config_hash_is_canonical_and_sensitive():
    a = config_hash({"b": 1, "a": [1, 2]}, kind="x")
    assert a == config_hash({"a": (1, 2), "b": 1}, kind="x")
    assert a != config_hash({"a": [1, 2], "b": 2}, kind="x")
    assert a != config_hash({"a": [1, 2], "b": 1}, kind="y")


def test_cache_entry_detects_corruption_and_incomplete_builds(tmp_path):
    e = CacheEntry(tmp_path, "thing", "k1")
    assert not e.complete()
    e.begin()
    save_arrays(e.path("a.npz"), x=np.arange(10))
    assert not e.complete()  # no manifest yet: an interrupted build never looks complete
    e.commit({"n": 10})
    assert e.complete() and e.meta() == {"n": 10}
    data = bytearray(e.path("a.npz").read_bytes())
    data[-5] ^= 0xFF
    e.path("a.npz").write_bytes(bytes(data))
    assert not e.complete()
    e.begin()
    assert not (e.dir / "manifest.json").exists()


def test_atomic_write_leaves_no_partial_file_on_error(tmp_path):
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"old")

    class Boom(Exception):
        pass

    from wmnb.cache import atomic_write_with

    def writer(p):
        p.write_bytes(b"half")
        raise Boom

    with pytest.raises(Boom):
        atomic_write_with(target, writer)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]

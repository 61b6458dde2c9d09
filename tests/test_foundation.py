"""The shared validation and cache helpers every module relies on."""
import json

import numpy as np
import pytest

from wmnb.cache import CacheEntry, atomic_write_bytes, config_hash, save_arrays
from wmnb.errors import ConfigError, check_choice, check_float, check_int


def test_check_choice_names_parameter_value_and_allowed():
    with pytest.raises(ConfigError) as e:
        check_choice("core", "transformer", ["rnn", "gru", "lstm"])
    msg = str(e.value)
    assert "core" in msg and "transformer" in msg and "gru" in msg


@pytest.mark.parametrize("value", [0, -3, 2.5, "4", True])
def test_check_int_rejects_bad_values(value):
    with pytest.raises(ConfigError, match="hidden_size"):
        check_int("hidden_size", value, low=1)


def test_check_float_open_interval():
    assert check_float("p_match", 0.5, low=0, high=1, low_open=True, high_open=True) == 0.5
    for bad in (0.0, 1.0, float("nan"), "x"):
        with pytest.raises(ConfigError, match="p_match"):
            check_float("p_match", bad, low=0, high=1, low_open=True, high_open=True)


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


def test_cached_table_computes_once_and_recomputes_after_corruption(tmp_path):
    import pandas as pd

    from wmnb.results import cached_table

    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"property": ["location", "identity"], "accuracy": [0.5, 0.25]})

    a = cached_table("demo", {"runs": ["k1"]}, compute, cache_dir=tmp_path)
    b = cached_table("demo", {"runs": ["k1"]}, compute, cache_dir=tmp_path)
    assert len(calls) == 1 and a.equals(b) and list(b.accuracy) == [0.5, 0.25]
    cached_table("demo", {"runs": ["k2"]}, compute, cache_dir=tmp_path)
    assert len(calls) == 2
    csv = sorted((tmp_path / "results").rglob("table.csv"))[0]
    csv.write_text("garbage\n")
    cached_table("demo", {"runs": ["k1"]}, compute, cache_dir=tmp_path)
    cached_table("demo", {"runs": ["k2"]}, compute, cache_dir=tmp_path)
    assert len(calls) == 3  # exactly the corrupted entry was recomputed


def _slow_table(cache_dir, log):
    """Compute the same cached table in another process, logging each computation (for the test below)."""
    import time

    import pandas as pd

    from wmnb.results import cached_table

    def compute():
        with open(log, "a") as f:
            f.write("computed\n")
        time.sleep(1.5)
        return pd.DataFrame({"x": [1, 2]})

    return cached_table("slow", {"runs": ["k"]}, compute, cache_dir=cache_dir).x.tolist()


def test_cached_table_is_computed_once_by_concurrent_processes(tmp_path):
    """Two chapters executing at once that need one table: the second waits on the first and reads its table."""
    import multiprocessing as mp

    log = tmp_path / "log.txt"
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_slow_table, [(str(tmp_path), str(log)), (str(tmp_path), str(log))])
    assert results == [[1, 2], [1, 2]]
    assert log.read_text().count("computed") == 1


def test_cached_table_key_follows_only_the_named_sources(tmp_path, monkeypatch):
    """A table keyed on its own module is recomputed when that module's source changes, not when another does."""
    import pandas as pd

    from wmnb import results

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mine.py").write_text("x = 1\n")
    (pkg / "other.py").write_text("y = 1\n")
    monkeypatch.setattr(results, "PACKAGE_DIR", pkg)
    results._hash_sources.cache_clear()
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"a": [1]})

    def get():
        results._hash_sources.cache_clear()
        return results.cached_table("demo", {"n": 1}, compute, cache_dir=tmp_path / "c", sources=("mine.py",))

    get()
    (pkg / "other.py").write_text("y = 2\n")
    get()
    assert len(calls) == 1
    (pkg / "mine.py").write_text("x = 2\n")
    get()
    assert len(calls) == 2
    results._hash_sources.cache_clear()

"""wmnb.results.cached_table: computed once (also by concurrent processes), recomputed after corruption, keyed
by the sources it names, and never outliving the code that computed it (issue 10, point 5)."""
import os
import shutil
import subprocess
import sys

from helpers import ROOT


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


SCRIPT = """
import sys
from pathlib import Path
import pandas as pd
from wmnb.results import cached_table

marker = Path(sys.argv[1])
def compute():
    marker.write_text(str(int(marker.read_text() if marker.exists() else 0) + 1))
    return pd.DataFrame({"x": [1, 2]})
cached_table("demo", {"run": "abc", "n": 2}, compute, cache_dir=sys.argv[2])
"""


def test_editing_an_analysis_function_recomputes_its_tables(tmp_path):
    """A temporary copy of the package: the second build reuses the table, an edit of an analysis function
    makes the third recompute it (each in a fresh process, as a build would)."""
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "wmnb", pkg / "wmnb", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "script.py").write_text(SCRIPT)
    marker, cache = tmp_path / "computed", tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(pkg)}

    def build():
        subprocess.run([sys.executable, str(tmp_path / "script.py"), str(marker), str(cache)], env=env,
                       check=True, cwd=tmp_path)
        return int(marker.read_text())

    assert build() == 1
    assert build() == 1  # cached
    analysis = pkg / "wmnb" / "analysis" / "decoding.py"
    text = analysis.read_text()
    i = text.index("\ndef ")
    analysis.write_text(text[:i] + "\n# an edited analysis\n" + text[i:])
    assert build() == 2  # recomputed
    assert build() == 2

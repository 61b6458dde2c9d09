"""Issue 10, points 2-5, run for real: bad parameters fail before any work at every entry point (the API, the
CLI through a subprocess, a chapter through papermill), every source works from every entry point (a tiny
fake ShapeNet folder), a build's artefacts stay under its own root, and a cached table never outlives the
code that computed it."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wmnb import book, checks, pipeline
from wmnb.errors import AssetError, ConfigError
from wmnb.stimuli import CATEGORIES, SourceSettings, procedural_mesh
from wmnb.stimuli.shapenet import SYNSETS

ROOT = Path(__file__).resolve().parent.parent


def fake_shapenet(root: Path, n: int = 3) -> Path:
    """A tiny ShapeNetCore.v2 tree: ``n`` procedural meshes per category written as OBJ (as test_stimuli)."""
    for cat in CATEGORIES:
        for k in range(n):
            m = procedural_mesh(cat, k)
            d = root / SYNSETS[cat] / f"{k:04x}abcd" / "models"
            d.mkdir(parents=True)
            lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in m.vertices]
            lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in m.faces]
            (d / "model_normalized.obj").write_text("\n".join(lines) + "\n")
    return root


def _cli(*args, cache: Path, timeout: float = 600):
    env = {**os.environ, "WMNB_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "wmnb.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*")] if folder.exists() else []


# ---------------------------------------------------------------------------------------------------------
# 2. one validation layer
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, words", [
    (dict(seed=-1), ["seed=-1", ">= 0"]),
    (dict(seeds=[0, -3]), ["seeds=-3"]),
    (dict(seeds=[1, 1]), ["seeds", "twice"]),
    (dict(seeds="0,1"), ["seeds", "list"]),
    (dict(scenarios=["MTMF", "XTXF"]), ["scenarios='XTXF'", "STSF"]),
    (dict(scenarios=[]), ["scenarios", "empty"]),
    (dict(stsf_features=["colour"]), ["stsf_features='colour'", "location"]),
    (dict(cores=["gru", "transformer"]), ["cores='transformer'", "lstm"]),
    (dict(core="all"), ["core='all'", "rnn"]),
    (dict(profile="fast"), ["profile='fast'", "smoke"]),
    (dict(backbone="bogus"), ["backbone='bogus'", "efficientnet_lite0"]),
    (dict(backbones="random"), ["backbones", "list"]),
    (dict(n_seeds=0), ["n_seeds=0"]),
    (dict(n_per_condition=0), ["n_per_condition=0"]),
    (dict(by_n="yes"), ["by_n='yes'"]),
    (dict(identities_per_category=1), ["identities_per_category=1"]),
    (dict(source="procedural", image_size=63), ["image_size=63", "even"]),
    (dict(source="blender"), ["source='blender'", "procedural"]),
    (dict(source="shapenet"), ["shapenet_root=None"]),
    (dict(source="shapenet", shapenet_root="/no/such/folder"), ["shapenet_root='/no/such/folder'", "folder"]),
    (dict(source="debian", shapenet_root="/tmp"), ["shapenet_root='/tmp'", "source='shapenet'"]),
    (dict(source="debian", identities_per_category=99), ["identities_per_category=99", "Debian"]),
    (dict(scenario="MTMF", seq_len=3), ["seq_len=3", "N=3", ">= 4"]),
    (dict(scenario="MTMF", feature="location"), ["feature='location'", "STSF"]),
    (dict(readout="attention"), ["attention='none'", "readout='attention'"]),
    (dict(scenari="MTMF"), ["unknown parameter 'scenari'", "scenarios"]),
])
def test_check_names_parameter_value_and_allowed(kwargs, words):
    with pytest.raises(ConfigError) as err:
        checks.check(**kwargs)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_check_accepts_and_normalises():
    p = checks.check(profile="smoke", source="procedural", seeds=[2, 0], cores=["rnn", "gru"],
                     scenarios=["STSF", "MTMF"], stsf_features=["category"], n_seeds=None, by_n=True)
    assert p["seeds"] == (2, 0) and p["cores"] == ("rnn", "gru") and p["scenarios"] == ("STSF", "MTMF")
    assert p["sources"] == SourceSettings("procedural")
    # a chapter may widen or narrow a choice for itself
    assert checks.check(core="all", choices={"core": ("rnn", "gru", "lstm", "all")})["core"] == "all"
    with pytest.raises(ConfigError, match="scenario='STSF'"):
        checks.check(scenario="STSF", choices={"scenario": ("STMF", "MTMF")})


def test_shapenet_folder_with_too_few_models_fails_before_rendering(tmp_path):
    root = fake_shapenet(tmp_path / "ShapeNetCore.v2", n=2)
    assert checks.check(source="shapenet", shapenet_root=str(root), identities_per_category=2)
    with pytest.raises(AssetError, match="fewer than k=3"):
        checks.check(source="shapenet", shapenet_root=root, identities_per_category=3)


def test_cli_features_bogus_backbone_fails_before_rendering(tmp_path):
    out = _cli("features", "--source", "procedural", "--backbone", "bogus", cache=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "backbone='bogus'" in out.stderr and "efficientnet_lite0" in out.stderr
    assert _files(tmp_path) == []  # nothing rendered, nothing cached


def test_cli_train_impossible_seq_len_leaves_no_run_folder(tmp_path):
    out = _cli("train", "--source", "procedural", "--profile", "smoke", "--seq-len", "3", cache=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "seq_len=3" in out.stderr and "seq_len >= 4" in out.stderr
    assert _files(tmp_path) == []


@pytest.mark.parametrize("args, words", [
    (["train", "--source", "procedural", "--seed", "-1"], ["seed=-1"]),
    (["train", "--source", "shapenet"], ["shapenet_root=None"]),
    (["stimuli", "--source", "shapenet", "--shapenet-root", "/no/such/folder"], ["shapenet_root='/no/such/folder'"]),
])
def test_cli_bad_parameters_fail_before_any_work(tmp_path, args, words):
    out = _cli(*args, cache=tmp_path)
    assert out.returncode == 2, out.stderr
    for w in words:
        assert w in out.stderr
    assert _files(tmp_path) == []


def _papermill(chapter: str, parameters: dict, tmp_path: Path):
    import jupytext
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(jupytext.read(ROOT / "book" / chapter), str(tmp_path / "out.ipynb"),
                                   parameters=parameters, cwd=str(ROOT), kernel_name="python3",
                                   progress_bar=False)
    return err.value


@pytest.mark.parametrize("chapter, parameters, words", [
    ("01_stimuli.md", dict(seed=-1, source="procedural"), ["seed=-1"]),
    ("04_behaviour.md", dict(scenario="MTMF", seeds=[0, -1], source="procedural"), ["seeds=-1"]),
])
def test_chapter_with_a_bad_parameter_fails_in_its_first_cell(tmp_path, monkeypatch, chapter, parameters, words):
    """Through papermill, as a reader would run it: a ConfigError naming the parameter, before any work."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("WMNB_CACHE", str(cache))  # the kernel inherits it
    err = _papermill(chapter, {"profile": "smoke", **parameters}, tmp_path)
    assert err.ename == "ConfigError"
    for w in words:
        assert w in err.evalue
    assert _files(cache) == []  # nothing rendered, nothing cached


# ---------------------------------------------------------------------------------------------------------
# 3. every source from every entry point
# ---------------------------------------------------------------------------------------------------------
def test_cli_train_and_pipeline_world_on_a_fake_shapenet_folder(tmp_path):
    root = fake_shapenet(tmp_path / "ShapeNetCore.v2", n=2)
    cache = tmp_path / "cache"
    out = _cli("train", "--source", "shapenet", "--shapenet-root", str(root), "--identities", "2",
               "--profile", "smoke", "--scenario", "STSF", "--feature", "location", "--device", "cpu",
               cache=cache)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Run(STSF, gru" in out.stdout
    # the API takes the same settings (as one object or as two parameters) and finds the CLI's cache
    for source, kw in ((SourceSettings("shapenet", str(root)), {}), ("shapenet", {"shapenet_root": root})):
        w = pipeline.world(source=source, identities_per_category=2, profile="smoke", cache_dir=cache, **kw)
        assert w.stimuli.config.source == "shapenet" and w.stimuli.config.shapenet_root == str(root)
        assert w.stimuli.identity_names[:2] == ["0000abcd", "0001abcd"]


def test_chapter_1_on_a_fake_shapenet_folder(tmp_path, monkeypatch):
    """Chapter 1 through papermill at smoke, reading a local ShapeNet folder given as a chapter parameter."""
    import jupytext
    import nbformat
    import papermill

    root = fake_shapenet(tmp_path / "ShapeNetCore.v2", n=3)
    monkeypatch.setenv("WMNB_CACHE", str(tmp_path / "cache"))
    papermill.execute_notebook(jupytext.read(ROOT / "book" / "01_stimuli.md"), str(tmp_path / "out.ipynb"),
                               parameters=dict(profile="smoke", source="shapenet", shapenet_root=str(root),
                                               identities_per_category=3),
                               cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    text = "".join(str(c.get("outputs", "")) for c in nbformat.read(tmp_path / "out.ipynb", 4).cells)
    assert "source='shapenet'" in text and "ShapeNetCore.v2" in text


def test_world_refuses_shapenet_root_conflicts(tmp_path):
    with pytest.raises(ConfigError, match="conflicts"):
        pipeline.world(source=SourceSettings("shapenet", str(tmp_path)), shapenet_root="/elsewhere",
                       cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------------------
# 4. a build's artefacts stay under its own root
# ---------------------------------------------------------------------------------------------------------
def test_artefact_path_follows_the_build_root(monkeypatch, tmp_path):
    monkeypatch.delenv(book.BUILD_ROOT_ENV, raising=False)
    assert book.artefact_path("claims.json") == ROOT / "_build" / "claims.json"
    monkeypatch.setenv(book.BUILD_ROOT_ENV, str(tmp_path))
    assert book.artefact_path("claims.json") == tmp_path / "_build" / "claims.json"
    claims_run = next(r for r in book.CHAPTERS if r.source == "book/12_claims.md")
    assert "_build/claims.json" in claims_run.artefacts
    assert "book.artefact_path" in (ROOT / claims_run.source).read_text()


def test_shadow_build_never_touches_the_real_claims_json(tmp_path, monkeypatch):
    """Execute a one-cell chapter that writes claims.json like chapter 12, in a shadow root, through the
    book's own executor: the file lands in the shadow root, the real one is untouched; overwriting the
    artefact afterwards makes the page stale, so the next build rewrites it."""
    monkeypatch.delenv(book.BUILD_ROOT_ENV, raising=False)
    src = tmp_path / "99_writer.md"
    src.write_text(textwrap.dedent('''\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          display_name: Python 3
          language: python
          name: python3
        ---

        # Writer

        ```{code-cell} ipython3
        :tags: [parameters]

        profile = "quick"
        ```

        ```{code-cell} ipython3
        import json
        from wmnb import book
        p = book.artefact_path("claims.json")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"meta": {"profile": profile}}))
        ```
        '''))
    run = book.ChapterRun(str(src), artefacts=("_build/claims.json",))
    real = ROOT / "_build" / "claims.json"
    before = real.read_bytes() if real.exists() else None
    shadow = tmp_path / "shadow"
    out_dir = shadow / "book" / "_executed"
    book.execute_run(run, "smoke", out_dir=out_dir)
    book._write_stamp(run, "smoke", out_dir)
    written = shadow / "_build" / "claims.json"
    assert json.loads(written.read_text())["meta"]["profile"] == "smoke"
    assert (real.read_bytes() if real.exists() else None) == before
    assert os.environ.get(book.BUILD_ROOT_ENV) is None  # restored after the run
    assert book.is_fresh(run, "smoke", out_dir)
    written.write_text('{"meta": {"profile": "other"}}')  # another build overwrote it
    assert not book.is_fresh(run, "smoke", out_dir)
    written.unlink()
    assert not book.is_fresh(run, "smoke", out_dir)


# ---------------------------------------------------------------------------------------------------------
# 5. a cached table never outlives its code
# ---------------------------------------------------------------------------------------------------------
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

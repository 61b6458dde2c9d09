"""wmnb.cli through a subprocess (issue 10): bad parameters fail before any work and leave nothing in the cache;
the ShapeNet folder source works from the command line and the API finds the CLI's cache."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import _files, fake_shapenet
from wmnb import pipeline
from wmnb.stimuli import SourceSettings


def _cli(*args, cache: Path, timeout: float = 600):
    env = {**os.environ, "WMNB_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "wmnb.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


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

"""Issue 10, point 1: a damaged resume checkpoint is reported by path and never trained on; a run with
non-finite weights is refused and never cached; an impossible seq_len fails before any run folder exists.

Everything runs for real on disk with the tiny synthetic world of test_training.py (seconds per test).
"""
import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from test_training import TINY, FakeStimuli

from wmnb.cache import sha256_bytes
from wmnb.errors import ConfigError, TrainingError
from wmnb.training import TrainConfig, train

CFG = TrainConfig(scenario="STMF", **TINY)  # 30 steps, a checkpoint every 10


@pytest.fixture(scope="module")
def stim():
    return FakeStimuli()


@pytest.fixture(scope="module")
def reference(stim, tmp_path_factory):
    """The uninterrupted run every recovered run must equal exactly."""
    return train(stim, stim, CFG, cache_dir=tmp_path_factory.mktemp("ref"), progress=False)


def _interrupted(stim, cache):
    """A run killed after step 25: resume.pt holds step 20, resume.prev.pt step 10."""
    with pytest.raises(KeyboardInterrupt):
        train(stim, stim, CFG, cache_dir=cache, progress=False, _interrupt_after=25)
    run_dir = next((cache / "runs").iterdir())
    assert (run_dir / "resume.pt").exists() and (run_dir / "resume.prev.pt").exists()
    return run_dir


def _resume(stim, cache):
    """Rerun training, returning the run and the texts of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = train(stim, stim, CFG, cache_dir=cache, progress=False)
    return run, [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def _assert_same_finite_run(run, reference):
    pd.testing.assert_frame_equal(run.history.drop(columns="seconds"), reference.history.drop(columns="seconds"))
    for which in ("last", "best"):
        a, b = run.model(which).state_dict(), reference.model(which).state_dict()
        for k in a:
            assert torch.isfinite(a[k].float()).all(), k
            assert torch.equal(a[k], b[k]), k
    assert not list(run.dir.glob("resume*"))  # a finished run keeps no resume state


def test_flipped_bytes_fall_back_to_the_previous_checkpoint(stim, reference, tmp_path):
    run_dir = _interrupted(stim, tmp_path)
    ck = run_dir / "resume.pt"
    data = bytearray(ck.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    ck.write_bytes(bytes(data))
    run, warned = _resume(stim, tmp_path)
    assert any(str(ck) in w and "sha256" in w for w in warned), warned
    _assert_same_finite_run(run, reference)


def test_truncated_checkpoints_restart_from_scratch(stim, reference, tmp_path):
    run_dir = _interrupted(stim, tmp_path)
    for name in ("resume.pt", "resume.prev.pt"):
        p = run_dir / name
        p.write_bytes(p.read_bytes()[:100])
    run, warned = _resume(stim, tmp_path)
    for name in ("resume.pt", "resume.prev.pt"):
        assert any(str(run_dir / name) in w for w in warned), warned
    _assert_same_finite_run(run, reference)


def test_checkpoint_without_checksum_is_not_trusted(stim, reference, tmp_path):
    """A checkpoint written before checksums existed (or whose sidecar was lost) is never unpickled."""
    run_dir = _interrupted(stim, tmp_path)
    (run_dir / "resume.pt.sha256").unlink()
    run, warned = _resume(stim, tmp_path)
    assert any(str(run_dir / "resume.pt") in w and "checksum" in w for w in warned), warned
    _assert_same_finite_run(run, reference)


def test_checkpoint_with_non_finite_weights_is_refused(stim, reference, tmp_path):
    """Even with a matching checksum, NaN weights are never resumed from."""
    run_dir = _interrupted(stim, tmp_path)
    for name in ("resume.pt", "resume.prev.pt"):
        p = run_dir / name
        ck = torch.load(p, map_location="cpu", weights_only=False)
        first = next(k for k, v in ck["model"].items() if v.is_floating_point())
        ck["model"][first].fill_(float("nan"))
        buf = io.BytesIO()
        torch.save(ck, buf)
        p.write_bytes(buf.getvalue())
        (run_dir / f"{name}.sha256").write_text(sha256_bytes(buf.getvalue()) + "\n")
    run, warned = _resume(stim, tmp_path)
    assert any(str(run_dir / "resume.pt") in w and "non-finite" in w for w in warned), warned
    _assert_same_finite_run(run, reference)


@pytest.mark.parametrize("poison_at", [12, 30])  # mid-run (the loss check) and last step (the weight check)
def test_diverged_run_is_an_error_naming_its_folder_and_is_never_cached(stim, tmp_path, monkeypatch, poison_at):
    """Poison the weights: train() raises TrainingError naming the folder and leaves no run behind."""
    real_step = torch.optim.AdamW.step
    calls = {"n": 0}

    def poisoned_step(self, *a, **kw):
        out = real_step(self, *a, **kw)
        calls["n"] += 1
        if calls["n"] == poison_at:
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.fill_(float("inf"))
        return out

    monkeypatch.setattr(torch.optim.AdamW, "step", poisoned_step)
    cfg = TrainConfig(scenario="STSF", feature="location", **TINY)
    with pytest.raises(TrainingError) as err:
        train(stim, stim, cfg, cache_dir=tmp_path, progress=False)
    run_dirs = list((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else []
    assert run_dirs == []
    assert str(tmp_path / "runs") in str(err.value) and "non-finite" in str(err.value)
    monkeypatch.undo()
    run = train(stim, stim, cfg, cache_dir=tmp_path, progress=False)  # the same run, now healthy
    assert all(np.isfinite(v.float().numpy()).all() for v in run.model().state_dict().values())


@pytest.mark.parametrize("kwargs", [
    dict(scenario="MTMF", seq_len=3),
    dict(tasks=(("identity", 2),), seq_len=2),
])
def test_seq_len_that_cannot_hold_the_largest_n_fails_in_the_config(kwargs):
    with pytest.raises(ConfigError, match=r"seq_len=\d.*largest N"):
        TrainConfig(**{**TINY, **kwargs})


def test_non_finite_float_parameters_are_refused():
    with pytest.raises(ConfigError, match="lr=inf"):
        TrainConfig(**{**TINY, "lr": float("inf")})

"""Tests of wmnb.training and wmnb.recording on a tiny synthetic stimulus set (no CNN, no rendering); and issue 10,
point 1: a damaged resume checkpoint is reported by path and never trained on, a run with non-finite weights is
refused and never cached, an impossible seq_len fails before any run folder exists (everything for real on
disk, seconds per test)."""
import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from wmnb import training
from wmnb.cache import sha256_bytes
from wmnb.errors import ConfigError, TrainingError
from wmnb.models import ModelConfig
from wmnb.recording import Recording, record
from wmnb.training import TrainConfig, load_run, train


class FakeStimuli:
    """4 categories x 3 identities x 3 angles x 4 locations; the 3rd identity / angle are held out.

    Doubles as a FeatureBank: ``maps`` (n, C, 7, 7) float16 put an identity+category+angle code in the
    object's quadrant, ``pooled`` (n, C), ``key``.
    """

    def __init__(self, C=16, seed=0):
        rng = np.random.default_rng(seed)
        m = np.array([(c, c * 3 + k, a, loc) for c in range(4) for k in range(3) for a in range(3)
                      for loc in range(4)])
        self.cat, self.ident, self.angle, self.loc = m.T
        novel_id, novel_angle = self.ident % 3 == 2, self.angle == 2
        self.split = np.select([novel_id & novel_angle, novel_id, novel_angle],
                               ["novel_both", "novel_identity", "novel_angle"], "train")
        codes = rng.normal(size=(4, C))[self.cat] + rng.normal(size=(12, C))[self.ident] \
            + 0.3 * rng.normal(size=(3, C))[self.angle]
        maps = 0.1 * rng.normal(size=(len(m), C, 7, 7))
        for i, v in enumerate(codes):
            r0, c0 = 4 * (self.loc[i] // 2), 4 * (self.loc[i] % 2)
            maps[i, :, r0:r0 + 3, c0:c0 + 3] += v[:, None, None]
        self.maps = maps.astype(np.float16)
        self.pooled = self.maps.astype(np.float32).mean((2, 3))
        self.hash = f"fake-{C}-{seed}"
        self.key = f"fakefeat-{C}-{seed}"

    def labels(self, feature):
        return {"location": self.loc, "identity": self.ident, "category": self.cat,
                "angle": self.angle}[feature].astype(np.int64)

    def pool(self, split):
        return np.flatnonzero(self.split == split).astype(np.int64)


@pytest.fixture(scope="module")
def stim():
    return FakeStimuli()


TINY = dict(profile="smoke", steps=30, batch_size=18, eval_every=10, checkpoint_every=10,
            n_eval_per_condition=8, model=ModelConfig(hidden_size=16, embedding_dim=16, pca_channels=8,
                                                      projection_channels=4))


def test_smoke_training_lowers_loss_and_beats_chance(stim, tmp_path):
    cfg = TrainConfig(tasks=(("location", 1),), profile="smoke", steps=200, batch_size=64, lr=3e-3,
                      eval_every=50, n_eval_per_condition=64,
                      model=ModelConfig(hidden_size=64, embedding_dim=64, pca_channels=16, projection_channels=8))
    run = train(stim, stim, cfg, cache_dir=tmp_path, progress=False)
    h = run.history
    batches = h[h.split == "train_batch"].sort_values("step")
    assert batches.loss.iloc[-1] < batches.loss.iloc[0]
    final = run.metrics.set_index("split")
    final = final[final.feature == "all"]
    assert final.loc["train", "accuracy"] > 0.75
    assert final.loc["novel_angle", "accuracy"] > 0.65
    assert set(run.metrics.split) == {"train", "novel_angle", "novel_identity"}
    assert (run.metrics.chance == 0.5).all()


def test_history_and_metrics_tables(stim, tmp_path):
    run = train(stim, stim, TrainConfig(scenario="MTMF", **TINY), cache_dir=tmp_path, progress=False)
    h = run.history
    assert list(h.columns) == ["step", "split", "feature", "n", "accuracy", "loss", "chance", "n_steps", "seconds"]
    assert sorted(h.step.unique()) == [10, 20, 30]
    at = h.groupby("step").seconds.agg(["min", "max"])
    assert (at["min"] == at["max"]).all() and at["min"].is_monotonic_increasing and at["min"].iloc[0] > 0
    per = run.metrics[run.metrics.feature != "all"]
    assert len(per) == 3 * 9  # 3 splits x 9 conditions
    assert run.best_step in (10, 20, 30)
    assert run.accuracy_table().shape == (10, 3)
    m = run.model("best")
    assert not m.training
    rec = record(run, split="novel_angle", n_per_condition=5, seed=3)
    assert isinstance(rec, Recording)
    B = 5 * 9
    assert rec.hidden.shape == (B, 6, 16) and rec.embedding.shape == (B, 6, 16)
    assert rec.probs.shape == (B, 6, 3) and np.allclose(rec.probs.sum(-1), 1, atol=1e-5)
    assert rec.backbone.shape == (B, 6, 16) and rec.backbone.dtype == np.float32
    assert set(rec.labels) == {"location", "identity", "category", "angle"}
    assert np.array_equal(rec.labels["location"], stim.loc[rec.stimuli])
    ml = rec.memory_labels("identity")
    ex = rec.executive
    assert np.array_equal(ml[ex], stim.ident[rec.memory[ex]])
    assert rec.cell is None and rec.attention is None
    assert set(np.unique(rec.stimuli)) <= set(stim.pool("novel_angle"))
    # the same seed gives the same recording
    rec2 = record(run, stim, stim, split="novel_angle", n_per_condition=5, seed=3)
    assert np.array_equal(rec.hidden, rec2.hidden)


def test_resume_equals_uninterrupted(stim, tmp_path):
    cfg = TrainConfig(scenario="STMF", **TINY)
    ref = train(stim, stim, cfg, cache_dir=tmp_path / "a", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(stim, stim, cfg, cache_dir=tmp_path / "b", progress=False, _interrupt_after=15)
    assert (tmp_path / "b" / "runs" / ref.key / "resume.pt").exists()
    resumed = train(stim, stim, cfg, cache_dir=tmp_path / "b", progress=False)
    # the same numbers; only the recorded wall times differ
    pd.testing.assert_frame_equal(ref.history.drop(columns="seconds"), resumed.history.drop(columns="seconds"))
    for which in ("last", "best"):
        a = ref.model(which).state_dict()
        b = resumed.model(which).state_dict()
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k
    assert not (tmp_path / "b" / "runs" / ref.key / "resume.pt").exists()


def _no_training(*a, **k):
    raise AssertionError("a cached run was trained again")


def test_cache_hit_returns_same_run(stim, tmp_path, monkeypatch):
    cfg = TrainConfig(scenario="STSF", feature="location", **TINY)
    a = train(stim, stim, cfg, cache_dir=tmp_path, progress=False)
    mtime = (a.dir / "last.pt").stat().st_mtime_ns
    with monkeypatch.context() as m:
        m.setattr(training, "_train_loop", _no_training)
        b = train(stim, stim, cfg, cache_dir=tmp_path, progress=False)
    assert a.key == b.key and (b.dir / "last.pt").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(a.history, b.history)
    c = load_run(a.key, stim, stim, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(a.metrics, c.metrics)
    # device is not part of the key; the seed is
    assert train(stim, stim, TrainConfig(scenario="STSF", feature="location", device="cpu", **TINY),
                 cache_dir=tmp_path, progress=False).key == a.key
    other = TrainConfig(scenario="STSF", feature="location", seed=1, **TINY)
    assert train(stim, stim, other, cache_dir=tmp_path, progress=False).key != a.key


def test_lstm_attention_recording(stim, tmp_path):
    mc = ModelConfig(core="lstm", hidden_size=8, embedding_dim=8, pca_channels=4, readout="attention",
                     attention="dual", attention_dim=4)
    run = train(stim, stim, TrainConfig(scenario="STSF", **{**TINY, "steps": 10, "model": mc}),
                cache_dir=tmp_path, progress=False)
    rec = record(run, n_per_condition=4, seed=0)
    assert rec.cell.shape == (4, 6, 8) and rec.attention.shape == (4, 6, 49)


@pytest.mark.parametrize("kwargs,words", [
    (dict(scenario="XYZ"), ["scenario", "XYZ", "MTMF"]),
    (dict(profile="huge"), ["profile", "huge", "quick"]),
    (dict(steps=0), ["steps", "0"]),
    (dict(batch_size=-1), ["batch_size"]),
    (dict(lr=0.0), ["lr"]),
    (dict(scenario="MTMF", feature="location"), ["feature", "STSF"]),
    (dict(milestones=(10, 5)), ["milestones"]),
    (dict(model=ModelConfig(), device="tpu"), ["device", "tpu"]),
    (dict(threads=0), ["threads", "0"]),
    (dict(precision="fp16"), ["precision", "fp16", "bf16"]),
])
def test_bad_train_config_fails_fast(kwargs, words):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_profiles_resolve():
    q = TrainConfig()
    assert q.profile == "quick" and q.steps > 0 and q.model.core == "gru"
    p = TrainConfig(profile="paper")
    assert p.batch_size == 256 and p.model.hidden_size == 256 and p.lr == 3e-5
    assert TrainConfig(profile="paper", model=ModelConfig(core="rnn", pca_channels=None)).model.hidden_size == 512
    assert TrainConfig(profile="smoke", steps=5).steps == 5


def test_threads_are_not_hashed_and_are_restored(stim, tmp_path):
    from wmnb.training import run_key
    cfg = TrainConfig(scenario="STSF", feature="location", threads=1, **TINY)
    assert run_key(stim, stim, cfg) == run_key(stim, stim, TrainConfig(scenario="STSF", feature="location",
                                                                      **TINY))
    before = torch.get_num_threads()
    run = train(stim, stim, cfg, cache_dir=tmp_path, progress=False)
    assert torch.get_num_threads() == before
    if run.info["device"] == "cpu":
        assert run.info["threads"] == 1


def test_precision_auto_follows_the_hardware_and_fp32_keeps_old_keys(stim, monkeypatch):
    import wmnb.training as tr
    from wmnb.training import run_key
    monkeypatch.setattr(tr, "native_bf16", lambda device="auto": True)
    assert TrainConfig(precision="auto", **TINY).precision == "bf16"
    assert TrainConfig(profile="quick").precision == "bf16"
    monkeypatch.setattr(tr, "native_bf16", lambda device="auto": False)
    assert TrainConfig(profile="quick").precision == "fp32"
    monkeypatch.setenv("WMNB_PRECISION", "bf16")  # the user's choice beats the hardware's
    assert TrainConfig(profile="quick").precision == "bf16"
    assert TrainConfig(profile="smoke").precision == "fp32"  # an explicit precision is never overridden
    monkeypatch.setenv("WMNB_PRECISION", "half")
    with pytest.raises(ConfigError, match="WMNB_PRECISION.*half"):
        TrainConfig(profile="quick")
    monkeypatch.delenv("WMNB_PRECISION")
    fp32 = TrainConfig(scenario="STSF", feature="location", precision="fp32", **TINY)
    bf16 = TrainConfig(scenario="STSF", feature="location", precision="bf16", **TINY)
    assert "precision" not in fp32.hash_fields()  # keys of runs cached before the field existed are kept
    assert run_key(stim, stim, fp32) != run_key(stim, stim, bf16)
    old = fp32.to_dict()
    del old["precision"]  # an info.json written before the field existed
    assert TrainConfig.from_dict(old) == fp32
    assert TrainConfig.from_dict(bf16.to_dict()) == bf16


def test_native_bf16_answers_for_any_device():
    from wmnb.training import native_bf16
    assert isinstance(native_bf16("cpu"), bool)
    assert native_bf16("mps") is False
    if not torch.cuda.is_available():  # asking is not an error; training on it is (when it starts)
        assert native_bf16("cuda") is False
        assert TrainConfig(device="cuda").precision == "fp32"


def test_bf16_training_learns_like_fp32_and_keeps_float32_weights(stim, tmp_path):
    acc = {}
    for prec in ("fp32", "bf16"):
        cfg = TrainConfig(tasks=(("location", 1),), profile="smoke", steps=200, batch_size=64, lr=3e-3,
                          eval_every=50, n_eval_per_condition=64, precision=prec,
                          model=ModelConfig(hidden_size=64, embedding_dim=64, pca_channels=16, projection_channels=8))
        run = train(stim, stim, cfg, cache_dir=tmp_path, progress=False)
        assert run.info["config"]["precision"] == prec
        assert all(v.dtype == torch.float32 for v in run.model().state_dict().values() if v.is_floating_point())
        m = run.metrics
        acc[prec] = float(m[(m.feature == "all") & (m.split == "novel_angle")].accuracy.iloc[0])
    assert acc["bf16"] > 0.65 and acc["fp32"] > 0.65, acc  # chance is 0.5
    assert abs(acc["bf16"] - acc["fp32"]) < 0.1, acc


CFG = TrainConfig(scenario="STMF", **TINY)  # 30 steps, a checkpoint every 10


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

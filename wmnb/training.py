"""Train working-memory models on cached features; cached, resumable, deterministic runs.

``train(stimuli, features, config)`` trains a :class:`wmnb.models.WMModel` on freshly generated,
stratified N-back batches drawn from the stimulus set's *training* pool at every step (index arrays
only: the CNN never runs here), evaluates it on fixed, seeded evaluation sets of the train /
novel_angle / novel_identity pools (masked accuracy overall and per (feature, N), chance 0.5 beside it)
and returns a :class:`Run`.

Runs are cached by a hash of the config plus the stimulus-set hash and the feature-bank key. While a run
trains, a resume checkpoint (model, optimizer, scheduler and every RNG state, history so far) is written
atomically every ``checkpoint_every`` steps, with its sha256 in a sidecar file and the previous checkpoint
kept as a fallback; an interrupted run resumes from it and ends with exactly the same result as an
uninterrupted one (same machine). A checkpoint whose digest, keys or weights are wrong is reported by path
and deleted, and training resumes from the previous good one or from scratch, never from garbage. A run
whose loss or weights become non-finite raises :class:`wmnb.errors.TrainingError` naming its folder and is
never cached.

Loss: cross entropy on executive steps (t >= N), plus ``no_action_weight`` x cross entropy on the
no_action steps (t < N).

Concurrent callers (sweep workers, a chapter beside a sweep) never train the same run twice: the run's writer
lock (:func:`wmnb.cache.entry_lock`) is taken before its folder is touched; a second caller waits for it and
then loads the finished run. With ``$WMNB_RUN_LOG`` set to a file, every call of :func:`train` appends one
JSON line (event "request": key, config, stimulus hash, feature key, cached or not; "wait" / "train" when it
waits for another writer / trains): the exact list of runs a chapter asks for (:mod:`wmnb.sweep` checks its
plan against it).
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from wmnb.config import EVAL_SPLITS, FEATURES, PROFILES, SCENARIOS, SPLITS, TRAINING
from wmnb.cache import CacheEntry, atomic_write_bytes, atomic_write_json, atomic_write_with, config_hash, \
    default_cache_dir, describe_owner, entry_lock, sha256_bytes
from wmnb.errors import ConfigError, check_choice, check_device, check_float, check_int
from wmnb.progress import progress_bar
from wmnb.models import ModelConfig, WMModel
from wmnb.tasks import NBackTrials, TrialStream, scenario_conditions

__all__ = ["PRECISIONS", "native_bf16", "TrainConfig", "Run", "train", "load_run", "evaluate",
           "masked_loss", "resolve_device"]

#: bump when training semantics change (invalidates cached runs)
TRAINING_VERSION = "4"

#: training arithmetic (:attr:`TrainConfig.precision`)
PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: str = "auto") -> bool:
    """Whether ``device`` multiplies bfloat16 natively (so bf16 autocast is faster there, not emulated).

    CUDA: compute capability >= 8 (Ampere and later). CPU: the AVX512-BF16 or AMX-BF16 instructions, read from
    ``/proc/cpuinfo`` (Linux; False elsewhere).
    """
    dev = resolve_device(device)
    if dev.type == "cuda":  # a CUDA device asked for on a machine without one fails later, when training starts
        return torch.cuda.is_available() and torch.cuda.get_device_capability(dev)[0] >= 8
    if dev.type != "cpu":
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def resolve_device(device: str) -> torch.device:
    """"auto" -> CUDA when available else CPU; otherwise ``torch.device(device)``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (validated on construction).

    Fields left as None take the ``profile``'s value (:data:`wmnb.config.TRAINING`); the resolved config is what is
    hashed, so ``TrainConfig(profile="quick")`` and the same values spelled out are the same run.

    Parameters
    ----------
    scenario : {"STSF", "STMF", "MTMF"}
    feature : str or None
        STSF only: the single feature (default "category", as :func:`wmnb.tasks.scenario_conditions`).
    tasks : tuple of (feature, n) pairs or None
        Explicit conditions overriding the scenario's (e.g. ``(("location", 1),)``); None = the scenario's.
    model : ModelConfig or None
        None -> the profile's model (GRU, paper hidden size unless the profile says otherwise).
    steps, batch_size : int
        Optimizer steps; sequences per step (stratified over the scenario's conditions).
    lr, weight_decay : float
        AdamW.
    milestones : tuple of int, gamma : float
        Step-decay schedule (MultiStepLR over *steps*).
    grad_clip : float
        Global gradient-norm clip (0 = off).
    no_action_weight : float
        Weight of the cross entropy on no_action steps (t < N); main loss = CE on executive steps.
    eval_every : int
        Evaluate on the fixed eval sets every this many steps (and at the end).
    n_eval_per_condition : int
        Eval sequences per condition per split.
    checkpoint_every : int
        Write the resume checkpoint every this many steps.
    seq_len : int, p_match : float
        N-back sequence length and match probability.
    eval_splits : tuple of str
        Pools to evaluate on (empty pools are skipped). Best checkpoint = best novel_angle masked accuracy
        (the first split if novel_angle is absent).
    seed : int
    device : str
        "auto" (CUDA if available), "cpu", "cuda", ... Not part of the run's hash.
    precision : {"auto", "fp32", "bf16"} or None
        Arithmetic of the training steps: "fp32", or "bf16" (``torch.autocast``: matrix products in bfloat16
        with float32 weights, optimizer and loss). "auto" resolves, on construction, to "bf16" where the
        device multiplies bfloat16 natively (a CPU with AVX512-BF16 or AMX, a CUDA GPU of compute capability
        >= 8) and to "fp32" elsewhere, so the resolved value depends on the machine, unless the environment
        variable ``WMNB_PRECISION`` ("fp32" or "bf16") says which. Part of the run's hash
        (a bf16 run is another network); evaluation, recordings and analyses always run in float32.
    threads : int or None
        CPU threads torch uses while this run trains (restored afterwards); None = the profile's value,
        and if that is None too, torch's current setting. Not part of the run's hash (results can differ
        in the last bits between thread counts; resuming should use the same count).
    profile : {"smoke", "quick", "paper"}
    """

    scenario: str = "MTMF"
    feature: Optional[str] = None
    tasks: Optional[tuple] = None
    model: Optional[ModelConfig] = None
    steps: Optional[int] = None
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    weight_decay: float = 1e-4
    milestones: Optional[tuple] = None
    gamma: Optional[float] = None
    grad_clip: float = 1.0
    no_action_weight: float = 0.1
    eval_every: Optional[int] = None
    n_eval_per_condition: Optional[int] = None
    checkpoint_every: Optional[int] = None
    seq_len: int = 6
    p_match: float = 0.5
    eval_splits: tuple = EVAL_SPLITS
    seed: int = 0
    device: str = "auto"
    profile: str = "quick"
    threads: Optional[int] = None
    precision: Optional[str] = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        check_choice("profile", self.profile, PROFILES)
        check_choice("scenario", self.scenario, list(SCENARIOS))
        scenario_conditions(self.scenario, self.feature)  # validates feature
        if self.tasks is not None:
            from wmnb.tasks import _as_condition
            conds = tuple(_as_condition(c) for c in self.tasks)
            if not conds:
                raise ConfigError("tasks=() is not allowed; give (feature, n) pairs or None")
            set_("tasks", tuple((c.feature, int(c.n)) for c in conds))
        prof = TRAINING[self.profile]
        for k, v in prof.items():
            if k != "model" and getattr(self, k) is None:
                set_(k, v)
        if self.model is None:
            set_("model", ModelConfig(**prof["model"]))
        elif isinstance(self.model, dict):
            set_("model", ModelConfig(**self.model))
        elif not isinstance(self.model, ModelConfig):
            raise ConfigError(f"model={self.model!r} must be a ModelConfig (or None for the profile's)")
        set_("steps", check_int("steps", self.steps, low=1))
        set_("batch_size", check_int("batch_size", self.batch_size, low=1))
        set_("lr", check_float("lr", self.lr, low=0.0, low_open=True))
        set_("weight_decay", check_float("weight_decay", self.weight_decay, low=0.0))
        set_("milestones", tuple(check_int("milestones", m, low=1) for m in self.milestones))
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ConfigError(f"milestones={self.milestones!r} must be strictly increasing")
        set_("gamma", check_float("gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        set_("grad_clip", check_float("grad_clip", self.grad_clip, low=0.0))
        set_("no_action_weight", check_float("no_action_weight", self.no_action_weight, low=0.0))
        set_("eval_every", check_int("eval_every", self.eval_every, low=1))
        set_("n_eval_per_condition", check_int("n_eval_per_condition", self.n_eval_per_condition, low=1))
        set_("checkpoint_every", check_int("checkpoint_every", self.checkpoint_every, low=1))
        set_("seq_len", check_int("seq_len", self.seq_len, low=2))
        # cross-parameter rule, checked here so it fails before any run folder exists
        max_n = max(c.n for c in self.conditions)
        if self.seq_len < max_n + 1:
            raise ConfigError(f"seq_len={self.seq_len!r} cannot hold the largest N={max_n} of the tasks "
                              f"{[c.name for c in self.conditions]}; allowed: seq_len >= {max_n + 1}")
        set_("p_match", check_float("p_match", self.p_match, low=0.0, high=1.0, low_open=True, high_open=True))
        splits = tuple(self.eval_splits)
        for s in splits:
            check_choice("eval_splits", s, SPLITS)
        if not splits:
            raise ConfigError(f"eval_splits=() is not allowed; give at least one of {list(SPLITS)}")
        set_("eval_splits", splits)
        set_("seed", check_int("seed", self.seed, low=0))
        check_device("device", self.device)
        if self.threads is not None:
            set_("threads", check_int("threads", self.threads, low=1))
        check_choice("precision", self.precision, list(PRECISIONS))
        if self.precision == "auto":
            forced = os.environ.get("WMNB_PRECISION")
            if forced:
                check_choice("WMNB_PRECISION", forced, ["fp32", "bf16"])
            set_("precision", forced or ("bf16" if native_bf16(self.device) else "fp32"))

    @property
    def conditions(self):
        if self.tasks is not None:
            from wmnb.tasks import Condition
            return tuple(Condition(f, n) for f, n in self.tasks)
        return scenario_conditions(self.scenario, self.feature)

    def hash_fields(self) -> dict:
        """The fields that define the run (everything but ``device`` and ``threads``; ``precision`` only when
        it is not "fp32", so runs cached before the field existed keep their keys)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("device", "threads")}
        if d["precision"] == "fp32":
            del d["precision"]
        return d

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["model"] = ModelConfig(**d["model"])
        d["milestones"] = tuple(d["milestones"])
        d["eval_splits"] = tuple(d["eval_splits"])
        if d.get("tasks") is not None:
            d["tasks"] = tuple(tuple(t) for t in d["tasks"])
        d.setdefault("precision", "fp32")  # runs recorded before the field existed trained in float32
        return cls(**d)


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------
def _feature_maps(features) -> np.ndarray:
    maps = getattr(features, "maps", features)
    if torch.is_tensor(maps):
        maps = maps.cpu().numpy()
    maps = np.asarray(maps)
    if maps.ndim != 4:
        raise ConfigError(f"features.maps shape={maps.shape} is not allowed; expected (n_images, C, 7, 7)")
    return maps


def _feature_key(features) -> str:
    key = getattr(features, "key", None)
    if key:
        return str(key)
    maps = _feature_maps(features)
    return sha256_bytes(np.ascontiguousarray(maps).tobytes())[:16]


def _stimulus_hash(stimuli) -> str:
    h = getattr(stimuli, "hash", None)
    if h:
        return str(h)
    labels = {f: np.asarray(stimuli.labels(f)) for f in FEATURES}
    pools = {s: np.asarray(stimuli.pool(s)) for s in ("train", "novel_angle", "novel_identity")}
    return config_hash({"labels": {k: v.tolist() for k, v in labels.items()},
                        "pools": {k: v.tolist() for k, v in pools.items()}}, kind="stimuli-adhoc")


def run_key(stimuli, features, config: TrainConfig) -> str:
    """Cache key of a run: config (minus device) + stimulus hash + feature key + training version."""
    return config_hash({"config": config.hash_fields(), "stimuli": _stimulus_hash(stimuli),
                        "features": _feature_key(features), "training": TRAINING_VERSION}, kind="run")


def _pool(stimuli, split: str) -> np.ndarray:
    try:
        return np.asarray(stimuli.pool(split), dtype=np.int64)
    except (KeyError, ValueError):
        return np.zeros(0, dtype=np.int64)


def _to_tensors(trials: NBackTrials, device):
    return (torch.as_tensor(trials.stimuli, device=device),
            torch.as_tensor(trials.task_vector, device=device),
            torch.as_tensor(trials.targets, device=device),
            torch.as_tensor(trials.executive, device=device))


def masked_loss(logits, targets, executive, no_action_weight: float):
    """CE on executive steps + ``no_action_weight`` x CE on the other steps (each a mean over its steps)."""
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    ex = executive.reshape(-1).float()
    main = (ce * ex).sum() / ex.sum().clamp_min(1.0)
    if no_action_weight > 0:
        na = 1.0 - ex
        main = main + no_action_weight * (ce * na).sum() / na.sum().clamp_min(1.0)
    return main


@torch.no_grad()
def evaluate(model: WMModel, trials: NBackTrials, *, batch_size: int = 2048, device=None) -> pd.DataFrame:
    """Masked accuracy and loss on executive steps, overall and per (feature, N).

    Returns
    -------
    DataFrame with columns feature (name or "all"), n (0 for "all"), accuracy, loss (executive CE),
    chance (0.5), n_steps (executive steps scored).
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    B = len(trials)
    correct = np.zeros(trials.stimuli.shape, dtype=bool)
    ce = np.zeros(trials.stimuli.shape, dtype=np.float64)
    for s in range(0, B, batch_size):
        sub = trials.subset(slice(s, s + batch_size))
        x, tv, y, _ = _to_tensors(sub, device)
        logits = model(x, tv).logits
        correct[s:s + len(sub)] = (logits.argmax(-1) == y).cpu().numpy()
        ce[s:s + len(sub)] = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").cpu().numpy()
    model.train(was_training)
    ex = trials.executive
    rows = [dict(feature="all", n=0, accuracy=float(correct[ex].mean()), loss=float(ce[ex].mean()),
                 chance=0.5, n_steps=int(ex.sum()))]
    for c in trials.conditions:
        sel = (trials.feature == FEATURES.index(c.feature)) & (trials.n == c.n)
        m = ex & sel[:, None]
        if m.any():
            rows.append(dict(feature=c.feature, n=int(c.n), accuracy=float(correct[m].mean()),
                             loss=float(ce[m].mean()), chance=0.5, n_steps=int(m.sum())))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------------
@dataclass
class Run:
    """A trained (cached) run.

    Attributes
    ----------
    config : TrainConfig
    key : str (cache key); dir : Path (cache folder)
    history : DataFrame, tidy: step, split, feature, n, accuracy, loss, chance, n_steps, seconds (training wall
        time at that evaluation; missing in runs trained before it was recorded). ``split`` is an eval
        split or "train_batch" (training batches since the previous eval); ``feature == "all"`` (n = 0)
        rows are the overall masked accuracy.
    metrics : DataFrame, the last evaluation (split, feature, n, accuracy, loss, chance, n_steps)
    best_metrics : DataFrame, the evaluation at ``best_step``
    best_step : int, step of the best checkpoint (by novel_angle masked accuracy)
    info : dict, hashes, timings, device, parameter count
    """

    config: TrainConfig
    key: str
    dir: Path
    history: pd.DataFrame
    metrics: pd.DataFrame
    best_metrics: pd.DataFrame
    best_step: int
    info: dict
    stimuli: Any = field(default=None, repr=False)
    features: Any = field(default=None, repr=False)

    def model(self, which: str = "last", device=None) -> WMModel:
        """Rebuild the trained model ("last" or "best" checkpoint), in eval mode."""
        check_choice("which", which, ["last", "best"])
        if self.features is None:
            raise ConfigError("this Run holds no features; load it with load_run(..., features=...)")
        state = torch.load(self.dir / f"{which}.pt", map_location="cpu", weights_only=True)
        sd = state["model"]
        pca = None
        if "pca_mean" in sd:
            pca = (sd["pca_mean"].numpy(), sd["pca_components"].numpy())
        m = WMModel(self.config.model, _feature_maps(self.features), pca=pca)
        m.load_state_dict(sd)
        dev = resolve_device(device or self.config.device)
        return m.to(dev).eval()

    @property
    def conditions(self):
        return self.config.conditions

    def accuracy_table(self, which: str = "last") -> pd.DataFrame:
        """Masked accuracy as a (feature, n) x split table (``which`` = "last" or "best")."""
        df = self.metrics if which == "last" else self.best_metrics
        return df.pivot_table(index=["feature", "n"], columns="split", values="accuracy")

    def __repr__(self) -> str:
        m = self.metrics[self.metrics.feature == "all"].set_index("split").accuracy
        acc = ", ".join(f"{k} {v:.3f}" for k, v in m.items())
        return f"Run({self.config.scenario}, {self.config.model.core}, key={self.key}, masked acc: {acc})"


def _read_run(entry: CacheEntry, stimuli, features) -> Run:
    info = json.loads(entry.path("info.json").read_text())
    cfg = TrainConfig.from_dict(info["config"])
    history = pd.read_csv(entry.path("history.csv"))
    last = history[history.step == history.step.max()]
    last = last[last.split != "train_batch"].reset_index(drop=True)
    best_step = int(info["best_step"])
    best = history[(history.step == best_step) & (history.split != "train_batch")].reset_index(drop=True)
    return Run(cfg, entry.key, entry.dir, history, last, best, best_step, info, stimuli, features)


def load_run(key_or_dir, stimuli=None, features=None, cache_dir=None) -> Run:
    """Load a finished run from the cache by key (or by its folder)."""
    p = Path(key_or_dir)
    if p.is_dir():
        entry = CacheEntry(p.parent.parent, p.parent.name, p.name)
    else:
        entry = CacheEntry(cache_dir or default_cache_dir(), "runs", str(key_or_dir))
    if not entry.complete(verify=True):
        raise ConfigError(f"run {key_or_dir!r} is not a complete cached run")
    return _read_run(entry, stimuli, features)


def _save_torch(path: Path, obj) -> None:
    atomic_write_with(path, lambda tmp: torch.save(obj, tmp))


def _state_copy(model) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------------------------------
# resume checkpoints: verified on load, never trusted blindly
# --------------------------------------------------------------------------------------------------
#: the newest resume checkpoint, and the one before it (the fallback when the newest is damaged)
RESUME = "resume.pt"
CHECKPOINTS = (RESUME, "resume.prev.pt")
_CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "numpy_rng", "torch_rng", "rows", "step", "best",
                    "running")


def _digest_path(path: Path) -> Path:
    """The sidecar holding ``path``'s sha256 (written after the file itself)."""
    return path.with_name(path.name + ".sha256")


def _save_checkpoint(entry: CacheEntry, state: dict) -> None:
    """Write the resume checkpoint and its sha256 sidecar, keeping the previous one as a fallback.

    The sidecar is written after the checkpoint, so a crash between the two leaves a checkpoint whose
    digest does not match: it is then discarded on load, never used.
    """
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    new, prev = entry.path(CHECKPOINTS[0]), entry.path(CHECKPOINTS[1])
    if new.exists():
        new.replace(prev)
        if _digest_path(new).exists():
            _digest_path(new).replace(_digest_path(prev))
        else:
            _digest_path(prev).unlink(missing_ok=True)
    atomic_write_bytes(new, data)
    atomic_write_bytes(_digest_path(new), (sha256_bytes(data) + "\n").encode())


def _discard_checkpoint(path: Path, why: str) -> None:
    """Warn (naming the file) and delete a damaged checkpoint and its sidecar."""
    import warnings

    warnings.warn(f"resume checkpoint {path} is damaged ({why}); it was deleted and training continues "
                  f"from the previous good checkpoint, or from scratch", RuntimeWarning, stacklevel=3)
    path.unlink(missing_ok=True)
    _digest_path(path).unlink(missing_ok=True)


def _read_checkpoint(path: Path, config: TrainConfig) -> dict:
    """Load a checkpoint after checking its sha256, its keys, its step and that its weights are finite.

    Raises ValueError saying what is wrong. The digest is checked *before* unpickling, so only bytes this
    package wrote are ever unpickled.
    """
    from wmnb.cache import sha256_file

    digest = _digest_path(path)
    if not digest.exists():
        raise ValueError(f"its checksum file {digest.name} is missing")
    if sha256_file(path) != digest.read_text().strip():
        raise ValueError("its sha256 does not match the one recorded when it was written")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 (any unpickling failure means the file is unusable)
        raise ValueError(f"torch.load failed: {type(exc).__name__}: {exc}") from None
    missing = [k for k in _CHECKPOINT_KEYS if not isinstance(ck, dict) or k not in ck]
    if missing:
        raise ValueError(f"keys {missing} are missing")
    if not isinstance(ck["step"], int) or not 0 < ck["step"] <= config.steps:
        raise ValueError(f"step={ck['step']!r} is outside 1..{config.steps}")
    bad = _non_finite(ck["model"]) or (ck["best"].get("state") is not None and _non_finite(ck["best"]["state"]))
    if bad:
        raise ValueError(f"non-finite weights in {bad}")
    return ck


def _good_checkpoints(entry: CacheEntry, config: TrainConfig):
    """Yield (path, checkpoint) for each verified resume checkpoint, newest first; damaged ones are
    reported (a warning naming the file) and deleted."""
    for name in CHECKPOINTS:
        path = entry.path(name)
        if not path.exists():
            _digest_path(path).unlink(missing_ok=True)
            continue
        try:
            ck = _read_checkpoint(path, config)
        except ValueError as exc:
            _discard_checkpoint(path, str(exc))
            continue
        yield path, ck


def _non_finite(state: dict) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or inf."""
    return [k for k, v in state.items()
            if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


def _fail_non_finite(entry: CacheEntry, what: str) -> None:
    """Refuse a diverged run: delete its folder (nothing partial stays cached) and raise TrainingError."""
    from wmnb.errors import TrainingError

    entry.clear()
    raise TrainingError(f"training run {entry.dir} diverged: {what}; nothing was cached. Try a smaller lr "
                        f"or a grad_clip > 0")


#: environment variable naming a JSON-lines file every :func:`train` call appends to (see the module doc)
RUN_LOG_ENV = "WMNB_RUN_LOG"


def log_event(event: str, key: str, config: "TrainConfig", **extra) -> None:
    """Append one JSON line to ``$WMNB_RUN_LOG`` (nothing when it is unset).

    Fields: event, key, time (epoch s), host, pid, config (:meth:`TrainConfig.hash_fields`, canonical), plus
    ``extra``. One ``write`` of an O_APPEND file per line, so concurrent processes never interleave lines.
    """
    path = os.environ.get(RUN_LOG_ENV)
    if not path:
        return
    from wmnb.cache import canonical

    line = json.dumps(dict(event=event, key=key, time=time.time(), host=socket.gethostname(), pid=os.getpid(),
                           config=canonical(config.hash_fields()), **extra), sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class _Interrupted(KeyboardInterrupt):
    """Raised by the private ``_interrupt_after`` hook (tests of resuming)."""


def train(stimuli, features, config: Optional[TrainConfig] = None, cache_dir=None, progress: bool = True,
          *, force: bool = False, _interrupt_after: Optional[int] = None) -> Run:
    """Train (or load from the cache, or resume) a working-memory model.

    Parameters
    ----------
    stimuli : StimulusSet
        Anything with ``labels(feature) -> (n_images,)`` and ``pool(split) -> indices`` (and ``hash``).
    features : FeatureBank
        With ``maps`` (n_images, C, 7, 7) (and ``key``); a bare array also works.
    config : TrainConfig (default: ``TrainConfig()``, the quick MTMF GRU)
    cache_dir : cache root (default :func:`wmnb.cache.default_cache_dir`)
    progress : show a tqdm progress bar
    force : retrain even if a finished run is cached

    Returns
    -------
    Run
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"config={type(config).__name__} must be a TrainConfig")
    maps = _feature_maps(features)
    key = run_key(stimuli, features, config)
    entry = CacheEntry(cache_dir or default_cache_dir(), "runs", key)
    cached = not force and entry.complete(verify=True)
    log_event("request", key, config, stimuli=_stimulus_hash(stimuli), features=_feature_key(features),
              cached=bool(cached))
    if cached:
        return _read_run(entry, stimuli, features)
    device = resolve_device(config.device)
    conditions = config.conditions
    n_images = maps.shape[0]
    labels_n = np.asarray(stimuli.labels(FEATURES[0])).shape[0]
    if labels_n != n_images:
        raise ConfigError(f"features have {n_images} images but the stimulus set has {labels_n}")

    train_pool = _pool(stimuli, "train")
    stream = TrialStream(stimuli, train_pool, conditions, seq_len=config.seq_len, p_match=config.p_match,
                         split="train")
    eval_sets = {}
    for i, split in enumerate(config.eval_splits):
        pool = _pool(stimuli, split)
        if pool.size == 0:
            continue
        eval_sets[split] = TrialStream(stimuli, pool, conditions, seq_len=config.seq_len,
                                       p_match=config.p_match, split=split).generate(
            config.n_eval_per_condition, seed=config.seed * 1000 + 101 + i)
    best_split = "novel_angle" if "novel_angle" in eval_sets else next(iter(eval_sets))

    def waiting(owner):
        log_event("wait", key, config, owner=owner)
        if progress:
            print(f"run {key} is being trained by {describe_owner(owner)}; waiting for it", flush=True)

    # one writer per run across processes and hosts; a second caller waits, then loads the finished run
    with entry_lock(entry, on_wait=waiting):
        if not force and entry.complete(verify=True):
            return _read_run(entry, stimuli, features)
        entry.remove_partial()  # temporary files of a writer that was killed (we hold the lock: it is dead)
        log_event("train", key, config, device=str(device), resume=entry.path(RESUME).exists())
        # the run folder is created only now, after every input has been checked: a bad input leaves nothing
        if force:
            entry.clear()
        entry.begin()
        old_threads = torch.get_num_threads()
        if config.threads is not None and device.type == "cpu":
            torch.set_num_threads(config.threads)
        try:
            t_start = time.perf_counter()
            return _train_loop(stimuli, features, config, entry, key, maps, device, conditions, train_pool,
                               stream, eval_sets, best_split, t_start, progress, _interrupt_after)
        finally:
            if torch.get_num_threads() != old_threads:
                torch.set_num_threads(old_threads)


def _train_loop(stimuli, features, config, entry, key, maps, device, conditions, train_pool, stream,
                eval_sets, best_split, t_start, progress, _interrupt_after):
    def fresh():
        """Model, optimizer and scheduler exactly as a run from scratch builds them."""
        torch.manual_seed(config.seed)
        m = WMModel(config.model, maps, fit_indices=train_pool).to(device)
        o = torch.optim.AdamW(m.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        return m, o, torch.optim.lr_scheduler.MultiStepLR(o, milestones=list(config.milestones),
                                                          gamma=config.gamma)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model, opt, sched = fresh()
        rng = np.random.default_rng([config.seed, 7])
        rows: list[dict] = []
        step = 0
        best = dict(score=-1.0, step=0, state=None)
        elapsed_before = 0.0
        run_loss, run_correct, run_count, run_batches = 0.0, 0, 0, 0
        for path, ck in _good_checkpoints(entry, config):
            try:
                model.load_state_dict(ck["model"])
                opt.load_state_dict(ck["optimizer"])
                sched.load_state_dict(ck["scheduler"])
                rng.bit_generator.state = ck["numpy_rng"]
                torch.set_rng_state(ck["torch_rng"])
                if device.type == "cuda" and ck.get("cuda_rng") is not None:
                    torch.cuda.set_rng_state(ck["cuda_rng"], device)
                rows, step, best = ck["rows"], ck["step"], ck["best"]
                elapsed_before = ck.get("elapsed", 0.0)
                run_loss, run_correct, run_count, run_batches = ck["running"]
                break
            except (KeyError, RuntimeError, TypeError, ValueError) as exc:
                # verified bytes that still do not fit this run: never train on a half-loaded state
                _discard_checkpoint(path, f"it does not fit this run ({type(exc).__name__}: {exc})")
                model, opt, sched = fresh()
                rng = np.random.default_rng([config.seed, 7])
                rows, step, best, elapsed_before = [], 0, dict(score=-1.0, step=0, state=None), 0.0
                run_loss, run_correct, run_count, run_batches = 0.0, 0, 0, 0
        model.train()
        bar = progress_bar(total=config.steps, initial=step, enabled=progress, leave=False,
                           desc=f"train {config.scenario} {config.model.core}")
        try:
            while step < config.steps:
                batch = stream.sample_batch(rng, config.batch_size)
                x, tv, y, ex = _to_tensors(batch, device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
                    out = model(x, tv)
                logits = out.logits.float()
                loss = masked_loss(logits, y, ex, config.no_action_weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                opt.step()
                sched.step()
                step += 1
                with torch.no_grad():
                    if not np.isfinite(float(loss)):
                        _fail_non_finite(entry, f"the training loss is non-finite ({float(loss)}) at step {step}")
                    run_loss += float(loss)
                    pred = logits.argmax(-1)
                    run_correct += int(((pred == y) & ex).sum())
                    run_count += int(ex.sum())
                    run_batches += 1
                if step % config.eval_every == 0 or step == config.steps:
                    seconds = round(elapsed_before + time.perf_counter() - t_start, 2)  # training time so far
                    rows.append(dict(step=step, split="train_batch", feature="all", n=0,
                                     accuracy=run_correct / max(run_count, 1), loss=run_loss / run_batches,
                                     chance=0.5, n_steps=run_count, seconds=seconds))
                    run_loss, run_correct, run_count, run_batches = 0.0, 0, 0, 0
                    for split, trials in eval_sets.items():
                        df = evaluate(model, trials, device=device)
                        for r in df.to_dict("records"):
                            rows.append(dict(step=step, split=split, **r, seconds=seconds))
                        if split == best_split:
                            score = float(df.accuracy.iloc[0])
                            if score > best["score"]:
                                best = dict(score=score, step=step, state=_state_copy(model))
                    if not bar.disable:
                        acc = {r["split"]: r["accuracy"] for r in rows[-(len(eval_sets) * 20):]
                               if r["step"] == step and r["feature"] == "all"}
                        bar.set_postfix({k[:9]: f"{v:.3f}" for k, v in acc.items()})
                if step % config.checkpoint_every == 0 and step < config.steps:
                    _save_checkpoint(entry, dict(
                        model=_state_copy(model), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                        numpy_rng=rng.bit_generator.state, torch_rng=torch.get_rng_state(),
                        cuda_rng=torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                        rows=rows, step=step, best=best,
                        running=(run_loss, run_correct, run_count, run_batches),
                        elapsed=elapsed_before + time.perf_counter() - t_start))
                bar.update(1)
                if _interrupt_after is not None and step >= _interrupt_after:
                    raise _Interrupted(f"interrupted after step {step}")
        finally:
            bar.close()

    elapsed = elapsed_before + time.perf_counter() - t_start
    last_state = _state_copy(model)
    best_state = best["state"] if best["state"] is not None else last_state
    for which, state in (("last", last_state), ("best", best_state)):
        bad = _non_finite(state)
        if bad:
            _fail_non_finite(entry, f"the {which} weights hold non-finite values in {bad}")
    _save_torch(entry.path("last.pt"), dict(model=last_state, step=step))
    _save_torch(entry.path("best.pt"), dict(model=best_state, step=best["step"]))
    history = pd.DataFrame(rows, columns=["step", "split", "feature", "n", "accuracy", "loss", "chance",
                                          "n_steps", "seconds"])
    atomic_write_bytes(entry.path("history.csv"), history.to_csv(index=False).encode())
    info = dict(config=config.to_dict(), key=key, stimulus_hash=_stimulus_hash(stimuli),
                feature_key=_feature_key(features), best_step=best["step"], best_split=best_split,
                best_score=best["score"], train_seconds=elapsed, device=str(device),
                threads=torch.get_num_threads() if device.type == "cpu" else None,
                n_parameters=model.n_parameters(), torch=torch.__version__,
                conditions=[c.name for c in conditions],
                pools={s: int(_pool(stimuli, s).size) for s in ("train",) + tuple(eval_sets)})
    atomic_write_json(entry.path("info.json"), info)
    for name in CHECKPOINTS:  # a finished run needs no resume state (and the manifest must not list it)
        for p in (entry.path(name), _digest_path(entry.path(name))):
            p.unlink(missing_ok=True)
    entry.commit(meta=dict(kind="run", key=key))
    return _read_run(entry, stimuli, features)

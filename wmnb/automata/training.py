"""Training on short strings and testing at every length: seeded, batched, cached.

Protocol (after Delétang et al. 2023, with the differences stated in the chapter): each optimiser step draws
one length uniformly from ``1..L`` and a batch of uniform random strings of that length; the loss is the
cross-entropy of the answer after *every* prefix (the anchor scores only the end of each string). Testing
runs ``n_eval`` fixed strings of length ``test_length`` (the same strings for every model and seed); since the
models are causal, the output at step ``t`` is the answer for the prefix of length ``t + 1``, so one pass
gives the accuracy at every length ``1..test_length``.

Trained weights are cached by :mod:`wmnb.cache` (key: the full :class:`TrainSpec`); the accuracy tables by
:func:`wmnb.results.cached_table` keyed on this package's source, so the chapter and the claims page share
them and never train twice.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..cache import CacheEntry, atomic_write_json, atomic_write_with, config_hash, default_cache_dir
from ..config import AUTOMATA, check_seeds, sizes
from ..errors import ConfigError, TrainingError, check_choice, check_float, check_int
from ..progress import progress_bar
from . import models as M
from .tasks import TASK_NAMES, get_task, sample

__all__ = ["TrainSpec", "settings", "spec_for", "train", "trained_model", "test_strings", "predict",
           "evaluate_lengths", "length_table", "summarise_lengths", "EVAL_SEED", "TRAIN_VERSION"]

#: bump when the training procedure changes what a cached model holds
TRAIN_VERSION = "1"
#: the seed of the test strings (shared by every model and seed)
EVAL_SEED = 12_345

@dataclass(frozen=True)
class TrainSpec:
    """Everything that determines one trained model (hashed into its cache key)."""

    task: str
    model: str
    seed: int = 0
    train_length: int = 20
    steps: int = 1000
    batch_size: int = 128
    lr: float = 3e-3
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2

    def __post_init__(self):
        check_choice("task", self.task, TASK_NAMES)
        check_choice("model", self.model, M.MODEL_NAMES)
        check_int("seed", self.seed, low=0)
        check_int("train_length", self.train_length, low=2, high=1000)
        check_int("steps", self.steps, low=4)
        check_int("batch_size", self.batch_size, low=1)
        check_float("lr", self.lr, low=0.0, low_open=True)

    def build(self) -> torch.nn.Module:
        task = get_task(self.task)
        return M.build(self.model, task.n_symbols, task.n_classes, d_model=self.d_model, n_heads=self.n_heads,
                       n_layers=self.n_layers)


def spec_for(task: str, model: str, seed: int, *, train_length: int, steps: int, batch_size: int,
             lr: float = 3e-3, transformer_steps: int | None = None, transformer_lr: float | None = None,
             **_ignored) -> TrainSpec:
    """The :class:`TrainSpec` of one run: recurrent models train ``steps`` steps at peak rate ``lr``,
    Transformers ``transformer_steps`` at ``transformer_lr`` (None: the same as the recurrent ones). Extra
    keywords (the test sizes, device, ...) are accepted and ignored, so a chapter's settings dict can be
    passed as is."""
    if model in M.TRANSFORMERS:
        steps = steps if transformer_steps is None else transformer_steps
        lr = lr if transformer_lr is None else transformer_lr
    return TrainSpec(task, model, int(seed), train_length, steps, batch_size, lr)


def train(spec: TrainSpec, *, device: str = "auto", progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """Train ``spec`` from scratch; returns the model (on CPU, eval mode) and a log dict
    (``n_params, hidden, seconds, final_loss, final_train_accuracy``)."""
    from ..training import resolve_device

    dev = resolve_device(device)
    task = get_task(spec.task)
    torch.manual_seed(spec.seed)
    model = spec.build().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=spec.steps,
                                                pct_start=min(0.5, max(0.1, 2.0 / spec.steps)))
    rng = np.random.default_rng([spec.seed, 7])
    t0, c0 = time.time(), time.process_time()
    losses, accs = [], []
    model.train()
    for _ in progress_bar(range(spec.steps), enabled=progress, desc=f"{spec.task}/{spec.model}/s{spec.seed}",
                          leave=False):
        length = int(rng.integers(1, spec.train_length + 1))
        b = sample(task, spec.batch_size, length, rng)
        x = torch.from_numpy(b.x).to(dev)
        y = torch.from_numpy(b.y).to(dev)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        accs.append(float((logits.argmax(-1) == y).float().mean()))
    if not all(np.isfinite(losses)):
        raise TrainingError(f"training {spec} produced a non-finite loss")
    model = model.cpu().eval()
    tail = max(1, spec.steps // 10)
    log = dict(n_params=M.n_params(model), hidden=int(getattr(model, "hidden", spec.d_model)),
               seconds=time.time() - t0, cpu_seconds=time.process_time() - c0, final_loss=float(np.mean(losses[-tail:])),
               final_train_accuracy=float(np.mean(accs[-tail:])), device=str(dev))
    return model, log


def trained_model(spec: TrainSpec, *, device: str = "auto", progress: bool = True, cache_dir=None
                  ) -> tuple[torch.nn.Module, dict]:
    """:func:`train`, cached on disk under ``<cache>/automata/<hash of spec>`` (weights + log)."""
    key = config_hash(dict(spec=asdict(spec), v=TRAIN_VERSION), kind="automata-run")
    entry = CacheEntry(cache_dir or default_cache_dir(), "automata", key)
    model = spec.build()
    if entry.complete():
        model.load_state_dict(torch.load(entry.path("model.pt"), map_location="cpu", weights_only=True))
        return model.eval(), json.loads(entry.path("log.json").read_text())
    model, log = train(spec, device=device, progress=progress)
    entry.begin()
    atomic_write_with(entry.path("model.pt"), lambda p: torch.save(model.state_dict(), p))
    atomic_write_json(entry.path("log.json"), log)
    entry.commit({"spec": asdict(spec)})
    return model, log


def test_strings(task_name: str, test_length: int, n_eval: int) -> np.ndarray:
    """The fixed test strings of a task, (n_eval, test_length) int (seed :data:`EVAL_SEED`)."""
    task = get_task(task_name)
    return sample(task, n_eval, test_length, np.random.default_rng([EVAL_SEED, TASK_NAMES.index(task_name)])).x


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, *, batch: int = 64) -> np.ndarray:
    """Predicted answers after every prefix, (B, T) int, in batches of ``batch`` strings (CPU)."""
    model.eval()
    out = [model(torch.from_numpy(x[i:i + batch])).argmax(-1).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out)


def evaluate_lengths(model: torch.nn.Module, task_name: str, test_length: int, n_eval: int) -> pd.DataFrame:
    """Accuracy at every length ``1..test_length`` on the fixed test strings: columns ``length, accuracy``."""
    task = get_task(task_name)
    x = test_strings(task_name, test_length, n_eval)
    correct = predict(model, x) == task.answers(x)
    return pd.DataFrame(dict(length=np.arange(1, test_length + 1), accuracy=correct.mean(0)))


def length_table(tasks: Sequence[str], models: Sequence[str], seeds: Sequence[int], *, train_length: int,
                 test_length: int, steps: int, batch_size: int, n_eval: int, lr: float = 3e-3,
                 transformer_steps: int | None = None, transformer_lr: float | None = None,
                 device: str = "auto", progress: bool = True, cache_dir=None) -> pd.DataFrame:
    """Accuracy vs length for every (task, model, seed): one row per length.

    Columns ``task, model, seed, length, accuracy, n_params, hidden, train_seconds, final_train_accuracy``.
    Transformers train ``transformer_steps`` steps at ``transformer_lr`` (None: ``steps``, ``lr``;
    :func:`spec_for`). Cached per (task, model, seed) with :func:`wmnb.results.cached_table` (key: the spec, the test sizes and
    this package's source); weights are cached by :func:`trained_model`.
    """
    from ..results import cached_table

    test_length = check_int("test_length", test_length, low=train_length + 1)
    frames = []
    for task in tasks:
        for name in models:
            for seed in seeds:
                spec = spec_for(task, name, seed, train_length=train_length, steps=steps, batch_size=batch_size,
                                lr=lr, transformer_steps=transformer_steps, transformer_lr=transformer_lr)

                def compute(spec=spec):
                    model, log = trained_model(spec, device=device, progress=progress, cache_dir=cache_dir)
                    tab = evaluate_lengths(model, spec.task, test_length, n_eval)
                    tab["n_params"], tab["hidden"] = log["n_params"], log["hidden"]
                    tab["train_seconds"] = log["seconds"]
                    tab["final_train_accuracy"] = log["final_train_accuracy"]
                    return tab

                desc = dict(spec=asdict(spec), test_length=test_length, n_eval=n_eval, v=TRAIN_VERSION)
                tab = cached_table("automata_lengths", desc, compute, cache_dir=cache_dir, sources=("automata",))
                tab.insert(0, "seed", int(seed))
                tab.insert(0, "model", name)
                tab.insert(0, "task", task)
                frames.append(tab)
    return pd.concat(frames, ignore_index=True)


def summarise_lengths(table: pd.DataFrame, train_length: int) -> pd.DataFrame:
    """Per (task, model, seed): ``in_distribution`` (mean accuracy over lengths 1..L), ``beyond`` (the
    anchor's score: mean accuracy over lengths L+1..max) and ``longest`` (accuracy at the longest length)."""
    if table.empty:
        raise ConfigError("the length table is empty")
    rows = []
    for (task, model, seed), g in table.groupby(["task", "model", "seed"], sort=False):
        g = g.sort_values("length")
        ind = g[g["length"] <= train_length]
        out = g[g["length"] > train_length]
        rows.append(dict(task=task, model=model, seed=int(seed), in_distribution=float(ind["accuracy"].mean()),
                         beyond=float(out["accuracy"].mean()), longest=float(g["accuracy"].iloc[-1]),
                         n_params=int(g["n_params"].iloc[0]), hidden=int(g["hidden"].iloc[0])))
    return pd.DataFrame(rows)


def settings(profile: str = "quick", *, tasks=None, models=None, train_length=None, test_length=None,
             seeds=None, steps=None, transformer_steps=None, device: str = "auto") -> dict:
    """Validate the chapter's parameters and fill the profile's defaults, before any work.

    ``tasks`` / ``models``: names from :data:`wmnb.automata.tasks.TASK_NAMES` /
    :data:`wmnb.automata.models.MODEL_NAMES` (None: the profile's); ``train_length`` L in 2..200;
    ``test_length`` at least ``2 L`` (None: the profile's ratio, 10 L); ``seeds`` non-negative integers (at
    least two distinct ones give an interval; None: the profile's); ``steps`` optimiser steps (None: the
    profile's); ``transformer_steps`` the Transformers' steps (None: the profile's, scaled by ``steps`` /
    the profile's steps when ``steps`` is given). Raises :class:`wmnb.errors.ConfigError` naming the parameter, the value and what is allowed.
    Returns a dict of the resolved values (``tasks, models, seeds, train_length, test_length, steps, lr,
    transformer_steps, transformer_lr, batch_size, n_eval, device``).
    """
    from ..errors import check_choices, check_device

    size = sizes(AUTOMATA, profile)
    seeds = check_seeds("seeds", seeds)
    check_device("device", device)
    tasks = size["tasks"] if tasks is None else check_choices("tasks", tasks, TASK_NAMES)
    models = size["models"] if models is None else check_choices("models", models, M.MODEL_NAMES)
    for name, vals in (("tasks", tasks), ("models", models)):
        if len(set(vals)) != len(vals):
            raise ConfigError(f"{name}={list(vals)!r} names an entry twice")
    L = size["train_length"] if train_length is None else check_int("train_length", train_length, low=2, high=200)
    default_test = size["test_length"] if train_length is None else 10 * L
    T = default_test if test_length is None else check_int("test_length", test_length, low=2 * L, high=5000)
    seeds = size["seeds"] if seeds is None else seeds
    if transformer_steps is not None:
        transformer_steps = check_int("transformer_steps", transformer_steps, low=4)
    elif steps is None:
        transformer_steps = size["transformer_steps"]
    else:
        transformer_steps = max(4, int(round(check_int("steps", steps, low=4) * size["transformer_steps"]
                                             / size["steps"])))
    steps = size["steps"] if steps is None else check_int("steps", steps, low=4)
    return dict(tasks=tuple(tasks), models=tuple(models), seeds=tuple(seeds), train_length=L, test_length=T,
                steps=steps, lr=size["lr"], transformer_steps=transformer_steps, transformer_lr=size["transformer_lr"],
                batch_size=size["batch_size"], n_eval=size["n_eval"], device=device)

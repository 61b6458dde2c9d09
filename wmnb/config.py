"""The ground floor of wmnb's configuration: names, profiles, per-profile sizes and the seed policy.

Every other module reads these here; none declares its own copy. This module imports only
:mod:`wmnb.errors`, so any floor of the package may import it.

* **Names**: :data:`PROFILES`, :data:`CORES` (with :data:`CORE_LABELS`), :data:`SCENARIOS`, :data:`FEATURES`,
  :data:`N_VALUES`, :data:`SPLITS` and :data:`EVAL_SPLITS`.
* **Per-profile sizes**, one table per use, each keyed by profile: the stimulus world (:data:`WORLD`), the
  training budget (:data:`TRAINING`), the analysis recordings (:data:`ANALYSIS_SEQUENCES`), the seeds
  (:data:`SEEDS`), the orthogonalization null (:data:`ORTHOGONALITY`), the superposition chapter
  (:data:`SUPERPOSITION`, :data:`SUPERPOSITION_KS`, :data:`BRIDGE_SEQUENCES`) and the procedural-task chapter
  (:data:`AUTOMATA`). :func:`sizes` reads one with a clear error for an unknown profile.
* **The seed policy**: :func:`check_seeds` (a non-empty list of distinct integers >= 0) and :func:`seeds_for`
  (a chapter's seeds: explicit, or the profile's first ``n_seeds``); :data:`ANALYSIS_SEED` (every analysis
  recording) and :data:`ATTENTION_SEEDS` (how many of the book's seeds chapter 11 trains).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from .errors import ConfigError, check_choice, check_int

__all__ = ["PROFILES", "CORES", "CORE_LABELS", "SCENARIOS", "MULTI_TASK_SCENARIOS", "FEATURES", "N_VALUES",
           "SPLITS", "EVAL_SPLITS", "ANALYSIS_SEED", "ATTENTION_SEEDS", "WORLD", "TRAINING", "ANALYSIS_SEQUENCES",
           "SEEDS", "ORTHOGONALITY", "SUPERPOSITION", "SUPERPOSITION_KS", "BRIDGE_SEQUENCES", "AUTOMATA",
           "AUTOMATA_TRANSFORMERS", "ABLATION", "sizes", "check_profile", "check_seeds", "seeds_for"]

# ---------------------------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------------------------
#: ``smoke`` (seconds; tests only, never a result), ``quick`` (the book's default on 2 CPU cores), ``paper``
PROFILES = ("smoke", "quick", "paper")
#: recurrent cores compared across the book, and how the book names them
CORES = ("rnn", "gru", "lstm")
CORE_LABELS = {"rnn": "vanilla RNN", "gru": "GRU", "lstm": "LSTM"}
#: training diets: single task single feature, single task multi feature, multi task multi feature
SCENARIOS = ("STSF", "STMF", "MTMF")
#: the diets with several tasks (cross-task analyses and attention need them)
MULTI_TASK_SCENARIOS = ("STMF", "MTMF")
#: task features (= decoded object properties), in task-vector slot order
FEATURES = ("location", "identity", "category")
#: the N of the N-back tasks
N_VALUES = (1, 2, 3)
#: stimulus pools; the first three are the evaluation splits of every training run
SPLITS = ("train", "novel_angle", "novel_identity", "novel_both")
EVAL_SPLITS = ("train", "novel_angle", "novel_identity")

# ---------------------------------------------------------------------------------------------------------
# seeds
# ---------------------------------------------------------------------------------------------------------
#: seed of every analysis recording (the fixed analysis set drawn from a pool; a stream apart from training's)
ANALYSIS_SEED = 12345
#: seeds a chapter aggregates over, per profile
SEEDS = {"smoke": (0,), "quick": (0, 1, 2, 3, 4), "paper": (0, 1, 2, 3, 4)}
#: chapter 11 trains its six arms on the first this many of the book's seeds (36 runs at quick)
ATTENTION_SEEDS = 3

# ---------------------------------------------------------------------------------------------------------
# per-profile sizes
# ---------------------------------------------------------------------------------------------------------
#: the stimulus world (K = identities per category). smoke keeps 224 px: the CNN's 7x7 map needs it.
WORLD: dict[str, dict[str, Any]] = {
    "smoke": dict(identities_per_category=3),
    "quick": dict(identities_per_category=12),
    "paper": dict(identities_per_category=12),
}

#: training defaults for every :class:`wmnb.training.TrainConfig` field left as None (``model``: ModelConfig kwargs)
TRAINING: dict[str, dict[str, Any]] = {
    # tiny, seconds: tests and nbval only, never a result
    "smoke": dict(steps=60, batch_size=36, lr=3e-3, milestones=(), gamma=0.1, eval_every=20,
                  n_eval_per_condition=16, checkpoint_every=20, precision="fp32",
                  model=dict(hidden_size=64, embedding_dim=64, pca_channels=16, projection_channels=8)),
    # CPU, under a minute per run on 2 cores: the book's default. Measured (EfficientNet-Lite0, debian, K=12, MTMF):
    # GRU 0.98-0.99 novel-angle masked accuracy, every task > 0.95 on novel angle (see book chapter 4).
    # precision "auto": bf16 autocast where the hardware multiplies bf16 natively (a run 1.6x faster on the book's
    # 2-core AVX512-BF16 machine: benchmarks/bench_time_to_accuracy.py), fp32 elsewhere.
    "quick": dict(steps=2000, batch_size=128, lr=1e-3, milestones=(1400, 1800), gamma=0.2, eval_every=100,
                  n_eval_per_condition=100, checkpoint_every=200, precision="auto",
                  model=dict(hidden_size=None, embedding_dim=128, pca_channels=32, projection_channels=32)),
    # the paper's scale (GPU): hidden 256 (GRU/LSTM) / 512 (RNN), batch 256, AdamW lr 3e-5, step decay 0.1
    "paper": dict(steps=60000, batch_size=256, lr=3e-5, milestones=(40000, 50000), gamma=0.1,
                  eval_every=1000, n_eval_per_condition=400, checkpoint_every=2000, precision="fp32",
                  model=dict(hidden_size=None, embedding_dim=None, pca_channels=64, projection_channels=32)),
}

#: sequences per (feature, N) condition in an analysis recording
ANALYSIS_SEQUENCES = {"smoke": 60, "quick": 2000, "paper": 2000}

#: orthogonalization (chapter 7): shuffled-label null draws, and the paper-style split's sequences per condition
ORTHOGONALITY: dict[str, dict[str, int]] = {
    "smoke": dict(n_null=10, paper_max_per_condition=30),
    "quick": dict(n_null=10, paper_max_per_condition=150),
    "paper": dict(n_null=20, paper_max_per_condition=150),
}

#: temporal superposition (chapter 13). ``d`` is the main hidden size (S sweep, nonlinear comparison),
#: ``phase_ds`` the hidden sizes of the phase diagram (linear nets only); the planted control d = n*k is added.
SUPERPOSITION: dict[str, dict[str, Any]] = {
    "smoke": dict(n=4, k=2, d=4, sparsities=(0.0, 0.9), seeds=(0,), phase_ds=(2,), nonlinear="tanh",
                  steps=300, batch=256, lr=0.02),
    "quick": dict(n=6, k=3, d=6, sparsities=(0.0, 0.5, 0.7, 0.8, 0.9, 0.95), seeds=(0, 1, 2),
                  phase_ds=(3, 9, 12), nonlinear="tanh", steps=2500, batch=512, lr=0.01),
    "paper": dict(n=10, k=4, d=10, sparsities=(0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99),
                  seeds=(0, 1, 2, 3, 4), phase_ds=(5, 15, 20, 30), nonlinear="tanh", steps=10000, batch=2048,
                  lr=0.005),
}
#: the k grid of chapter 13's delay sweep (each includes the profile's main k, whose networks are reused)
SUPERPOSITION_KS = {"smoke": (1, 2), "quick": (1, 2, 3, 4, 5), "paper": (1, 2, 4, 6, 8)}
#: sequences per (feature, N) condition of the superposition bridge's recordings (None: ANALYSIS_SEQUENCES)
BRIDGE_SEQUENCES = {"smoke": None, "quick": 300, "paper": 1000}

#: the Transformers of the procedural-task chapter (14), beside the recurrent :data:`CORES`
AUTOMATA_TRANSFORMERS = ("transformer_sin", "transformer_none", "transformer_alibi")
#: procedural tasks (chapter 14), per profile: optimiser steps and peak learning rate of the recurrent models
#: (``steps``, ``lr``) and of the Transformers (``transformer_steps``, ``transformer_lr``: a larger budget and a
#: lower rate, the anchor's 1e-3, so that the Transformer gets a fair chance to fit the training lengths), batch
#: size, train length L, test length, test strings, default tasks/models/seeds
AUTOMATA: dict[str, dict[str, Any]] = {
    "smoke": dict(steps=60, lr=3e-3, transformer_steps=60, transformer_lr=1e-3, batch_size=32, train_length=8,
                  test_length=80, n_eval=64,
                  tasks=("parity", "perm3"), models=("rnn", "gru", "transformer_sin"), seeds=(0, 1)),
    "quick": dict(steps=2000, lr=3e-3, transformer_steps=3000, transformer_lr=1e-3, batch_size=128,
                  train_length=20, test_length=200, n_eval=256,
                  tasks=("parity", "perm3"),
                  models=("rnn", "gru", "lstm", "transformer_sin", "transformer_none"), seeds=(0, 1, 2)),
    "paper": dict(steps=10_000, lr=3e-3, transformer_steps=15_000, transformer_lr=1e-3, batch_size=128,
                  train_length=40, test_length=500, n_eval=512,
                  tasks=("parity", "sum_mod", "cycle_nav", "even_pairs", "perm3"),
                  models=CORES + AUTOMATA_TRANSFORMERS, seeds=(0, 1, 2, 3, 4)),
}

#: why our verdicts differ from the paper's (chapter 15), per profile. ``identities_per_category``: the paper-faithful
#: world's K (our split holds out ceil(0.25 K) identities per category, so K = 3 trains on the paper's 2 and keeps
#: one novel identity). ``optimiser``: the paper's AdamW schedule shape (batch 256, x0.1 at 2/3 and 5/6 of the
#: steps) at the profile's budget in sequences (quick: 1000 x 256 = the default's 2000 x 128); the paper's lr 3e-5
#: belongs to a 60x longer schedule (the paper profile keeps it; at quick a pilot at 3e-4 already learned less
#: than at 1e-3, so quick keeps the default's rate). ``factor_cores`` / ``factor_claims`` / ``factor_seeds``: the
#: scope of the one-factor-at-a-time arms (F2 compares the vanilla RNN with a gated core, so two cores is the
#: least; F1 needs 20 single-task runs per arm; both are cut at quick for the time budget, F1 to the
#: paper-faithful arm and the seeds to the chapter's first ``factor_seeds``; None: all of them).
ABLATION: dict[str, dict[str, Any]] = {
    "smoke": dict(identities_per_category=3, factor_cores=("rnn", "gru"), factor_claims=("F2", "F3", "F9"),
                  factor_seeds=None,
                  optimiser=dict(batch_size=72, steps=30, milestones=(20, 25), gamma=0.1, lr=3e-3)),
    "quick": dict(identities_per_category=3, factor_cores=("rnn", "gru"), factor_seeds=3,
                  factor_claims=("F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"),
                  optimiser=dict(batch_size=256, steps=1000, milestones=(667, 833), gamma=0.1, lr=1e-3)),
    "paper": dict(identities_per_category=3, factor_cores=CORES, factor_seeds=None,
                  factor_claims=("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"),
                  optimiser=dict(batch_size=256, steps=60000, milestones=(40000, 50000), gamma=0.1, lr=3e-5)),
}


def check_profile(profile: Any) -> str:
    """``profile`` if it is one of :data:`PROFILES`, else a ConfigError naming the allowed ones."""
    return check_choice("profile", profile, PROFILES)


def sizes(table: Mapping[str, Any], profile: str) -> Any:
    """``table[profile]`` for one of the per-profile tables above, after checking the profile name."""
    return table[check_profile(profile)]


# ---------------------------------------------------------------------------------------------------------
# the seed policy
# ---------------------------------------------------------------------------------------------------------
def check_seeds(name: str, value: Any, *, allow_none: bool = True) -> Optional[tuple[int, ...]]:
    """The one rule for a list of seeds: None (the profile's, when ``allow_none``) or a non-empty list, tuple or
    range of **distinct** integers >= 0, returned as a tuple. A ConfigError names ``name``, the value and what
    is allowed (two equal seeds would count one network twice in an interval across seeds)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)):
        hint = "None or " if allow_none else ""
        raise ConfigError(f"{name}={value!r} must be {hint}a list of integers >= 0, e.g. [0, 1, 2]")
    if len(value) == 0:
        raise ConfigError(f"{name}={value!r} is empty; give at least one seed (an integer >= 0)"
                          + (" or None" if allow_none else ""))
    out = tuple(check_int(name, s, low=0) for s in value)
    if len(set(out)) != len(out):
        raise ConfigError(f"{name}={list(out)!r} lists a seed twice; every seed must be distinct")
    return out


def seeds_for(profile: str, n_seeds: Optional[int] = None, seeds: Optional[Iterable[int]] = None
              ) -> tuple[int, ...]:
    """The seeds a chapter aggregates over: ``seeds`` when given (checked by :func:`check_seeds`), else the
    profile's :data:`SEEDS` or, with ``n_seeds``, ``0 .. n_seeds - 1``."""
    check_profile(profile)
    if seeds is not None:
        return check_seeds("seeds", seeds if isinstance(seeds, (list, tuple, range)) else tuple(seeds),
                           allow_none=False)
    if n_seeds is None:
        return SEEDS[profile]
    return tuple(range(check_int("n_seeds", n_seeds, low=1)))

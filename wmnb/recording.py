"""Record a trained model's activity over a fixed, seeded analysis set (no gradients).

``record(run, stimuli, features, split="train", n_per_condition=2000, seed=...)`` generates a stratified
analysis set from one pool (or takes given :class:`wmnb.tasks.NBackTrials`), runs the model in batches
and returns a :class:`Recording` of plain numpy arrays that the analyses consume.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch

from wmnb.config import ANALYSIS_SEED, FEATURES
from wmnb.errors import ConfigError, check_choice, check_int
from wmnb.progress import progress_bar
from wmnb.tasks import NBackTrials, TrialStream

__all__ = ["Recording", "record"]


@dataclass
class Recording:
    """Activations of a trained model over an analysis set (all numpy).

    Attributes
    ----------
    hidden : (B,T,H) float32, RNN hidden states
    embedding : (B,T,D) float32, the trainable projection (RNN input space before the task concat)
    probs : (B,T,3) float32, softmax of the logits (no_action, non_match, match)
    cell : (B,T,H) float32 LSTM cell states, or None
    attention : (B,T,49) float32 attention weights over the 7x7 positions, or None
    labels : dict feature -> (B,T) int64 raw label of the SHOWN stimulus (location, identity, category,
        and angle when the stimulus set has it); remembered labels = shown labels at t - N
    stimuli, targets, memory, executive, feature, n, seq_id, task_vector, condition_index : the
        :class:`~wmnb.tasks.NBackTrials` fields
    conditions : tuple of Condition; split : str or None; run_key : str
    backbone : (B,T,C) float32 pooled backbone feature of each shown image (gathered on access from the
        per-image table ``backbone_table`` so the recording itself stays small)
    """

    hidden: np.ndarray
    embedding: np.ndarray
    probs: np.ndarray
    labels: dict
    stimuli: np.ndarray
    targets: np.ndarray
    memory: np.ndarray
    executive: np.ndarray
    feature: np.ndarray
    n: np.ndarray
    seq_id: np.ndarray
    task_vector: np.ndarray
    condition_index: np.ndarray
    conditions: tuple
    backbone_table: np.ndarray = field(repr=False)
    cell: Optional[np.ndarray] = None
    attention: Optional[np.ndarray] = None
    split: Optional[str] = None
    run_key: str = ""
    trials: Any = field(default=None, repr=False)

    @property
    def backbone(self) -> np.ndarray:
        """(B,T,C) float32 pooled backbone feature of the shown image."""
        return np.asarray(self.backbone_table[self.stimuli], dtype=np.float32)

    @property
    def predictions(self) -> np.ndarray:
        """(B,T) int64 argmax response."""
        return self.probs.argmax(-1)

    @property
    def correct(self) -> np.ndarray:
        """(B,T) bool prediction == target."""
        return self.predictions == self.targets

    def memory_labels(self, feature: str) -> np.ndarray:
        """(B,T) raw label of the remembered image (``memory``) on ``feature``; -1 where none."""
        check_choice("feature", feature, list(self.labels))
        t = np.arange(self.stimuli.shape[1])
        back = np.clip(t[None, :] - self.n[:, None], 0, None)
        lab = np.take_along_axis(self.labels[feature], back, axis=1)
        return np.where(self.executive, lab, -1)

    def __len__(self) -> int:
        return int(self.stimuli.shape[0])

    def __repr__(self) -> str:
        return (f"Recording({len(self)} sequences x {self.stimuli.shape[1]} steps, split={self.split!r}, "
                f"hidden {self.hidden.shape[-1]}, embedding {self.embedding.shape[-1]}, run {self.run_key})")


@torch.no_grad()
def record(run, stimuli=None, features=None, split: str = "train", n_per_condition: int = 2000,
           seed: int = ANALYSIS_SEED, *, trials: Optional[NBackTrials] = None, which: str = "last",
           batch_size: int = 1024, device=None, progress: bool = False) -> Recording:
    """Run a trained model over a fixed, seeded analysis set and collect its activity.

    Parameters
    ----------
    run : wmnb.training.Run
    stimuli : StimulusSet, or NBackTrials (then used as ``trials``); None = the run's stimulus set
    features : FeatureBank; None = the run's
    split : pool to draw the analysis sequences from ("train", "novel_angle", "novel_identity", ...)
    n_per_condition : sequences per (feature, N) condition of the run (>= 2000 by default)
    seed : seed of the analysis set (a different stream from training and evaluation)
    trials : give the sequences directly instead of generating them
    which : "last" or "best" checkpoint
    batch_size : sequences per forward pass
    """
    if isinstance(stimuli, NBackTrials):
        trials, stimuli = stimuli, None
    stimuli = run.stimuli if stimuli is None else stimuli
    features = run.features if features is None else features
    if features is None:
        raise ConfigError("features=None and the run holds none; pass the FeatureBank")
    batch_size = check_int("batch_size", batch_size, low=1)
    model = run.model(which, device=device)
    dev = next(model.parameters()).device
    if trials is None:
        if stimuli is None:
            raise ConfigError("stimuli=None and the run holds none; pass the StimulusSet or trials")
        n_per_condition = check_int("n_per_condition", n_per_condition, low=1)
        pool = np.asarray(stimuli.pool(split), dtype=np.int64)
        if pool.size == 0:
            raise ConfigError(f"split={split!r} has an empty pool in this stimulus set")
        trials = TrialStream(stimuli, pool, run.conditions, seq_len=run.config.seq_len,
                             p_match=run.config.p_match, split=split).generate(n_per_condition, seed)
    else:
        split = None  # unknown for given trials
    B, T = trials.stimuli.shape
    H, D = model.config.hidden_size, model.config.embedding_dim
    hidden = np.empty((B, T, H), np.float32)
    emb = np.empty((B, T, D), np.float32)
    probs = np.empty((B, T, 3), np.float32)
    cell = np.empty((B, T, H), np.float32) if model.has_cell else None
    attn = None
    starts = progress_bar(range(0, B, batch_size), enabled=progress, desc="record", leave=False)
    for s in starts:
        e = min(s + batch_size, B)
        x = torch.as_tensor(trials.stimuli[s:e], device=dev)
        tv = torch.as_tensor(trials.task_vector[s:e], device=dev)
        out = model(x, tv, return_cells=model.has_cell)
        hidden[s:e] = out.hidden.cpu().numpy()
        emb[s:e] = out.embedding.cpu().numpy()
        probs[s:e] = torch.softmax(out.logits, -1).cpu().numpy()
        if cell is not None:
            cell[s:e] = out.cell.cpu().numpy()
        if out.attention is not None:
            if attn is None:
                attn = np.empty((B, T, out.attention.shape[-1]), np.float32)
            attn[s:e] = out.attention.cpu().numpy()
    labels = {}
    label_src = stimuli if stimuli is not None else None
    for f in FEATURES + ("angle",):
        arr = None
        if label_src is not None:
            try:
                arr = np.asarray(label_src.labels(f), dtype=np.int64)
            except (KeyError, ValueError, AttributeError):
                arr = None
        if arr is None and trials.labels is not None and f in trials.labels:
            arr = np.asarray(trials.labels[f], dtype=np.int64)
        if arr is not None:
            labels[f] = arr[trials.stimuli]
    pooled = getattr(features, "pooled", None)
    if pooled is None:
        maps = getattr(features, "maps", features)
        pooled = np.asarray(maps, dtype=np.float32).mean(axis=(2, 3))
    return Recording(hidden=hidden, embedding=emb, probs=probs, labels=labels,
                     stimuli=trials.stimuli, targets=trials.targets, memory=trials.memory,
                     executive=trials.executive, feature=trials.feature, n=trials.n, seq_id=trials.seq_id,
                     task_vector=trials.task_vector, condition_index=trials.condition_index,
                     conditions=trials.conditions, backbone_table=np.asarray(pooled, dtype=np.float32),
                     cell=cell, attention=attn, split=split, run_key=run.key, trials=trials)

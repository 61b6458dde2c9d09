"""The N-back task family: sequences of stimulus *indices*, targets and memory indices.

Nine tasks = 3 features (location, identity, category) x N in {1, 2, 3}. A trial is a sequence of
``seq_len`` (default 6) images; at step ``t >= N`` the network must say whether the image shown now has
the same value of the task feature as the image shown ``N`` steps earlier (``match``) or not
(``non_match``); at steps ``t < N`` there is nothing to compare with and the answer is ``no_action``.

Generation rule (the paper's public re-implementation, see reference-system.md section 2.1; with its
balance problems fixed, section 7.1 items 5-6):

* steps ``t < N``: a stimulus drawn uniformly from the split's pool, target ``no_action``;
* steps ``t >= N``: with probability ``p_match`` a stimulus drawn uniformly among the pool images whose
  task-feature label equals that of the image ``N`` back (target ``match``), otherwise uniformly among
  pool images with a different label (target ``non_match``). Targets are exact by construction.
* the (feature, N) conditions are **stratified**: exactly ``n_per_condition`` sequences per condition
  (the re-implementation drew them independently per sequence, balanced only in expectation);
* ``p_match`` has a single default, 0.5 (the re-implementation's code default 0.3 differed from its
  configs' 0.5);
* irrelevant features are not controlled: accidental matches on them occur at their natural rates
  (:meth:`NBackTrials.balance_table` reports them);
* by default a ``match`` may be the very same image (pixel-identical repeat; for identity in a training
  pool of 4 locations x 3 angles this happens 1 time in 12). ``avoid_identical_match=True`` excludes it.

Everything is vectorised over sequences (Python loops only run over time steps), so a million
sequences take about a second and, as int64 index arrays, a few hundred megabytes at most; nothing here
ever touches an image.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .config import FEATURES, N_VALUES, SCENARIOS
from .errors import ConfigError, check_choice, check_float, check_int

__all__ = [
    "FEATURES", "RESPONSES", "NO_ACTION", "NON_MATCH", "MATCH", "N_VALUES", "SCENARIOS",
    "Condition", "scenario_conditions", "encode_task", "NBackTrials", "TrialStream", "generate_trials",
]

RESPONSES: tuple[str, ...] = ("no_action", "non_match", "match")
"""Responses; the index is the target class."""
NO_ACTION, NON_MATCH, MATCH = 0, 1, 2


# --------------------------------------------------------------------------------------------- conditions
@dataclass(frozen=True, order=True)
class Condition:
    """One N-back task: compare the current image with the one ``n`` steps back on ``feature``.

    Parameters
    ----------
    feature : str
        One of :data:`FEATURES`.
    n : int
        How many steps back, one of :data:`N_VALUES` (1..3; the task vector has one slot per N).
        Whether the sequence is long enough (``n <= seq_len - 1``) is checked by the generator.
    """

    feature: str
    n: int

    def __post_init__(self):
        check_choice("feature", self.feature, FEATURES)
        object.__setattr__(self, "n", check_int("n", self.n, low=min(N_VALUES), high=max(N_VALUES)))

    @property
    def feature_index(self) -> int:
        """Slot of the feature in the task vector (0 location, 1 identity, 2 category)."""
        return FEATURES.index(self.feature)

    @property
    def name(self) -> str:
        """Short name, e.g. ``"category 2-back"``."""
        return f"{self.feature} {self.n}-back"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.name


def _as_condition(c: Any) -> Condition:
    if isinstance(c, Condition):
        return c
    if isinstance(c, (tuple, list)) and len(c) == 2:
        return Condition(c[0], c[1])
    raise ConfigError(f"condition {c!r} is not a Condition or a (feature, n) pair")


def scenario_conditions(name: str, feature: str | None = None) -> tuple[Condition, ...]:
    """The (feature, N) conditions of a training diet.

    Parameters
    ----------
    name : {"STSF", "STMF", "MTMF"}
        ``"STSF"``: a single task, ``feature`` at N = 2. ``"STMF"``: the three features at N = 2.
        ``"MTMF"``: the three features x N in {1, 2, 3} (nine conditions).
    feature : str, optional
        Only for ``"STSF"``: which feature (default ``"category"``). The paper trains one STSF model
        per task; the public re-implementation used location. Passing it for another scenario is an
        error (those scenarios use all features).

    Returns
    -------
    tuple of Condition
        In a fixed order: features in :data:`FEATURES` order, then N ascending.
    """
    check_choice("scenario", name, SCENARIOS)
    if name == "STSF":
        f = "category" if feature is None else check_choice("feature", feature, FEATURES)
        return (Condition(f, 2),)
    if feature is not None:
        raise ConfigError(f"feature={feature!r} is only allowed with scenario 'STSF'; "
                          f"scenario {name!r} uses all of {list(FEATURES)}")
    if name == "STMF":
        return tuple(Condition(f, 2) for f in FEATURES)
    return tuple(Condition(f, n) for f in FEATURES for n in N_VALUES)


def encode_task(feature_index: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Task vectors: slots 0-2 one-hot feature, slots 3-5 one-hot N.

    Parameters
    ----------
    feature_index : (B,) int array, index into :data:`FEATURES`.
    n : (B,) int array, values in {1, 2, 3}.

    Returns
    -------
    (B, 6) float32
    """
    feature_index = np.asarray(feature_index, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    out = np.zeros((feature_index.shape[0], len(FEATURES) + len(N_VALUES)), dtype=np.float32)
    rows = np.arange(feature_index.shape[0])
    out[rows, feature_index] = 1.0
    out[rows, len(FEATURES) + n - 1] = 1.0
    return out


# ----------------------------------------------------------------------------------------------- trials
@dataclass(eq=False)
class NBackTrials:
    """A batch of N-back sequences as index arrays (no images).

    Attributes
    ----------
    stimuli : (B, T) int64
        Image index shown at each step (into the stimulus set's images / feature bank).
    targets : (B, T) int64
        Correct response, index into :data:`RESPONSES` (0 no_action, 1 non_match, 2 match).
    feature : (B,) int64
        Task feature, index into :data:`FEATURES`.
    n : (B,) int64
        N of the task, in {1, 2, 3}.
    task_vector : (B, 6) float32
        Slots 0-2 one-hot feature, slots 3-5 one-hot N; constant over the sequence.
    executive : (B, T) bool
        ``t >= n``: steps at which a match / non-match decision is required.
    memory : (B, T) int64
        ``stimuli[b, t - n]`` for ``t >= n``, else -1: the image that must be held in memory for the
        response at step ``t``.
    condition_index : (B,) int64
        Index into :attr:`conditions`.
    seq_id : (B,) int64
        Sequence identifier, kept through :meth:`subset` (``0..B-1`` when generated).
    conditions : tuple of Condition
        The conditions that ``condition_index`` refers to.
    labels : dict feature -> (n_images,) int64, optional
        The raw labels of *all* images (a reference, not a copy); enables :meth:`stimulus_labels`,
        :meth:`memory_labels`, label columns in :meth:`to_frame` and :meth:`balance_table`.
    """

    stimuli: np.ndarray
    targets: np.ndarray
    feature: np.ndarray
    n: np.ndarray
    task_vector: np.ndarray
    executive: np.ndarray
    memory: np.ndarray
    condition_index: np.ndarray
    seq_id: np.ndarray
    conditions: tuple = ()
    labels: Mapping[str, np.ndarray] | None = field(default=None, repr=False)

    _ARRAYS = ("stimuli", "targets", "feature", "n", "task_vector", "executive", "memory",
               "condition_index", "seq_id")

    # -- basics ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.stimuli.shape[0])

    @property
    def seq_len(self) -> int:
        """T, the number of steps per sequence."""
        return int(self.stimuli.shape[1])

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays (the shared ``labels`` not counted)."""
        return int(sum(getattr(self, a).nbytes for a in self._ARRAYS))

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.conditions)
        return (f"NBackTrials({len(self)} sequences x {self.seq_len} steps, conditions=[{names}], "
                f"{self.nbytes / 1e6:.1f} MB)")

    def subset(self, idx) -> "NBackTrials":
        """Sequences selected by an integer index array, a boolean mask (B,) or a slice (copies)."""
        if isinstance(idx, slice):
            idx = np.arange(len(self))[idx]
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ConfigError(f"boolean subset mask has shape {idx.shape}; expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        kw = {a: getattr(self, a)[idx] for a in self._ARRAYS}
        return NBackTrials(**kw, conditions=self.conditions, labels=self.labels)

    @staticmethod
    def concat(parts: Sequence["NBackTrials"]) -> "NBackTrials":
        """Concatenate trial sets along the sequence axis.

        Conditions are merged (first-seen order) and ``condition_index`` remapped. ``seq_id`` values
        are kept when they are unique over all parts; otherwise each part's ids are shifted by the
        largest id before it plus one, so that ids stay unique. ``labels`` is kept if every part
        refers to the same label arrays, else dropped.
        """
        parts = list(parts)
        if not parts:
            raise ConfigError("concat needs at least one NBackTrials")
        T = {p.seq_len for p in parts}
        if len(T) != 1:
            raise ConfigError(f"cannot concat sequences of different lengths {sorted(T)}")
        conditions: list[Condition] = []
        for p in parts:
            for c in p.conditions:
                if c not in conditions:
                    conditions.append(c)
        kw = {}
        for a in NBackTrials._ARRAYS:
            if a == "condition_index":
                kw[a] = np.concatenate([
                    np.array([conditions.index(c) for c in p.conditions], dtype=np.int64)[p.condition_index]
                    if len(p) else p.condition_index for p in parts])
            elif a == "seq_id":
                ids = [p.seq_id for p in parts]
                cat = np.concatenate(ids)
                if np.unique(cat).size != cat.size:
                    shifted, offset = [], 0
                    for i in ids:
                        shifted.append(i + offset)
                        if i.size:
                            offset = int((i + offset).max()) + 1
                    cat = np.concatenate(shifted)
                kw[a] = cat
            else:
                kw[a] = np.concatenate([getattr(p, a) for p in parts])
        labels = parts[0].labels
        for p in parts[1:]:
            if labels is None or p.labels is None or not _same_labels(labels, p.labels):
                labels = None
                break
        return NBackTrials(**kw, conditions=tuple(conditions), labels=labels)

    # -- labels ----------------------------------------------------------------------------------
    def _need_labels(self, feature: str) -> np.ndarray:
        if self.labels is None:
            raise ConfigError("these trials carry no labels; generate them with a labels mapping")
        check_choice("feature", feature, list(self.labels))
        return np.asarray(self.labels[feature])

    def stimulus_labels(self, feature: str) -> np.ndarray:
        """(B, T) int64 raw label of the shown image on ``feature``."""
        return self._need_labels(feature)[self.stimuli]

    def memory_labels(self, feature: str) -> np.ndarray:
        """(B, T) int64 raw label of the remembered image (``memory``) on ``feature``; -1 where none."""
        lab = self._need_labels(feature)
        out = lab[np.where(self.memory >= 0, self.memory, 0)]
        out[self.memory < 0] = -1
        return out

    # -- tables ----------------------------------------------------------------------------------
    def to_frame(self):
        """Tidy long table, one row per (sequence, step).

        Columns: ``seq`` (seq_id), ``t``, ``stimulus``, ``target`` (int), ``response`` (name),
        ``feature`` (name), ``n``, ``condition`` (name), ``executive``, ``memory``, and, when labels are
        attached, the shown image's label on each feature (``location``, ``identity``, ...).
        """
        import pandas as pd

        B, T = self.stimuli.shape
        feat_names = np.array(FEATURES, dtype=object)
        cond_names = np.array([c.name for c in self.conditions] or [""], dtype=object)
        data = {
            "seq": np.repeat(self.seq_id, T),
            "t": np.tile(np.arange(T), B),
            "stimulus": self.stimuli.ravel(),
            "target": self.targets.ravel(),
            "response": np.array(RESPONSES, dtype=object)[self.targets.ravel()],
            "feature": np.repeat(feat_names[self.feature], T),
            "n": np.repeat(self.n, T),
            "condition": np.repeat(cond_names[self.condition_index], T) if len(self.conditions)
            else np.repeat(cond_names[np.zeros(B, dtype=np.int64)], T),
            "executive": self.executive.ravel(),
            "memory": self.memory.ravel(),
        }
        if self.labels is not None:
            for f in self.labels:
                data[f] = self.stimulus_labels(f).ravel()
        return pd.DataFrame(data)

    def balance_table(self):
        """Per-condition balance statistics (one row per condition).

        Columns
        -------
        condition, feature, n, sequences
        executive_steps : number of decision steps (t >= n) over all sequences of the condition
        match_rate : fraction of decision steps whose target is ``match``
        same_<f> : for every labelled feature ``f`` in :data:`FEATURES`, the fraction of decision steps
            at which the shown and the remembered image agree on ``f`` (for the task feature this equals
            ``match_rate``; for the others it is the rate of *accidental* matches)
        identical_image : fraction of decision steps at which the match is the very same image
        p_no_action, p_non_match, p_match : response base rates over all steps
        chance_masked : best constant-guess accuracy on decision steps, ``max(match_rate, 1-match_rate)``
        chance_unmasked : accuracy over all steps of a guesser who answers ``no_action`` correctly at
            ``t < n`` (it sees ``n`` in the task vector) and guesses on decision steps:
            ``n/T + (1 - n/T) * chance_masked``
        """
        import pandas as pd

        B, T = self.stimuli.shape
        same = {}
        if self.labels is not None:
            for f in FEATURES:
                if f in self.labels:
                    same[f] = self.stimulus_labels(f) == self.memory_labels(f)
        ident = self.stimuli == self.memory
        rows = []
        for ci, c in enumerate(self.conditions):
            sel = self.condition_index == ci
            ex = self.executive[sel]
            tg = self.targets[sel]
            n_ex = int(ex.sum())
            mr = float((tg[ex] == MATCH).mean()) if n_ex else float("nan")
            row = {"condition": c.name, "feature": c.feature, "n": c.n, "sequences": int(sel.sum()),
                   "executive_steps": n_ex, "match_rate": mr}
            for f, s in same.items():
                row[f"same_{f}"] = float(s[sel][ex].mean()) if n_ex else float("nan")
            row["identical_image"] = float(ident[sel][ex].mean()) if n_ex else float("nan")
            tot = tg.size
            for k, r in enumerate(RESPONSES):
                row[f"p_{r}"] = float((tg == k).sum() / tot) if tot else float("nan")
            cm = max(mr, 1 - mr)
            row["chance_masked"] = cm
            row["chance_unmasked"] = c.n / T + (1 - c.n / T) * cm
            rows.append(row)
        return pd.DataFrame(rows)


def _same_labels(a: Mapping, b: Mapping) -> bool:
    if a is b:
        return True
    if set(a) != set(b):
        return False
    return all(a[k] is b[k] or np.array_equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------------------- the generator
def _labels_mapping(labels: Any) -> dict[str, np.ndarray]:
    """Accept a mapping feature -> array, or an object with a ``labels(feature)`` method (StimulusSet)."""
    if isinstance(labels, Mapping):
        out = {k: np.asarray(v) for k, v in labels.items()}
    elif callable(getattr(labels, "labels", None)):
        out = {f: np.asarray(labels.labels(f)) for f in FEATURES}
    else:
        raise ConfigError(f"labels must be a mapping feature -> (n_images,) int array or a StimulusSet; "
                          f"got {type(labels).__name__}")
    sizes = {k: v.shape for k, v in out.items()}
    if any(len(s) != 1 for s in sizes.values()) or len({s[0] for s in sizes.values()}) > 1:
        raise ConfigError(f"labels must be 1-D arrays of one common length (n_images); got shapes {sizes}")
    for k, v in out.items():
        if v.size and not np.issubdtype(v.dtype, np.integer):
            raise ConfigError(f"labels[{k!r}] must be integers (raw label values); got dtype {v.dtype}")
        out[k] = v.astype(np.int64, copy=False)
    return out


class TrialStream:
    """A ready-to-sample N-back generator for one pool of images.

    All validation and the per-feature lookup tables are done once here; :meth:`sample_batch` then
    costs a few vectorised numpy operations per time step, cheap enough to call at every training
    step, and :meth:`generate` makes a fixed, stratified trial set.

    Parameters
    ----------
    labels : mapping feature -> (n_images,) int array, or a StimulusSet
        Raw label values of *all* images (location, identity, category; extra keys are kept).
    pool : (P,) int array of image indices, or a split name (with a StimulusSet as ``labels``)
        Images that may appear in the sequences (all distractors come from it). Must be non-empty,
        without repeats; every task feature needs at least two distinct values in it.
    conditions : sequence of Condition or (feature, n) pairs, or a scenario name
        The tasks; a name such as ``"MTMF"`` is expanded with :func:`scenario_conditions`.
    seq_len : int, default 6
        T; must be at least ``max(n) + 1`` so that every task has a decision step.
    p_match : float, default 0.5
        Probability that a decision step is a match; open interval (0, 1).
    avoid_identical_match : bool, default False
        If True a ``match`` is never the very image shown N back (pixel-identical repeats excluded):
        it then needs at least two pool images per value of each task feature.
    split : str, optional
        Name of the pool, used in error messages (taken from ``pool`` when that is a split name).
    """

    def __init__(self, labels, pool, conditions, *, seq_len: int = 6, p_match: float = 0.5,
                 avoid_identical_match: bool = False, split: str | None = None):
        if isinstance(pool, str):
            if not callable(getattr(labels, "pool", None)):
                raise ConfigError(f"pool={pool!r} is a split name, which needs a StimulusSet as labels")
            split = pool if split is None else split
            pool = labels.pool(pool)
        self.split = split
        where = f" in split {split!r}" if split else ""
        self.labels = _labels_mapping(labels)
        if isinstance(conditions, str):
            conditions = scenario_conditions(conditions)
        self.conditions = tuple(_as_condition(c) for c in conditions)
        if not self.conditions:
            raise ConfigError("conditions is empty; give at least one Condition or a scenario name "
                              f"from {list(SCENARIOS)}")
        if len(set(self.conditions)) != len(self.conditions):
            raise ConfigError(f"conditions contain duplicates: {[c.name for c in self.conditions]}")
        self.p_match = check_float("p_match", p_match, low=0.0, high=1.0, low_open=True, high_open=True)
        max_n = max(c.n for c in self.conditions)
        self.seq_len = check_int("seq_len", seq_len, low=max_n + 1)
        self.avoid_identical_match = bool(avoid_identical_match)

        pool = np.asarray(pool)
        if pool.ndim != 1 or pool.size == 0:
            raise ConfigError(f"pool{where} is empty (shape {pool.shape}); it must list at least two images")
        if not np.issubdtype(pool.dtype, np.integer):
            raise ConfigError(f"pool{where} must hold integer image indices; got dtype {pool.dtype}")
        pool = pool.astype(np.int64)
        n_images = next(iter(self.labels.values())).shape[0] if self.labels else 0
        if pool.min() < 0 or pool.max() >= n_images:
            raise ConfigError(f"pool{where} has image indices outside 0..{n_images - 1}")
        if np.unique(pool).size != pool.size:
            raise ConfigError(f"pool{where} contains repeated image indices")
        self.pool = np.sort(pool)
        self.n_images = n_images

        # Lookup tables, one row per feature (rows of unused features stay empty).
        P = self.pool.size
        F = len(FEATURES)
        used = sorted({c.feature_index for c in self.conditions})
        for fi in used:
            f = FEATURES[fi]
            if f not in self.labels:
                raise ConfigError(f"labels has no {f!r} entry, needed by the conditions; has {list(self.labels)}")
        values = {fi: np.unique(self.labels[FEATURES[fi]][self.pool]) for fi in used}
        vmax = max(v.size for v in values.values())
        self._sorted = np.zeros((F, P), dtype=np.int64)        # pool sorted by the feature's label
        self._vpos = np.full((F, n_images), -1, dtype=np.int64)  # image -> position of its value
        self._rank = np.full((F, n_images), -1, dtype=np.int64)  # image -> position in _sorted[f]
        self._start = np.zeros((F, vmax), dtype=np.int64)
        self._count = np.zeros((F, vmax), dtype=np.int64)
        for fi in used:
            f = FEATURES[fi]
            vals = values[fi]
            lab_pool = self.labels[f][self.pool]
            if vals.size < 2:
                raise ConfigError(
                    f"feature {f!r} has only {vals.size} value ({vals.tolist()}){where} (pool of {P} images); "
                    f"an N-back task on {f!r} needs at least 2 values for non-matches")
            order = np.argsort(lab_pool, kind="stable")
            srt = self.pool[order]
            counts = np.bincount(np.searchsorted(vals, lab_pool), minlength=vals.size)
            if self.avoid_identical_match and counts.min() < 2:
                bad = vals[counts < 2].tolist()
                raise ConfigError(
                    f"avoid_identical_match=True needs >= 2 pool images per value of {f!r}{where}; "
                    f"values {bad} have a single image")
            self._sorted[fi] = srt
            self._count[fi, :vals.size] = counts
            self._start[fi, :vals.size] = np.concatenate([[0], np.cumsum(counts)[:-1]])
            lab_all = self.labels[f]
            pos = np.searchsorted(vals, lab_all)
            pos = np.clip(pos, 0, vals.size - 1)
            self._vpos[fi] = np.where(vals[pos] == lab_all, pos, -1)
            self._rank[fi, srt] = np.arange(P)
        self._cond_feature = np.array([c.feature_index for c in self.conditions], dtype=np.int64)
        self._cond_n = np.array([c.n for c in self.conditions], dtype=np.int64)

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.conditions)
        return (f"TrialStream(split={self.split!r}, pool={self.pool.size} images, conditions=[{names}], "
                f"seq_len={self.seq_len}, p_match={self.p_match}, "
                f"avoid_identical_match={self.avoid_identical_match})")

    # -- sampling ------------------------------------------------------------------------------------
    def _sample(self, rng: np.random.Generator, condition_index: np.ndarray) -> NBackTrials:
        B, T, P = condition_index.size, self.seq_len, self.pool.size
        fi = self._cond_feature[condition_index]
        n = self._cond_n[condition_index]
        rows = np.arange(B)
        stim = np.empty((B, T), dtype=np.int64)
        is_match = np.zeros((B, T), dtype=bool)
        for t in range(T):
            # Two uniform draws per sequence and step, always consumed in the same order (determinism).
            u_match = rng.random(B)
            u_pick = rng.random(B)
            ex = t >= n
            if not ex.any():
                stim[:, t] = self.pool[_floor_index(u_pick, P)]
                continue
            pick = np.empty(B, dtype=np.int64)
            free = ~ex
            pick[free] = self.pool[_floor_index(u_pick[free], P)]
            e = np.flatnonzero(ex)
            fe = fi[e]
            ref = stim[e, t - n[e]]
            v = self._vpos[fe, ref]
            s = self._start[fe, v]
            c = self._count[fe, v]
            m = u_match[e] < self.p_match
            up = u_pick[e]
            pos = np.empty(e.size, dtype=np.int64)
            # match: uniform within the reference's value block [s, s + c)
            if self.avoid_identical_match:
                k = _floor_index(up[m], c[m] - 1)
                r = self._rank[fe[m], ref[m]] - s[m]
                pos[m] = s[m] + k + (k >= r)
            else:
                pos[m] = s[m] + _floor_index(up[m], c[m])
            # non-match: uniform over the P - c positions outside the block
            nm = ~m
            k = _floor_index(up[nm], P - c[nm])
            pos[nm] = k + c[nm] * (k >= s[nm])
            pick[e] = self._sorted[fe, pos]
            stim[:, t] = pick
            is_match[e, t] = m
        t_idx = np.arange(T)
        executive = t_idx[None, :] >= n[:, None]
        targets = np.where(executive, np.where(is_match, MATCH, NON_MATCH), NO_ACTION).astype(np.int64)
        back = np.clip(t_idx[None, :] - n[:, None], 0, None)
        memory = np.where(executive, stim[rows[:, None], back], -1).astype(np.int64)
        return NBackTrials(
            stimuli=stim, targets=targets, feature=fi.astype(np.int64), n=n.astype(np.int64),
            task_vector=encode_task(fi, n), executive=executive, memory=memory,
            condition_index=condition_index.astype(np.int64), seq_id=np.arange(B, dtype=np.int64),
            conditions=self.conditions, labels=self.labels)

    def generate(self, n_per_condition: int, seed) -> NBackTrials:
        """A stratified trial set: exactly ``n_per_condition`` sequences per condition, in shuffled order.

        Parameters
        ----------
        n_per_condition : int >= 1
        seed : int or numpy.random.Generator

        Returns
        -------
        NBackTrials with ``B = n_per_condition * len(conditions)`` sequences, ``seq_id = 0..B-1``.

        Notes
        -----
        The condition order and the match / non-match decisions depend on the seed only, not on the
        pool: two pools generated with the same seed (and conditions) get identical ``targets``
        (a paired design). Use different seeds for independent sets.
        """
        n_per_condition = check_int("n_per_condition", n_per_condition, low=1)
        rng = _rng(seed)
        ci = np.repeat(np.arange(len(self.conditions), dtype=np.int64), n_per_condition)
        return self._sample(rng, rng.permutation(ci))

    def sample_batch(self, rng, batch_size: int) -> NBackTrials:
        """A fresh batch for one training step, stratified as far as ``batch_size`` allows.

        Each condition gets ``batch_size // C`` sequences; the ``batch_size % C`` remaining ones go to
        distinct conditions chosen at random; the order is shuffled.

        Parameters
        ----------
        rng : numpy.random.Generator (advanced in place) or int seed
        batch_size : int >= 1
        """
        batch_size = check_int("batch_size", batch_size, low=1)
        rng = _rng(rng)
        C = len(self.conditions)
        ci = np.repeat(np.arange(C, dtype=np.int64), batch_size // C)
        rem = batch_size % C
        if rem:
            ci = np.concatenate([ci, rng.choice(C, size=rem, replace=False).astype(np.int64)])
        return self._sample(rng, rng.permutation(ci))


def _floor_index(u: np.ndarray, high: np.ndarray | int) -> np.ndarray:
    """Uniform integers in [0, high) from uniforms in [0, 1) (bias below 2**-40 for high < 2**13)."""
    k = (u * high).astype(np.int64)
    return np.minimum(k, np.asarray(high) - 1)


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)) or seed is None:
        raise ConfigError(f"seed={seed!r} must be an integer or a numpy.random.Generator")
    return np.random.default_rng(check_int("seed", seed, low=0))


def generate_trials(labels, pool, conditions, n_per_condition: int, seed, seq_len: int = 6,
                    p_match: float = 0.5, avoid_identical_match: bool = False, *,
                    split: str | None = None) -> NBackTrials:
    """Generate a stratified set of N-back sequences (index arrays only).

    Parameters
    ----------
    labels : mapping feature -> (n_images,) int array, or a StimulusSet
        Raw label values of all images (``location``, ``identity``, ``category``).
    pool : (P,) int array, or a split name when ``labels`` is a StimulusSet
        Image indices allowed in the sequences (a split's pool; distractors come from it).
    conditions : sequence of Condition / (feature, n) pairs, or a scenario name (:data:`wmnb.config.SCENARIOS`)
    n_per_condition : int >= 1
        Exactly this many sequences per condition (stratified; order shuffled).
    seed : int or numpy.random.Generator
    seq_len : int, default 6
    p_match : float in (0, 1), default 0.5
    avoid_identical_match : bool, default False
        Exclude the very image shown N back as a match (see module docstring).
    split : str, optional
        Pool name for error messages.

    Returns
    -------
    NBackTrials
        ``B = n_per_condition * len(conditions)`` sequences of ``seq_len`` steps.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = {"location": rng.integers(0, 4, 64), "identity": np.arange(64) // 4,
    ...           "category": np.arange(64) // 16}
    >>> trials = generate_trials(labels, np.arange(64), "MTMF", 10, seed=0)
    >>> len(trials), trials.stimuli.shape
    (90, (90, 6))
    """
    stream = TrialStream(labels, pool, conditions, seq_len=seq_len, p_match=p_match,
                         avoid_identical_match=avoid_identical_match, split=split)
    return stream.generate(n_per_condition, seed)

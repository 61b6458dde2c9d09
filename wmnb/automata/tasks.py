"""The procedural tasks: small finite automata and their seeded, vectorised string generators.

Every task is a Moore machine :class:`Automaton` — states, input symbols, a transition table, a start state
and an output per state — and the answer for a string is the output of the state the automaton reaches after
reading it. A network reads the string one symbol per step and must give the answer for *every prefix*
(its output at step ``t`` is the answer for the first ``t + 1`` symbols), so one string of length ``T`` tests
every length ``1..T`` at once.

Tasks (Delétang et al. 2023 definitions where they have one; symbols drawn uniformly):

``parity``      bits; is the number of 1s odd?                             2 states, chance 1/2
``sum_mod``     digits 0..4; their sum mod 5                               5 states, chance 1/5
``cycle_nav``   moves left/stay/right on a 5-cycle from 0; final position   5 states, chance 1/5
``even_pairs``  bits; is the number of "01" and "10" pairs odd?            5 states, chance 1/2
``perm3``       two generators of S3 acting on 3 points (swap 0<->1, rotate +1); where is point 0?
                non-commutative (swap-then-rotate differs from rotate-then-swap)   3 states, chance 1/3

``sum_mod`` is the anchor's "modular arithmetic" reduced to one operator (+); the anchor's version mixes
+, - and * with precedence (a larger but still finite automaton).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, check_choice, check_int

__all__ = ["Automaton", "Batch", "TASKS", "TASK_NAMES", "get_task", "sample", "all_strings"]


@dataclass(frozen=True)
class Automaton:
    """A Moore machine.

    Attributes
    ----------
    name : str
    delta : (n_states, n_symbols) int array
        ``delta[q, a]`` is the state after reading symbol ``a`` in state ``q``.
    start : int
        The state before any input.
    output : (n_states,) int array
        The answer (class index) when the automaton is in a state.
    n_classes : int
        Number of answer classes (``output.max() + 1`` or more).
    symbols : tuple of str
        A name per input symbol (for tables and figures).
    description : str
    """

    name: str
    delta: np.ndarray
    start: int
    output: np.ndarray
    n_classes: int
    symbols: tuple
    description: str = ""
    state_names: tuple = field(default=())

    def __post_init__(self):
        d = np.asarray(self.delta, dtype=np.int64)
        o = np.asarray(self.output, dtype=np.int64)
        if d.ndim != 2 or d.min() < 0 or d.max() >= d.shape[0]:
            raise ConfigError(f"automaton {self.name!r}: delta must be (n_states, n_symbols) with states in "
                              f"0..{d.shape[0] - 1}")
        if o.shape != (d.shape[0],) or o.min() < 0 or o.max() >= self.n_classes:
            raise ConfigError(f"automaton {self.name!r}: output must hold one class in 0..{self.n_classes - 1} "
                              f"per state")
        if len(self.symbols) != d.shape[1]:
            raise ConfigError(f"automaton {self.name!r}: {len(self.symbols)} symbol names for {d.shape[1]} symbols")
        if not 0 <= int(self.start) < d.shape[0]:
            raise ConfigError(f"automaton {self.name!r}: start={self.start} is not a state")
        object.__setattr__(self, "delta", d)
        object.__setattr__(self, "output", o)
        object.__setattr__(self, "start", int(self.start))
        if not self.state_names:
            object.__setattr__(self, "state_names", tuple(str(q) for q in range(d.shape[0])))

    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])

    @property
    def n_symbols(self) -> int:
        return int(self.delta.shape[1])

    @property
    def chance(self) -> float:
        """Accuracy of always answering the most frequent class on long uniform strings: the state
        distribution of the Markov chain (uniform symbols) averaged over steps 200..1199 (Cesaro average,
        exact also for periodic chains), pushed through the output map."""
        p = np.zeros(self.n_states)
        p[self.start] = 1.0
        trans = np.zeros((self.n_states, self.n_states))
        np.add.at(trans, (np.repeat(np.arange(self.n_states), self.n_symbols), self.delta.ravel()),
                  1.0 / self.n_symbols)
        avg = np.zeros(self.n_states)
        for t in range(1200):
            p = p @ trans
            if t >= 200:
                avg += p
        cls = np.bincount(self.output, weights=avg / avg.sum(), minlength=self.n_classes)
        return float(cls.max())

    def run(self, x: np.ndarray, start: int | None = None) -> np.ndarray:
        """States visited on strings ``x``.

        Parameters
        ----------
        x : (B, T) int array of symbols
        start : int or None (the automaton's start state)

        Returns
        -------
        (B, T + 1) int array: column 0 is the start state, column ``t + 1`` the state after ``t + 1`` symbols.
        """
        x = np.asarray(x, dtype=np.int64)
        if x.ndim != 2:
            raise ConfigError(f"x must be (batch, length); got shape {x.shape}")
        q = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.int64)
        q[:, 0] = self.start if start is None else int(start)
        for t in range(x.shape[1]):  # vectorised over the batch; T table look-ups
            q[:, t + 1] = self.delta[q[:, t], x[:, t]]
        return q

    def answers(self, x: np.ndarray) -> np.ndarray:
        """(B, T) int: the answer after every prefix of ``x`` (``output[run(x)[:, 1:]]``)."""
        return self.output[self.run(x)[:, 1:]]


def _parity() -> Automaton:
    return Automaton("parity", [[0, 1], [1, 0]], 0, [0, 1], 2, ("0", "1"),
                     "bits; answer: is the number of 1s odd", ("even", "odd"))


def _sum_mod(m: int = 5) -> Automaton:
    d = (np.arange(m)[:, None] + np.arange(m)[None, :]) % m
    return Automaton("sum_mod", d, 0, np.arange(m), m, tuple(str(a) for a in range(m)),
                     f"digits 0..{m - 1}; answer: their sum mod {m}")


def _cycle_nav(m: int = 5) -> Automaton:
    d = (np.arange(m)[:, None] + np.array([-1, 0, 1])[None, :]) % m
    return Automaton("cycle_nav", d, 0, np.arange(m), m, ("left", "stay", "right"),
                     f"moves on a cycle of {m} positions from 0; answer: the final position")


def _even_pairs() -> Automaton:
    # state 0: empty string; state 1 + 2 f + l: first symbol f, last symbol l
    d = np.zeros((5, 2), dtype=np.int64)
    for a in range(2):
        d[0, a] = 1 + 2 * a + a
        for f in range(2):
            for last in range(2):
                d[1 + 2 * f + last, a] = 1 + 2 * f + a
    out = [0] + [int(f != last) for f in range(2) for last in range(2)]
    return Automaton("even_pairs", d, 0, out, 2, ("0", "1"),
                     "bits; answer: is the number of '01' and '10' pairs odd (first symbol != last)",
                     ("empty", "f0l0", "f0l1", "f1l0", "f1l1"))


def _perm3() -> Automaton:
    swap = [1, 0, 2]  # transposition (0 1)
    rot = [1, 2, 0]  # 3-cycle q -> q + 1
    d = np.array([[swap[q], rot[q]] for q in range(3)])
    return Automaton("perm3", d, 0, np.arange(3), 3, ("swap01", "rotate"),
                     "two generators of S3 (swap points 0,1; rotate +1) act on 3 points; answer: where point 0 is",
                     ("p0", "p1", "p2"))


#: the tasks by name (factories: every call builds a fresh, validated automaton)
TASKS = {"parity": _parity, "sum_mod": _sum_mod, "cycle_nav": _cycle_nav, "even_pairs": _even_pairs,
         "perm3": _perm3}
TASK_NAMES = tuple(TASKS)


def get_task(name: str) -> Automaton:
    """The automaton of task ``name`` (one of :data:`TASK_NAMES`)."""
    return TASKS[check_choice("task", name, TASK_NAMES)]()


class Batch(NamedTuple):
    """A batch of strings of one length: ``x`` (B, T) symbols, ``y`` (B, T) answers after each prefix,
    ``states`` (B, T + 1) true automaton states (column 0 = start)."""

    x: np.ndarray
    y: np.ndarray
    states: np.ndarray


def sample(task: Automaton, batch_size: int, length: int, rng: np.random.Generator) -> Batch:
    """``batch_size`` uniform random strings of ``length`` symbols with their answers and true states."""
    batch_size = check_int("batch_size", batch_size, low=1)
    length = check_int("length", length, low=1)
    x = rng.integers(0, task.n_symbols, size=(batch_size, length), dtype=np.int64)
    q = task.run(x)
    return Batch(x, task.output[q[:, 1:]], q)


def all_strings(n_symbols: int, length: int) -> np.ndarray:
    """Every string of ``length`` symbols over ``n_symbols`` symbols, (n_symbols ** length, length) int."""
    n_symbols = check_int("n_symbols", n_symbols, low=1)
    length = check_int("length", length, low=1, high=16)
    idx = np.arange(n_symbols ** length)
    return np.stack([(idx // n_symbols ** (length - 1 - t)) % n_symbols for t in range(length)], axis=1)

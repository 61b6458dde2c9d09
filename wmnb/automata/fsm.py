"""Finite-state machines read out of recurrent hidden states, minimised and compared with the true automaton.

Extraction (:func:`extract`), in the tradition of Giles et al. (1992) and Weiss et al. (2018) but with
k-means instead of a fixed grid:

1. cluster the hidden states (every step of every string, the start state included) with k-means, for each
   ``k`` in a range;
2. the extracted machine's states are the clusters; its transition on symbol ``a`` from cluster ``c`` is the
   cluster the network most often moves to (majority vote over consecutive states ``h_t -> h_{t+1}`` with
   input ``a``); its output in ``c`` is the network's most frequent *own* answer there (its readout), so the
   machine describes the network, not the task; its start is the cluster of the initial state. Answers are
   voted only over steps ``1..T``: the network is never asked about the empty prefix (its readout of the
   initial state is untrained), so a cluster holding nothing but initial states has a *don't-care* output,
   set to the class that gives the smallest minimised machine (:func:`_fill_dont_cares`);
3. minimise it (:func:`minimise`: unreachable states dropped, Moore partition refinement);
4. keep the smallest ``k`` whose minimised machine reproduces the network's answers on held-out strings as
   well as the best ``k`` does (within ``tol``). The true automaton is never consulted.

Comparison (:func:`compare`) with the true automaton: number of states (both minimal), language
equivalence on every non-empty string (:func:`equivalent` with ``empty=False``: a breadth-first search over
the product machine; the empty string is never asked of the network), transition agreement after matching every extracted state to the true state
it most often coincides with, and the extracted machine's accuracy on long strings.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError, check_float, check_int

__all__ = ["Machine", "run_machine", "minimise", "equivalent", "extract", "Extraction", "compare",
           "machine_of"]


@dataclass(frozen=True)
class Machine:
    """A Moore machine as plain arrays: ``delta`` (n_states, n_symbols) int, ``output`` (n_states,) int,
    ``start`` int."""

    delta: np.ndarray
    output: np.ndarray
    start: int

    @property
    def n_states(self) -> int:
        return int(self.delta.shape[0])


def machine_of(automaton) -> Machine:
    """The :class:`Machine` of a :class:`wmnb.automata.tasks.Automaton`."""
    return Machine(np.asarray(automaton.delta), np.asarray(automaton.output), int(automaton.start))


def run_machine(m: Machine, x: np.ndarray) -> np.ndarray:
    """States of machine ``m`` on strings ``x`` (B, T) -> (B, T + 1) (column 0 = start)."""
    x = np.asarray(x, dtype=np.int64)
    q = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.int64)
    q[:, 0] = m.start
    for t in range(x.shape[1]):
        q[:, t + 1] = m.delta[q[:, t], x[:, t]]
    return q


def _reachable(delta: np.ndarray, start: int) -> list[int]:
    seen, todo = {start}, deque([start])
    while todo:
        q = todo.popleft()
        for r in delta[q]:
            if int(r) not in seen:
                seen.add(int(r))
                todo.append(int(r))
    return sorted(seen)


def minimise(m: Machine) -> tuple[Machine, np.ndarray]:
    """The minimal Moore machine equivalent to ``m`` (same answer on every string).

    Unreachable states are dropped, then Moore's partition refinement: start from the partition by output
    and split blocks by the blocks their successors fall in until nothing changes.

    Returns
    -------
    (minimal machine, block) where ``block[q]`` is the minimal state of original state ``q`` (-1 when ``q``
    is unreachable). Minimal states are numbered in order of first reach from the start (breadth-first), so
    two equivalent machines minimise to identical arrays.
    """
    delta, out = np.asarray(m.delta, dtype=np.int64), np.asarray(m.output, dtype=np.int64)
    reach = _reachable(delta, int(m.start))
    block = {q: int(out[q]) for q in reach}
    while True:
        sig = {q: (block[q],) + tuple(block[int(r)] for r in delta[q]) for q in reach}
        ids: dict = {}
        new = {q: ids.setdefault(sig[q], len(ids)) for q in reach}
        if len(ids) == len(set(block.values())):
            block = new
            break
        block = new
    # renumber blocks breadth-first from the start (canonical form)
    order: dict[int, int] = {}
    todo = deque([int(m.start)])
    seen = {int(m.start)}
    while todo:
        q = todo.popleft()
        order.setdefault(block[q], len(order))
        for r in delta[q]:
            if int(r) not in seen:
                seen.add(int(r))
                todo.append(int(r))
    n = len(order)
    rep = {order[block[q]]: q for q in reversed(reach)}  # any member represents its block
    d = np.array([[order[block[int(r)]] for r in delta[rep[b]]] for b in range(n)], dtype=np.int64)
    o = np.array([out[rep[b]] for b in range(n)], dtype=np.int64)
    full = np.full(delta.shape[0], -1, dtype=np.int64)
    for q in reach:
        full[q] = order[block[q]]
    return Machine(d, o, 0), full


def equivalent(a: Machine, b: Machine, *, empty: bool = True) -> bool:
    """True when ``a`` and ``b`` give the same answer on every string (breadth-first search of the reachable
    pairs of the product machine; exact, no sampling). Both need the same input alphabet.

    ``empty=False`` compares every *non-empty* string only: the start pair's outputs are checked only if a
    non-empty string leads back to it (the networks are never asked about the empty prefix).
    """
    if a.delta.shape[1] != b.delta.shape[1]:
        raise ConfigError(f"machines over different alphabets: {a.delta.shape[1]} vs {b.delta.shape[1]} symbols")
    start = (int(a.start), int(b.start))
    if empty:
        seen, todo = {start}, deque([start])
    else:
        first = {(int(a.delta[start[0], s]), int(b.delta[start[1], s])) for s in range(a.delta.shape[1])}
        seen, todo = set(first), deque(sorted(first))
    while todo:
        p, q = todo.popleft()
        if a.output[p] != b.output[q]:
            return False
        for s in range(a.delta.shape[1]):
            nxt = (int(a.delta[p, s]), int(b.delta[q, s]))
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return True


@dataclass
class Extraction:
    """The result of :func:`extract`: the minimised machine, the chosen ``k``, its held-out fidelity to the
    network's own answers, and the sweep over ``k`` (``sweep``: columns ``k, n_states, fidelity,
    unobserved``)."""

    machine: Machine
    k: int
    fidelity: float
    unobserved: int
    sweep: pd.DataFrame = field(repr=False)
    labels: np.ndarray = field(repr=False, default=None)  # cluster per state of the fitting strings


def _fill_dont_cares(delta: np.ndarray, output: np.ndarray, start: int, n_classes: int) -> np.ndarray:
    """Outputs with the don't-cares (``-1``: states whose answer was never asked) filled in, one state at a
    time, with the class that gives the smallest minimised machine (ties: the lowest class). Standard
    don't-care minimisation; it never consults the true automaton."""
    out = np.asarray(output, dtype=np.int64).copy()
    for q in np.flatnonzero(out < 0):
        trial = np.where(out < 0, 0, out)
        sizes = []
        for c in range(n_classes):
            trial[q] = c
            sizes.append(minimise(Machine(delta, trial.copy(), start))[0].n_states)
        out[q] = int(np.argmin(sizes))
    return out


def _machine_from_clusters(labels: np.ndarray, x: np.ndarray, answers: np.ndarray, k: int, n_symbols: int,
                           n_classes: int) -> tuple[Machine, int]:
    """Majority-vote machine of cluster trajectories ``labels`` (N, T + 1) on inputs ``x`` (N, T) with the
    network's answers ``answers`` (N, T + 1) per state. Outputs are voted over steps ``1..T`` only (column 0,
    the empty prefix, is never asked); a cluster with no vote is a don't-care (:func:`_fill_dont_cares`).
    Returns (machine, number of unobserved (c, a))."""
    counts = np.zeros((k, n_symbols, k), dtype=np.int64)
    np.add.at(counts, (labels[:, :-1].ravel(), x.ravel(), labels[:, 1:].ravel()), 1)
    seen = counts.sum(-1) > 0
    delta = np.where(seen, counts.argmax(-1), np.arange(k)[:, None])  # unobserved: stay (flagged)
    oc = np.zeros((k, n_classes), dtype=np.int64)
    np.add.at(oc, (labels[:, 1:].ravel(), answers[:, 1:].ravel()), 1)
    output = np.where(oc.sum(-1) > 0, oc.argmax(-1), -1)
    start = int(np.bincount(labels[:, 0], minlength=k).argmax())
    output = _fill_dont_cares(delta, output, start, n_classes)
    return Machine(delta, output, start), int((~seen).sum())


def extract(states: np.ndarray, x: np.ndarray, answers: np.ndarray, *, n_classes: int, n_symbols: int,
            ks=range(2, 17), tol: float = 0.005, max_points: int = 6000, seed: int = 0) -> Extraction:
    """Extract a finite-state machine from hidden-state trajectories.

    Parameters
    ----------
    states : (N, T + 1, H) float
        Hidden states, column 0 the initial state, of ``N`` strings.
    x : (N, T) int
        The input strings.
    answers : (N, T + 1) int
        The network's own answer (argmax of its readout) in each state.
    n_classes, n_symbols : int
    ks : iterable of int
        Cluster counts to try.
    tol : float
        The smallest ``k`` whose held-out fidelity is within ``tol`` of the best is chosen.
    max_points : int
        k-means is fit on at most this many states (a seeded subsample); every state is then assigned.
    seed : int

    The first half of the strings builds the machine, the second half scores it (fidelity: the fraction of
    steps ``1..T`` where the machine's answer equals the network's).
    """
    from sklearn.cluster import KMeans

    states = np.asarray(states, dtype=np.float64)
    x = np.asarray(x, dtype=np.int64)
    answers = np.asarray(answers, dtype=np.int64)
    n, t1, h = states.shape
    if x.shape != (n, t1 - 1) or answers.shape != (n, t1):
        raise ConfigError(f"shapes disagree: states {states.shape}, x {x.shape} (want {(n, t1 - 1)}), answers "
                          f"{answers.shape} (want {(n, t1)})")
    if n < 4:
        raise ConfigError(f"extract needs at least 4 strings (half fit, half held out); got {n}")
    tol = check_float("tol", tol, low=0.0)
    max_points = check_int("max_points", max_points, low=10)
    fit, held = np.arange(n // 2), np.arange(n // 2, n)
    flat = states[fit].reshape(-1, h)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(flat), size=min(max_points, len(flat)), replace=False)
    rows, best = [], None
    for k in ks:
        k = check_int("k", k, low=1)
        if k > len(pick):
            break
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(flat[pick])
        labels = km.predict(flat).reshape(len(fit), t1)
        raw, unobserved = _machine_from_clusters(labels, x[fit], answers[fit], k, n_symbols, n_classes)
        mini, _ = minimise(raw)
        q = run_machine(mini, x[held])
        fidelity = float((mini.output[q[:, 1:]] == answers[held][:, 1:]).mean())
        rows.append(dict(k=k, n_states=mini.n_states, fidelity=fidelity, unobserved=unobserved))
        if best is None or fidelity > best[1] + 1e-12:
            best = (k, fidelity)
        if fidelity == 1.0 and len(rows) >= 2 and rows[-2]["fidelity"] == 1.0:
            break  # two perfect k in a row: larger k cannot be chosen (smallest within tol wins)
    sweep = pd.DataFrame(rows)
    if sweep.empty:
        raise ConfigError("no k in ks could be fitted (too few states)")
    chosen = int(sweep.loc[sweep["fidelity"] >= sweep["fidelity"].max() - tol, "k"].min())
    km = KMeans(n_clusters=chosen, n_init=3, random_state=seed).fit(flat[pick])
    labels = km.predict(flat).reshape(len(fit), t1)
    raw, unobserved = _machine_from_clusters(labels, x[fit], answers[fit], chosen, n_symbols, n_classes)
    mini, _ = minimise(raw)
    fid = float(sweep.loc[sweep["k"] == chosen, "fidelity"].iloc[0])
    return Extraction(mini, chosen, fid, unobserved, sweep, labels)


def _match(a: Machine, b: Machine, x: np.ndarray) -> np.ndarray:
    """For every state of ``b``: the state of ``a`` it most often coincides with on strings ``x`` (-1 never)."""
    qa, qb = run_machine(a, x).ravel(), run_machine(b, x).ravel()
    co = np.zeros((b.n_states, a.n_states), dtype=np.int64)
    np.add.at(co, (qb, qa), 1)
    return np.where(co.sum(1) > 0, co.argmax(1), -1)


def compare(extracted: Machine, true: Machine, x_long: np.ndarray) -> dict:
    """How well an extracted machine matches the true automaton.

    Returns
    -------
    dict with ``n_states_true`` and ``n_states_extracted`` (both minimised), ``same_size``, ``equivalent``
    (exact, on every non-empty string: the empty prefix is never asked of a network; for minimal machines
    isomorphic up to the start state's answer), ``transition_agreement`` (fraction of extracted (state, symbol)
    entries whose successor maps to the true successor, states matched by co-occurrence on ``x_long``),
    ``output_agreement`` (same for outputs) and ``accuracy_long`` (the extracted machine's answers vs the true
    answers at every step of ``x_long``, (N, T) int strings).
    """
    t_min, _ = minimise(true)
    e_min, _ = minimise(extracted)
    mp = _match(t_min, e_min, x_long)
    ok = mp >= 0
    trans = [mp[e_min.delta[e, s]] == t_min.delta[mp[e], s]
             for e in np.flatnonzero(ok) for s in range(e_min.delta.shape[1])]
    outs = [e_min.output[e] == t_min.output[mp[e]] for e in np.flatnonzero(ok)]
    acc = float((e_min.output[run_machine(e_min, x_long)[:, 1:]] == t_min.output[run_machine(t_min, x_long)[:, 1:]]
                 ).mean())
    return dict(n_states_true=t_min.n_states, n_states_extracted=e_min.n_states,
                same_size=t_min.n_states == e_min.n_states, equivalent=equivalent(e_min, t_min, empty=False),
                transition_agreement=float(np.mean(trans)) if trans else float("nan"),
                output_agreement=float(np.mean(outs)) if outs else float("nan"), accuracy_long=acc)

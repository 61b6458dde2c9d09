"""Procedural (finite-state) tasks: recurrent networks vs a causal Transformer, and automaton extraction.

Chapter 14 asks what *having* a recurrent state buys. Each task's answer is the output of a small finite
automaton run over the input string (parity, sum mod m, cycle navigation, even pairs, a non-commutative
permutation automaton); networks are trained on short strings and tested on much longer ones, like
Delétang et al. (ICLR 2023, "Neural Networks and the Chomsky Hierarchy"), and a finite-state machine is read
out of the recurrent hidden states and compared with the true automaton.

Modules (one job each)
----------------------
tasks      the automata and their seeded, vectorised string generators (:class:`~wmnb.automata.tasks.Automaton`)
models     RNN / GRU / LSTM and a causal Transformer encoder (sinusoidal, no or ALiBi position encoding)
training   seeded batched training on lengths <= L, accuracy at every test length, cached weights and tables
fsm        finite-state machine extraction from hidden states (k-means + majority vote), Moore minimisation,
           equivalence with the true automaton
extraction FSM extraction from the trained models (and untrained controls), cached tables
claims     the pure rules of claims P1-P3 and the claim records of the claims page

Kept apart from the N-back stack on purpose: nothing here reads stimuli, features or the N-back runs, and its
cached tables are keyed on this package's own source (``cached_table(..., sources=("automata",))``).
"""
from __future__ import annotations

import importlib

__all__ = ["tasks", "models", "training", "fsm", "extraction", "claims"]


def __getattr__(name):  # lazy submodules: importing wmnb.automata stays cheap
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

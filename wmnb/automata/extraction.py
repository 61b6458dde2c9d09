"""Opening the recurrent state of trained models: FSM extraction per model and seed, and state samples for
the PCA figure. Cached with :func:`wmnb.results.cached_table` (keyed on this package's source).

For each trained recurrent model (:func:`wmnb.automata.training.trained_model`, from the weights cache):
hidden states on ``n_strings`` fixed strings of the *training* length ``L`` feed :func:`wmnb.automata.fsm.extract`;
the extracted machine is then run on the long test strings (length ``test_length``) and compared with the true
automaton (:func:`wmnb.automata.fsm.compare`). The **control** is the same extraction from an *untrained* network
of the same architecture and seed: its machine must not match the true automaton (if it did, the procedure
would be finding the automaton in the inputs rather than in the trained state).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..errors import ConfigError
from . import fsm
from .models import RECURRENT
from .tasks import get_task, sample
from .training import TRAIN_VERSION, TrainSpec, test_strings, trained_model

__all__ = ["EXTRACT_SEED", "state_sample", "extract_one", "fsm_table"]

#: seed of the strings the machines are extracted from (different from the test strings)
EXTRACT_SEED = 4_242


def state_sample(model, task_name: str, n_strings: int, length: int, seed: int = EXTRACT_SEED) -> dict:
    """Hidden states of a recurrent ``model`` on seeded strings.

    Returns dict with ``x`` (N, T) inputs, ``states`` (N, T + 1, H) hidden states (row 0 the start state),
    ``answers`` (N, T + 1) the network's own answer in each state, ``true_states`` (N, T + 1) the true
    automaton's states.
    """
    if not hasattr(model, "hidden_states"):
        raise ConfigError(f"{type(model).__name__} has no recurrent state to extract from")
    task = get_task(task_name)
    b = sample(task, n_strings, length, np.random.default_rng(seed))
    with torch.no_grad():
        h = model.hidden_states(torch.from_numpy(b.x))
        ans = model.readout_states(h).argmax(-1).numpy()
    return dict(x=b.x, states=h.numpy(), answers=ans, true_states=b.states)


def extract_one(model, task_name: str, *, train_length: int, test_length: int, n_strings: int = 256,
                n_eval: int = 256, ks=range(2, 17), seed: int = 0) -> tuple[dict, fsm.Extraction]:
    """Extract, minimise and compare one model's machine; returns (row of numbers, the extraction)."""
    task = get_task(task_name)
    s = state_sample(model, task_name, n_strings, train_length)
    ex = fsm.extract(s["states"], s["x"], s["answers"], n_classes=task.n_classes, n_symbols=task.n_symbols,
                     ks=ks, seed=seed)
    row = dict(k=ex.k, fidelity=ex.fidelity, unobserved=ex.unobserved)
    row.update(fsm.compare(ex.machine, fsm.machine_of(task), test_strings(task_name, test_length, n_eval)))
    return row, ex


def fsm_table(tasks: Sequence[str], models: Sequence[str], seeds: Sequence[int], *, train_length: int,
              test_length: int, steps: int, batch_size: int, n_eval: int, lr: float = 3e-3,
              n_strings: int = 256, device: str = "auto", progress: bool = True, cache_dir=None,
              **transformer_budget) -> pd.DataFrame:
    """One row per (task, recurrent model, seed, network in {"trained", "untrained"}): the numbers of
    :func:`extract_one` (``k, fidelity, unobserved, n_states_true, n_states_extracted, same_size, equivalent,
    transition_agreement, output_agreement, accuracy_long``). Transformers in ``models`` are skipped (no
    recurrent state; ``transformer_steps`` / ``transformer_lr`` in ``transformer_budget`` are accepted for
    symmetry with :func:`wmnb.automata.training.length_table` and unused)."""
    from ..results import cached_table

    frames = []
    for task in tasks:
        for name in [m for m in models if m in RECURRENT]:
            for seed in seeds:
                spec = TrainSpec(task, name, int(seed), train_length, steps, batch_size, lr)

                def compute(spec=spec):
                    rows = []
                    trained, _ = trained_model(spec, device=device, progress=progress, cache_dir=cache_dir)
                    torch.manual_seed(spec.seed)
                    untrained = spec.build().eval()
                    for label, model in (("trained", trained), ("untrained", untrained)):
                        row, _ = extract_one(model, spec.task, train_length=spec.train_length,
                                             test_length=test_length, n_strings=n_strings, n_eval=n_eval,
                                             seed=spec.seed)
                        rows.append(dict(network=label, **row))
                    return pd.DataFrame(rows)

                desc = dict(spec=asdict(spec), test_length=test_length, n_eval=n_eval, n_strings=n_strings,
                            v=TRAIN_VERSION)
                tab = cached_table("automata_fsm", desc, compute, cache_dir=cache_dir, sources=("automata",))
                tab.insert(0, "seed", int(seed))
                tab.insert(0, "model", name)
                tab.insert(0, "task", task)
                frames.append(tab)
    if not frames:
        raise ConfigError(f"models={list(models)} holds no recurrent model ({list(RECURRENT)}) to extract from")
    return pd.concat(frames, ignore_index=True)

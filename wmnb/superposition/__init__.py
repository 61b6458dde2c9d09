"""Temporal superposition (chapter 13): how memory load shapes the geometry of a recurrent state.

After Sharma, Proca, Prieto & Mediano, "Temporal superposition and feature geometry of RNNs under memory
demands" (ICLR 2026). Small RNNs recall ``k`` items of ``n`` sparse features after a ``k``-step delay; the
sweep over sparsity S, delay k and hidden size d measures how the features held in the state are arranged.

Modules
-------
model     the k-delay serial-recall task, stacks of small linear / tanh / ReLU RNNs, batched training
measures  recall loss per position, feature directions per lag, pairwise angles, spectral radius, recovery
sweep     profiles, parameter checks, the cached sweep table and the cached N-back bridge table
ksweep    the sweep over the delay k at the main capacity ratio d / (n k) (its own cache kind)
bridge    the same angle statistics for the N-back RNN / GRU / LSTM, and T3's temporal overlap with its plants
claims    claims T1-T3: pure rules, planted controls, claim records (``claim_records`` for the claims page)
text      what chapter 13 says about these tables and records, as Markdown
"""
from __future__ import annotations

from .claims import chance_abs_cos, claim_records, planted_control, rule_t1, rule_t2, rule_t3, transition_point
from .measures import (angle_stats, fitted_lag_directions, linear_lag_directions, pairwise_cosines, probe_gains,
                       recall_loss, spectral_radius)
from .model import KINDS, StackConfig, StackedRNN, TrainedStack, sample_items, train_stack
from .bridge import nback_table, planted_controls, planted_hidden, temporal_overlap
from .ksweep import check_ks, k_summary, ksweep_table
from .sweep import check_params, sweep_table

__all__ = ["KINDS", "StackConfig", "StackedRNN", "TrainedStack", "sample_items", "train_stack", "angle_stats",
           "fitted_lag_directions", "linear_lag_directions", "pairwise_cosines", "probe_gains", "recall_loss",
           "spectral_radius", "check_params", "nback_table", "sweep_table", "claim_records",
           "planted_control", "rule_t1", "rule_t2", "rule_t3", "transition_point", "chance_abs_cos", "planted_controls",
           "planted_hidden", "temporal_overlap", "check_ks", "k_summary", "ksweep_table"]

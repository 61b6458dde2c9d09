"""Analyses of recorded activity: pure functions on arrays returning tidy pandas tables.

Modules
-------
decoding        linear decoders on held-out sequences, raw-value classes, one-vs-rest normals
task_relevance  relevant vs irrelevant properties at the encoding step (F1, Fig. 2b)
cross_task      cross-task decoder generalisation (F2, Fig. 2a/2c)
orthogonality   orthogonalization index, normalised O, shuffled-label null, paired tests (F3, Fig. 3)
dynamics        memory-labelled cross-time decoding, E(i,i)->E(j,j), H1/H2/H3 verdicts (F4, F5, Fig. 4b-d)
procrustes      Procrustes reconstruction and swap tests on decoder stacks (F6, F7, Fig. 4f-g)
perturbation    recurrent-pass perturbation along decoder normals (F8, Fig. A7)
stats           Wilson / bootstrap CIs, paired tests, across-seed aggregation

Inputs follow :class:`wmnb.recording.Recording`: ``hidden`` (B, T, H), ``labels`` dict feature -> (B, T) raw
values of the shown stimulus, ``feature`` (B,), ``n`` (B,), ``seq_id`` (B,).
"""
from ..config import FEATURES
from .cross_task import cross_task, cross_task_matrix, cross_task_summary
from .decoding import LinearDecoder, decoder_normals, fit_decoder, score, split_sequences
from .dynamics import (cross_time_decoding, encoding_transfer, executive_summary, hypothesis_verdicts,
                       transfer_summary)
from .orthogonality import compare_spaces, normalised_orthogonality, orthogonality, orthogonality_index
from .perturbation import perturb_along_normal
from .procrustes import fit_rotation, procrustes_reconstruction, swap_summary, swap_test
from .stats import aggregate_seeds, bootstrap_ci, paired_test, seed_ci, wilson_ci
from .task_relevance import relevance_summary, task_relevance

__all__ = [
    "FEATURES", "LinearDecoder", "split_sequences", "fit_decoder", "score", "decoder_normals",
    "task_relevance", "relevance_summary", "cross_task", "cross_task_matrix", "cross_task_summary",
    "orthogonality", "orthogonality_index", "normalised_orthogonality", "compare_spaces",
    "cross_time_decoding", "executive_summary", "encoding_transfer", "transfer_summary", "hypothesis_verdicts",
    "swap_test", "procrustes_reconstruction", "swap_summary", "fit_rotation", "perturb_along_normal",
    "wilson_ci", "seed_ci", "bootstrap_ci", "paired_test", "aggregate_seeds",
]

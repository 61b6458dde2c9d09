"""Sequence classifiers for the procedural tasks: vanilla RNN, GRU, LSTM and a small causal Transformer.

Every model maps a batch of symbol strings ``x`` (B, T) int64 to logits (B, T, n_classes): the logits at step
``t`` are the answer for the prefix ``x[:, :t + 1]`` (recurrent by construction; the Transformer through a
causal attention mask). Sizes are chosen so every model has about the same number of parameters
(:func:`build`, ``param_budget``): the Transformer's size is fixed, each recurrent model's hidden size is
the largest whose parameter count does not exceed the Transformer's.

Model names (:data:`MODEL_NAMES`): ``rnn``, ``gru``, ``lstm`` (one layer, one-hot input, linear readout of the
hidden state) and ``transformer_sin``, ``transformer_none``, ``transformer_alibi`` (pre-norm encoder layers of
``torch.nn.TransformerEncoderLayer``, learned symbol embedding, with sinusoidal absolute position encoding,
none at all (order only through the causal mask), or ALiBi distance biases on the attention logits).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..config import AUTOMATA_TRANSFORMERS, CORES
from ..errors import check_choice, check_int

__all__ = ["RECURRENT", "TRANSFORMERS", "MODEL_NAMES", "MODEL_TITLES", "RecurrentClassifier",
           "CausalTransformer", "build", "n_params"]

RECURRENT = CORES
TRANSFORMERS = AUTOMATA_TRANSFORMERS
MODEL_NAMES = RECURRENT + TRANSFORMERS
MODEL_TITLES = {"rnn": "vanilla RNN", "gru": "GRU", "lstm": "LSTM", "transformer_sin": "Transformer (sin/cos)",
                "transformer_none": "Transformer (no PE)", "transformer_alibi": "Transformer (ALiBi)"}


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


class RecurrentClassifier(nn.Module):
    """One-layer RNN/GRU/LSTM over one-hot symbols with a linear readout at every step.

    ``hidden_states(x)`` returns the state trajectory (B, T + 1, H) including the zero initial state; for the
    LSTM the state is ``[h, c]`` (B, T + 1, 2H), since ``h`` alone does not determine the next step.
    """

    def __init__(self, kind: str, n_symbols: int, n_classes: int, hidden: int):
        super().__init__()
        self.kind = check_choice("kind", kind, RECURRENT)
        self.n_symbols, self.hidden = int(n_symbols), int(hidden)
        cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
        self.core = cls(self.n_symbols, self.hidden, batch_first=True)
        self.readout = nn.Linear(self.hidden, n_classes)

    def _onehot(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(x, self.n_symbols).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, n_classes) logits."""
        out, _ = self.core(self._onehot(x))
        return self.readout(out)

    @torch.no_grad()
    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T + 1, H) states (H doubled for the LSTM: ``[h, c]``); row 0 is the start."""
        b = x.shape[0]
        if self.kind != "lstm":
            out, _ = self.core(self._onehot(x))
            return torch.cat([out.new_zeros(b, 1, self.hidden), out], dim=1)
        h = c = torch.zeros(1, b, self.hidden, device=x.device)
        states = [torch.cat([h[0], c[0]], dim=-1)]
        oh = self._onehot(x)
        for t in range(x.shape[1]):
            _, (h, c) = self.core(oh[:, t:t + 1], (h, c))
            states.append(torch.cat([h[0], c[0]], dim=-1))
        return torch.stack(states, dim=1)

    @torch.no_grad()
    def readout_states(self, states: torch.Tensor) -> torch.Tensor:
        """Logits of states from :meth:`hidden_states` (..., H or 2H) -> (..., n_classes)."""
        return self.readout(states[..., :self.hidden])


def sinusoidal(length: int, dim: int, device=None) -> torch.Tensor:
    """The sin/cos position encoding of Vaswani et al. (2017), (length, dim)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    i = torch.arange(0, dim, 2, device=device, dtype=torch.float32)
    ang = pos / (10_000 ** (i / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang)[:, : dim // 2]
    return pe


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi head slopes (Press et al. 2022): 2^(-8 k / n_heads), k = 1..n_heads."""
    return torch.tensor([2.0 ** (-8.0 * (k + 1) / n_heads) for k in range(n_heads)])


class CausalTransformer(nn.Module):
    """A causal Transformer encoder (``torch.nn.TransformerEncoderLayer``, pre-norm, no dropout) with a
    linear readout at every step.

    Parameters
    ----------
    position : {"sin", "none", "alibi"}
        Sinusoidal absolute encoding added to the embeddings, none, or ALiBi attention biases
        ``-slope_h * (i - j)``.
    d_model, n_heads, n_layers : int
        Width, heads per layer, layers; the feed-forward width is ``2 * d_model``.
    """

    def __init__(self, n_symbols: int, n_classes: int, *, position: str = "sin", d_model: int = 32,
                 n_heads: int = 4, n_layers: int = 2):
        super().__init__()
        self.position = check_choice("position", position, ("sin", "none", "alibi"))
        self.d_model, self.n_heads = int(d_model), int(n_heads)
        self.embed = nn.Embedding(n_symbols, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=2 * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.readout = nn.Linear(d_model, n_classes)
        self.register_buffer("slopes", alibi_slopes(n_heads), persistent=False)

    def _mask(self, b: int, t: int, device) -> torch.Tensor:
        causal = torch.triu(torch.full((t, t), float("-inf"), device=device), diagonal=1)
        if self.position != "alibi":
            return causal
        i = torch.arange(t, device=device)
        dist = (i[:, None] - i[None, :]).clamp(min=0).float()
        bias = -self.slopes.to(device)[:, None, None] * dist[None] + causal[None]  # (heads, T, T)
        return bias.repeat(b, 1, 1)  # (B * heads, T, T), batch-major as torch expects

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, n_classes) logits; step t attends to steps <= t only."""
        b, t = x.shape
        h = self.embed(x) * math.sqrt(self.d_model)
        if self.position == "sin":
            h = h + sinusoidal(t, self.d_model, x.device)[None]
        h = self.encoder(h, mask=self._mask(b, t, x.device), is_causal=self.position != "alibi")
        return self.readout(h)


def _recurrent_params(kind: str, n_symbols: int, n_classes: int, hidden: int) -> int:
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    return gates * (hidden * n_symbols + hidden * hidden + 2 * hidden) + (hidden + 1) * n_classes


def build(name: str, n_symbols: int, n_classes: int, *, d_model: int = 32, n_heads: int = 4,
          n_layers: int = 2, param_budget: int | None = None) -> nn.Module:
    """Model ``name`` for a task with ``n_symbols`` inputs and ``n_classes`` answers.

    The Transformer is ``d_model`` wide with ``n_layers`` layers of ``n_heads`` heads. A recurrent model gets
    the largest hidden size whose parameter count is at most ``param_budget`` (default: the parameter count
    of the Transformer of these sizes for the same task), so the compared models have about equal size.
    """
    check_choice("model", name, MODEL_NAMES)
    n_symbols = check_int("n_symbols", n_symbols, low=1)
    n_classes = check_int("n_classes", n_classes, low=2)
    if name in TRANSFORMERS:
        return CausalTransformer(n_symbols, n_classes, position=name.split("_", 1)[1], d_model=d_model,
                                 n_heads=n_heads, n_layers=n_layers)
    if param_budget is None:
        param_budget = n_params(CausalTransformer(n_symbols, n_classes, d_model=d_model, n_heads=n_heads,
                                                  n_layers=n_layers))
    hidden = 1
    while _recurrent_params(name, n_symbols, n_classes, hidden + 1) <= param_budget:
        hidden += 1
    return RecurrentClassifier(name, n_symbols, n_classes, hidden)

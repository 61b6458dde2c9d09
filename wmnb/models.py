"""Sensory-cognitive working-memory models that run on cached backbone feature maps.

The frozen CNN never runs here. A :class:`WMModel` holds one feature map per stimulus image as a buffer
(optionally reduced by a fixed channel PCA fitted on the training pool only) and, per time step:

1. looks up the shown image's map by stimulus index -> (k, 7, 7);
2. reads the map out into an embedding of size D (``readout``):

   - ``"spatial"`` (default): flatten the 7x7 positions and apply a Linear (keeps *where* the object is),
     plus a Linear of the mean over positions (``global_branch``); optionally after a trainable 1x1
     projection (``projection="conv"``);
   - ``"avgpool"``: trainable 1x1 projection (the paper's pointwise conv), then the global mean over
     positions (the reference design; nearly translation invariant, so location tasks stay at chance);
   - ``"attention"``: task-guided softmax attention over the 49 positions: the query comes from a task
     embedding (``attention="task"``) or from the task embedding plus the previous hidden state
     (``attention="dual"``), keys and values from the projected map plus learned position codes;
     the weights are returned as ``ModelOutput.attention``;
3. optionally gates the embedding channel-wise (``gate``: the public re-implementation's sigmoid gates,
   ``"task_only"`` from the task vector, ``"dual"`` from task x embedding);
4. layer-normalises the embedding (``embedding_norm``), concatenates the 6-dim task vector, applies Linear + LayerNorm + ReLU, runs the recurrent core
   (``"rnn"`` tanh, ``"gru"``, ``"lstm"``; one layer, zero initial state) and a Linear readout to the
   three responses (no_action, non_match, match).

New cores, readouts and gates plug in through :data:`CORES`, :data:`READOUTS` and :data:`GATES`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from wmnb.errors import ConfigError, check_choice, check_float, check_int

N_CLASSES = 3
TASK_DIM = 6
N_POSITIONS = 49  # 7 x 7 feature map

#: default hidden size per core (paper: vanilla RNN 512, GRU/LSTM 256, matched parameter counts)
DEFAULT_HIDDEN = {"rnn": 512, "gru": 256, "lstm": 256}


# --------------------------------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a :class:`WMModel` (validated on construction; bad values raise ConfigError).

    Parameters
    ----------
    core : {"rnn", "gru", "lstm"} (or any key of :data:`CORES`)
    hidden_size : int or None
        Recurrent units. None -> 512 for "rnn", 256 for "gru"/"lstm" (the paper's sizes).
    embedding_dim : int or None
        Size D of the perceptual embedding fed (with the task vector) to the pre-layer. None -> hidden_size.
    readout : {"spatial", "avgpool", "attention"}
        How the projected 7x7 map becomes the embedding (see module docstring).
    projection_channels : int or None
        Output channels of the trainable 1x1 projection of the "spatial" readout when
        ``projection="conv"`` (then flattened to 49 x this). For "avgpool" and "attention" the projection
        always outputs embedding_dim channels (as in the paper). None -> 32.
    pca_channels : int or None
        Reduce backbone channels with a fixed PCA fitted on the training pool's maps, each
        (image, position) a sample. Makes a step cheap. None -> use all backbone channels.
    pca_whiten : bool
        False (default): keep the principal components' relative variances (one global scale makes the
        mean variance 1). True: whiten every component to unit variance. Whitening gives the many
        low-variance components as much weight as the first ones, and with them the location signal
        (carried mostly by the first component: object vs background) drowns; measured: location tasks stay
        at chance.
    attention : {"none", "task", "dual"}
        Query source of the "attention" readout; must be "none" unless readout="attention" and must not be
        "none" when it is.
    attention_dim : int
        Size of queries and keys.
    gate : {"none", "task_only", "dual"}
        Channel gate on the embedding (sigmoid), from the task vector or from task x embedding.
    gate_hidden : int or None
        Width of the gate's MLP. None -> embedding_dim.
    dropout : float in [0, 1)
        Dropout on the embedding (training only).
    projection_activation : {"none", "relu"}
        Nonlinearity after the 1x1 projection.
    projection : {"none", "conv"}
        "spatial" readout only. "none" (default): one trainable Linear straight from the flattened
        (PCA-reduced) map. "conv": a trainable 1x1 conv to ``projection_channels`` first (the paper's
        pointwise conv). The product of two trainable maps learns its input directions one after another
        (deep-linear dynamics); measured on MTMF it locks onto the dominant feature and leaves the others at
        chance for the whole quick budget.
    embedding_norm : bool
        Layer-normalise the embedding (no affine) before the task vector is appended (default True).
        Without it the 6-dim one-hot task vector is small next to the embedding, and the network learns to
        answer most tasks the same way (location tasks at chance).
    global_branch : bool
        "spatial" readout only: add a Linear of the map's mean over positions to the embedding (a
        two-level spatial pyramid: where the object is from the flattened map, what it is from the
        translation-invariant mean). Default True.
    """

    core: str = "gru"
    hidden_size: Optional[int] = None
    embedding_dim: Optional[int] = None
    readout: str = "spatial"
    projection_channels: Optional[int] = None
    pca_channels: Optional[int] = 32
    attention: str = "none"
    attention_dim: int = 64
    gate: str = "none"
    gate_hidden: Optional[int] = None
    dropout: float = 0.0
    projection_activation: str = "none"
    pca_whiten: bool = False
    projection: str = "none"
    embedding_norm: bool = True
    global_branch: bool = True

    def __post_init__(self):
        check_choice("core", self.core, sorted(CORES))
        check_choice("readout", self.readout, sorted(READOUTS))
        check_choice("attention", self.attention, ["none", "task", "dual"])
        check_choice("gate", self.gate, sorted(GATES))
        check_choice("projection_activation", self.projection_activation, ["none", "relu"])
        check_choice("projection", self.projection, ["none", "conv"])
        check_choice("pca_whiten", self.pca_whiten, [False, True])
        check_choice("embedding_norm", self.embedding_norm, [True, False])
        check_choice("global_branch", self.global_branch, [True, False])
        if self.hidden_size is None:
            object.__setattr__(self, "hidden_size", DEFAULT_HIDDEN.get(self.core, 256))
        object.__setattr__(self, "hidden_size", check_int("hidden_size", self.hidden_size, low=1))
        if self.embedding_dim is None:
            object.__setattr__(self, "embedding_dim", self.hidden_size)
        object.__setattr__(self, "embedding_dim", check_int("embedding_dim", self.embedding_dim, low=1))
        if self.projection_channels is None:
            object.__setattr__(self, "projection_channels", 32)
        object.__setattr__(self, "projection_channels",
                           check_int("projection_channels", self.projection_channels, low=1))
        if self.pca_channels is not None:
            object.__setattr__(self, "pca_channels", check_int("pca_channels", self.pca_channels, low=1))
        object.__setattr__(self, "attention_dim", check_int("attention_dim", self.attention_dim, low=1))
        if self.gate_hidden is None:
            object.__setattr__(self, "gate_hidden", self.embedding_dim)
        object.__setattr__(self, "gate_hidden", check_int("gate_hidden", self.gate_hidden, low=1))
        object.__setattr__(self, "dropout", check_float("dropout", self.dropout, low=0.0, high=1.0,
                                                        high_open=True))
        if self.readout == "attention" and self.attention == "none":
            raise ConfigError("attention='none' is not allowed with readout='attention'; "
                              "choose one of ['task', 'dual']")
        if self.readout != "attention" and self.attention != "none":
            raise ConfigError(f"attention={self.attention!r} needs readout='attention' "
                              f"(got readout={self.readout!r}); allowed with this readout: ['none']")

    @property
    def recurrent_input(self) -> bool:
        """True when a step's input depends on the previous hidden state (dual attention)."""
        return self.readout == "attention" and self.attention == "dual"


class ModelOutput(NamedTuple):
    """Outputs of :meth:`WMModel.forward` (torch tensors).

    logits (B,T,3); hidden (B,T,H); embedding (B,T,D) (after the gate, before the task concat);
    attention (B,T,49) softmax weights over the 7x7 positions (row-major) or None; cell (B,T,H) LSTM cell
    states or None; gate (B,T,D) gate values or None.
    """

    logits: torch.Tensor
    hidden: torch.Tensor
    embedding: torch.Tensor
    attention: Optional[torch.Tensor] = None
    cell: Optional[torch.Tensor] = None
    gate: Optional[torch.Tensor] = None


class StepOutput(NamedTuple):
    """One recurrent step (:meth:`WMModel.step`): hidden (B,H), cell (B,H) or None, probs (B,3), logits (B,3)."""

    hidden: torch.Tensor
    cell: Optional[torch.Tensor]
    probs: torch.Tensor
    logits: torch.Tensor


# --------------------------------------------------------------------------------------------------
# registries
# --------------------------------------------------------------------------------------------------
class RecurrentCore(nn.Module):
    """Wrap a one-layer torch RNN/GRU/LSTM with a uniform (x, state) -> (out, state) interface.

    ``state`` is ``h`` (B,H) for rnn/gru and ``(h, c)`` for lstm; None = zeros.
    ``forward`` returns out (B,T,H), cells (B,T,H) or None, and the final state.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int):
        super().__init__()
        self.kind = kind
        self.hidden_size = hidden_size
        cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
        kw = {"nonlinearity": "tanh"} if kind == "rnn" else {}
        self.rnn = cls(input_size, hidden_size, num_layers=1, batch_first=True, **kw)

    @property
    def has_cell(self) -> bool:
        return self.kind == "lstm"

    def forward(self, x, state=None):
        if self.kind == "lstm":
            if state is None:
                out, (h, c) = self.rnn(x)
            else:
                h0, c0 = state
                out, (h, c) = self.rnn(x, (h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()))
            # cell states per step: only the final one comes out of nn.LSTM, so recompute when asked
            return out, None, (h[0], c[0])
        h0 = None if state is None else state.unsqueeze(0).contiguous()
        out, h = self.rnn(x, h0)
        return out, None, h[0]


def _lstm_cells(core: RecurrentCore, x, state):
    """Run an LSTM step by step to get every cell state (B,T,H) (for recordings and analyses)."""
    outs, cells = [], []
    for t in range(x.shape[1]):
        o, _, state = core(x[:, t:t + 1], state)
        outs.append(o[:, 0])
        cells.append(state[1])
    return torch.stack(outs, 1), torch.stack(cells, 1), state


#: core name -> factory(input_size, hidden_size) -> module with forward(x (B,T,I), state) ->
#: (out (B,T,H), cells or None, final state)
CORES: dict[str, Callable[[int, int], nn.Module]] = {
    "rnn": lambda i, h: RecurrentCore("rnn", i, h),
    "gru": lambda i, h: RecurrentCore("gru", i, h),
    "lstm": lambda i, h: RecurrentCore("lstm", i, h),
}


class SpatialReadout(nn.Module):
    """1x1 conv (k -> P) then flatten the 49 positions and Linear(49 P -> D): keeps location linear."""

    needs_query = False

    def __init__(self, in_channels: int, cfg: ModelConfig):
        super().__init__()
        if cfg.projection == "conv":
            self.proj = nn.Conv2d(in_channels, cfg.projection_channels, 1)
            width = cfg.projection_channels
        else:
            self.proj = nn.Identity()
            width = in_channels
        self.act = nn.ReLU() if cfg.projection_activation == "relu" else nn.Identity()
        self.fc = nn.Linear(width * N_POSITIONS, cfg.embedding_dim)
        self.fc_global = nn.Linear(width, cfg.embedding_dim, bias=False) if cfg.global_branch else None

    def image_part(self, maps):  # (U,k,7,7) -> (U,D)
        z = self.act(self.proj(maps))
        out = self.fc(z.flatten(1))
        if self.fc_global is not None:
            out = out + self.fc_global(z.mean(dim=(2, 3)))
        return out


class AvgPoolReadout(nn.Module):
    """1x1 conv (k -> D) then global average pooling: the reference design (fails on location)."""

    needs_query = False

    def __init__(self, in_channels: int, cfg: ModelConfig):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, cfg.embedding_dim, 1)
        self.act = nn.ReLU() if cfg.projection_activation == "relu" else nn.Identity()
        self.cfg_linear = cfg.projection_activation != "relu"

    def image_part(self, maps):
        if self.cfg_linear:
            # a 1x1 conv without activation commutes with the mean over positions: pooling first is the same map,
            # 49x cheaper (it made the paper's readout on all 1280 channels affordable: 10 min -> 40 s a run)
            return self.proj(maps.mean(dim=(2, 3), keepdim=True)).flatten(1)
        return self.act(self.proj(maps)).mean(dim=(2, 3))


class AttentionReadout(nn.Module):
    """Task-guided attention over the 49 positions.

    values = conv1x1(map) + position code (D), keys = Linear(values) (A); query = MLP(task) (A) or, for
    "dual", MLP(task) + Linear(h_prev); weights = softmax(q.k / sqrt(A)) over positions; output = sum w v.
    """

    needs_query = True
    #: applied per shown image rather than per unique image (see :meth:`WMModel._image_part`)
    per_occurrence = True

    def __init__(self, in_channels: int, cfg: ModelConfig):
        super().__init__()
        D, A = cfg.embedding_dim, cfg.attention_dim
        self.proj = nn.Conv2d(in_channels, D, 1)
        self.act = nn.ReLU() if cfg.projection_activation == "relu" else nn.Identity()
        self.pos = nn.Parameter(torch.randn(N_POSITIONS, D) * 0.02)
        self.key = nn.Linear(D, A)
        self.query_task = nn.Sequential(nn.Linear(TASK_DIM, A), nn.ReLU(), nn.Linear(A, A))
        self.query_hidden = nn.Linear(cfg.hidden_size, A, bias=False) if cfg.attention == "dual" else None
        self.scale = 1.0 / math.sqrt(A)

    @property
    def linear(self) -> bool:
        """True when the values are an affine function of the map (no activation): then attention is computed
        in the map's k channels (:meth:`attend`), never forming the 49 x D values of a shown image."""
        return isinstance(self.act, nn.Identity)

    def image_part(self, maps):
        """(U,k,7,7) -> the map per position (U,49,k) when :attr:`linear`, else the values (U,49,D)."""
        if self.linear:
            return maps.flatten(2).transpose(1, 2)
        return self.values(maps.flatten(2).transpose(1, 2))

    def values(self, m):
        """The values (...,49,D) of the map per position ``m`` (...,49,k): conv1x1(map) + position code."""
        return self.act(m @ self.proj.weight[:, :, 0, 0].T + self.proj.bias) + self.pos

    def query(self, task, h_prev=None):
        q = self.query_task(task)
        if self.query_hidden is not None and h_prev is not None:
            q = q + self.query_hidden(h_prev)
        return q

    def attend(self, part, q):
        """part (...,49,k or D) from :meth:`image_part`, q (...,A) -> attended (...,D), weights (...,49).

        The score is q . key(v) = (q W_k) . v + q . b_k; q . b_k is the same at every position and the softmax
        removes it, so the keys (49 A per shown image) are never formed. With :attr:`linear` values
        v_p = P m_p + b_P + pos_p, the score is (q W_k P) . m_p + (q W_k) . pos_p (+ a constant) and the output
        sum_p w_p v_p = P (sum_p w_p m_p) + b_P + sum_p w_p pos_p: exact algebra, at the cost of the k map
        channels instead of the D value channels.
        """
        qw = q @ self.key.weight  # (...,D)
        if not self.linear:
            w = torch.softmax((part @ qw.unsqueeze(-1)).squeeze(-1) * self.scale, dim=-1)
            return (w.unsqueeze(-1) * part).sum(-2), w
        P = self.proj.weight[:, :, 0, 0]  # (D,k)
        scores = (part @ (qw @ P).unsqueeze(-1)).squeeze(-1) + qw @ self.pos.T  # (...,49)
        w = torch.softmax(scores * self.scale, dim=-1)
        pooled = (w.unsqueeze(-2) @ part).squeeze(-2)  # (...,k)
        return pooled @ P.T + self.proj.bias + w @ self.pos, w


#: readout name -> class(in_channels, cfg)
READOUTS: dict[str, Callable[[int, ModelConfig], nn.Module]] = {
    "spatial": SpatialReadout,
    "avgpool": AvgPoolReadout,
    "attention": AttentionReadout,
}


class TaskGate(nn.Module):
    """g = sigmoid(MLP(task) + task @ B): one gate per (feature, N) condition (``gate="task_only"``)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        G, D = cfg.gate_hidden, cfg.embedding_dim
        self.mlp = nn.Sequential(nn.Linear(TASK_DIM, G), nn.ReLU(), nn.Linear(G, G), nn.ReLU(),
                                 nn.Linear(G, D))
        self.bias = nn.Parameter(torch.zeros(TASK_DIM, D))

    def forward(self, emb, task):  # emb (...,D), task (...,6)
        return torch.sigmoid(self.mlp(task) + task @ self.bias)


class DualGate(nn.Module):
    """g = sigmoid(G(relu(Lq task) * relu(Lk emb))): depends on task and current image (``gate="dual"``)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        G, D = cfg.gate_hidden, cfg.embedding_dim
        self.q = nn.Linear(TASK_DIM, G)
        self.k = nn.Linear(D, G)
        self.out = nn.Sequential(nn.Linear(G, G), nn.ReLU(), nn.Linear(G, D))

    def forward(self, emb, task):
        return torch.sigmoid(self.out(F.relu(self.q(task)) * F.relu(self.k(emb))))


#: gate name -> class(cfg) or None
GATES: dict[str, Optional[Callable[[ModelConfig], nn.Module]]] = {
    "none": None,
    "task_only": TaskGate,
    "dual": DualGate,
}


# --------------------------------------------------------------------------------------------------
# channel PCA
# --------------------------------------------------------------------------------------------------
def fit_channel_pca(maps: np.ndarray, indices: Optional[np.ndarray], n_components: int,
                    chunk: int = 64, whiten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Fit a PCA over channels of feature maps, each (image, position) one sample.

    Parameters
    ----------
    maps : (n_images, C, h, w) array (float16 ok)
    indices : image indices to fit on (the training pool); None = all images
    n_components : k (clipped to C)
    whiten : True -> every component scaled to unit variance; False -> relative variances kept, one
        global scale so that the mean component variance is 1

    Returns
    -------
    mean : (C,) float32; components : (C, k) float32 such that ``(x - mean) @ components`` are the
    (scaled) principal components on the fitting images.
    """
    idx = np.arange(len(maps)) if indices is None else np.asarray(indices, dtype=np.int64)
    C = maps.shape[1]
    k = min(int(n_components), C)
    s = np.zeros(C, dtype=np.float64)
    ss = np.zeros((C, C), dtype=np.float64)
    count = 0
    for start in range(0, len(idx), chunk):
        x = np.asarray(maps[idx[start:start + chunk]], dtype=np.float64)  # (m,C,h,w)
        x = x.transpose(0, 2, 3, 1).reshape(-1, C)
        s += x.sum(0)
        ss += x.T @ x
        count += len(x)
    mean = s / count
    cov = ss / count - np.outer(mean, mean)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:k]
    evals, evecs = np.clip(evals[order], 1e-8, None), evecs[:, order]
    # fix sign so the result does not depend on the eigen solver's sign choice
    signs = np.sign(evecs[np.abs(evecs).argmax(0), np.arange(k)])
    evecs = evecs * np.where(signs == 0, 1, signs)
    comps = evecs / np.sqrt(evals) if whiten else evecs / np.sqrt(evals.mean())
    return mean.astype(np.float32), comps.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------------
class WMModel(nn.Module):
    """N-back working-memory model on a frozen, cached feature table.

    Parameters
    ----------
    config : ModelConfig
    features : (n_images, C, 7, 7) array or tensor
        Backbone feature maps of every stimulus image (e.g. ``FeatureBank.maps``). Held as a
        non-persistent buffer (not saved in state dicts; pass it again when loading).
    fit_indices : int array or None
        Images to fit the channel PCA on (the TRAINING pool only). None = all images.
    pca : (mean (C,), components (C,k)) or None
        Use this PCA instead of fitting one (when rebuilding a trained model).

    Notes
    -----
    ``forward(stimuli (B,T) long, task_vector (B,6))`` -> :class:`ModelOutput`. ``step`` runs one
    recurrent step from a given state. The PCA (``pca_mean``, ``pca_components``) is saved in the state dict.
    """

    def __init__(self, config: ModelConfig, features, fit_indices=None, pca=None):
        super().__init__()
        if not isinstance(config, ModelConfig):
            raise ConfigError(f"config={type(config).__name__} must be a ModelConfig")
        self.config = cfg = config
        feats = features.detach().cpu().numpy() if torch.is_tensor(features) else np.asarray(features)
        if feats.ndim != 4 or feats.shape[2:] != (7, 7):
            raise ConfigError(f"features shape={feats.shape} is not allowed; expected (n_images, C, 7, 7)")
        if cfg.pca_channels is not None:
            if pca is None:
                pca = fit_channel_pca(feats, fit_indices, cfg.pca_channels, whiten=cfg.pca_whiten)
            mean, comps = (np.asarray(a, dtype=np.float32) for a in pca)
            self.register_buffer("pca_mean", torch.from_numpy(mean))
            self.register_buffer("pca_components", torch.from_numpy(comps))
            table = self._reduce(feats, mean, comps)
            self.register_buffer("table", torch.from_numpy(table), persistent=False)
        else:
            self.pca_mean = self.pca_components = None
            t = torch.from_numpy(np.ascontiguousarray(feats))
            self.register_buffer("table", t if t.dtype == torch.float16 else t.float(), persistent=False)
        k = self.table.shape[1]
        self.n_images = int(self.table.shape[0])
        self.readout = READOUTS[cfg.readout](k, cfg)
        # a readout that only needs each image's mean over positions (the linear avgpool) reads a pooled copy of
        # the frozen table: gathering the full maps of every image in a batch cost 180 s of a 2000-step run
        linear_pool = getattr(self.readout, "cfg_linear", False)
        pooled = self.table.float().mean(dim=(2, 3), keepdim=True) if linear_pool else None
        self.register_buffer("pooled_table", pooled, persistent=False)
        gate_cls = GATES[cfg.gate]
        self.gate = gate_cls(cfg) if gate_cls is not None else None
        self.dropout = nn.Dropout(cfg.dropout)
        D, H = cfg.embedding_dim, cfg.hidden_size
        self.pre = nn.Sequential(nn.Linear(D + TASK_DIM, H), nn.LayerNorm(H), nn.ReLU())
        self.emb_norm = nn.LayerNorm(D, elementwise_affine=False) if cfg.embedding_norm else nn.Identity()
        self.core = CORES[cfg.core](H, H)
        self.classifier = nn.Linear(H, N_CLASSES)

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _reduce(feats, mean, comps, chunk=128) -> np.ndarray:
        n, C, h, w = feats.shape
        out = np.empty((n, comps.shape[1], h, w), dtype=np.float32)
        for s in range(0, n, chunk):
            x = np.asarray(feats[s:s + chunk], dtype=np.float32).transpose(0, 2, 3, 1)
            out[s:s + chunk] = ((x - mean) @ comps).transpose(0, 3, 1, 2)
        return out

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def has_cell(self) -> bool:
        return bool(getattr(self.core, "has_cell", False))

    def _check_inputs(self, stimuli, task_vector):
        if stimuli.dim() != 2:
            raise ConfigError(f"stimuli shape={tuple(stimuli.shape)} is not allowed; expected (B, T)")
        if task_vector.shape != (stimuli.shape[0], TASK_DIM):
            raise ConfigError(f"task_vector shape={tuple(task_vector.shape)} is not allowed; "
                              f"expected ({stimuli.shape[0]}, {TASK_DIM})")
        if stimuli.numel() and (int(stimuli.min()) < 0 or int(stimuli.max()) >= self.n_images):
            raise ConfigError(f"stimuli values in [{int(stimuli.min())}, {int(stimuli.max())}] are not "
                              f"allowed; expected image indices 0..{self.n_images - 1}")

    def _image_part(self, stimuli):
        """Image-only computation done once per unique image in the batch, then gathered.

        A readout whose per-image output is much wider than its input map (attention: values and keys at 49
        positions) is instead applied to each shown image's map, looked up in the frozen table: gathering
        its output would cost a (B T x U) @ (U x 49 (D + A)) product and its backward at every step (about
        6x the whole step of a spatial model), whereas the lookup is a plain index into a buffer.
        """
        if getattr(self.readout, "per_occurrence", False):
            flat = stimuli.reshape(-1)
            part = self.readout.image_part(self.table[flat].float())
            return part.reshape(*stimuli.shape, *part.shape[1:])
        uniq, inverse = torch.unique(stimuli, return_inverse=True)
        maps = (self.table if self.pooled_table is None else self.pooled_table)[uniq].float()
        part = self.readout.image_part(maps)
        # gather by a one-hot matmul: its backward is a deterministic matmul (the backward of
        # part[inverse] is a multithreaded, non-deterministic index_put on the CPU)
        onehot = F.one_hot(inverse, len(uniq)).to(maps.dtype)  # (..., U)

        def gather(p):
            return (onehot @ p.reshape(p.shape[0], -1)).reshape(*inverse.shape, *p.shape[1:])
        if isinstance(part, tuple):
            return tuple(gather(p) for p in part)
        return gather(part)

    def _pre(self, emb, task):
        return self.pre(torch.cat([self.emb_norm(emb), task], dim=-1))

    def _finish_embedding(self, emb, task):
        g = None
        if self.gate is not None:
            g = self.gate(emb, task)
            emb = emb * g
        return self.dropout(emb), g

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, stimuli: torch.Tensor, task_vector: torch.Tensor, state=None,
                return_cells: bool = False) -> ModelOutput:
        """Run the model over whole sequences.

        Parameters
        ----------
        stimuli : (B,T) long image indices
        task_vector : (B,6) float
        state : initial state (h (B,H), or (h, c) for LSTM); None = zeros
        return_cells : also return LSTM cell states per step (slower: steps one at a time)
        """
        self._check_inputs(stimuli, task_vector)
        task_vector = task_vector.float()
        B, T = stimuli.shape
        task_seq = task_vector.unsqueeze(1).expand(B, T, TASK_DIM)
        part = self._image_part(stimuli)
        attn = None
        if self.config.recurrent_input:
            return self._forward_stepwise(part, task_vector, state, B, T)
        if self.readout.needs_query:
            emb, attn = self.readout.attend(part, self.readout.query(task_seq))
        else:
            emb = part
        emb, g = self._finish_embedding(emb, task_seq)
        x = self._pre(emb, task_seq)
        cells = None
        if return_cells and self.has_cell:
            hidden, cells, _ = _lstm_cells(self.core, x, state)
        else:
            hidden, cells, _ = self.core(x, state)
        return ModelOutput(self.classifier(hidden), hidden, emb, attn, cells, g)

    def _forward_stepwise(self, part, task, state, B, T):
        values = part
        H = self.hidden_size
        if state is None:
            h = task.new_zeros(B, H)
            state = (h, task.new_zeros(B, H)) if self.has_cell else h
        hs, cs, es, ws, gs = [], [], [], [], []
        for t in range(T):
            h_prev = state[0] if self.has_cell else state
            emb, w = self.readout.attend(values[:, t], self.readout.query(task, h_prev))
            emb, g = self._finish_embedding(emb, task)
            x = self._pre(emb, task).unsqueeze(1)
            out, _, state = self.core(x, state)
            hs.append(out[:, 0]); es.append(emb); ws.append(w); gs.append(g)
            if self.has_cell:
                cs.append(state[1])
        hidden = torch.stack(hs, 1)
        return ModelOutput(self.classifier(hidden), hidden, torch.stack(es, 1), torch.stack(ws, 1),
                           torch.stack(cs, 1) if cs else None, torch.stack(gs, 1) if gs[0] is not None else None)

    def step(self, h_prev: torch.Tensor, stimulus: torch.Tensor, task_vector: torch.Tensor,
             c_prev: Optional[torch.Tensor] = None) -> StepOutput:
        """Run ONE recurrent step from a given state with the real input of that step.

        Parameters
        ----------
        h_prev : (B,H) hidden state before the step (e.g. a perturbed state)
        stimulus : (B,) long image index shown at this step
        task_vector : (B,6)
        c_prev : (B,H) LSTM cell state (required for LSTM)

        Returns
        -------
        StepOutput(hidden (B,H), cell (B,H) or None, probs (B,3), logits (B,3))
        """
        if self.has_cell and c_prev is None:
            raise ConfigError("c_prev=None is not allowed for an LSTM core; pass the cell state (B, H)")
        state = (h_prev, c_prev) if self.has_cell else h_prev
        task = task_vector.float()
        self._check_inputs(stimulus.reshape(-1, 1), task)
        part = self._image_part(stimulus.reshape(-1))
        if self.readout.needs_query:
            emb, _ = self.readout.attend(part, self.readout.query(task, h_prev))
        else:
            emb = part
        emb, _ = self._finish_embedding(emb, task)
        x = self._pre(emb, task).unsqueeze(1)
        out, _, state = self.core(x, state)
        h = out[:, 0]
        logits = self.classifier(h)
        return StepOutput(h, state[1] if self.has_cell else None, torch.softmax(logits, -1), logits)

    def n_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


def build_model(config: ModelConfig, features, fit_indices=None, pca=None) -> WMModel:
    """Convenience constructor (same as ``WMModel(config, features, fit_indices, pca)``)."""
    return WMModel(config, features, fit_indices=fit_indices, pca=pca)

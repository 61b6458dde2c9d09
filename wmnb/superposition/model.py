"""k-delay serial recall of sparse features, and stacks of small RNNs trained on it in one batched loop.

The task (after Sharma, Proca, Prieto & Mediano, ICLR 2026). A trial shows ``k`` items, one per step; an item
is a vector of ``n`` features, each independently *active* with probability ``p = 1 - S`` (sparsity ``S``)
and then uniform in [0, 1], else exactly 0. After the last item the input is silent for ``k`` steps, during
which the network recalls the items in order: at recall step ``r`` (1..k) the target is item ``r``. Every
item is therefore read out exactly ``k`` steps after it was shown (a k-delay), and at the end of the
presentation the state has to hold ``n * k`` feature values in ``d`` dimensions: the network is under
*temporal* capacity pressure when ``d < n * k``.

Models (``M`` independent networks stacked along a leading axis and trained together with ``bmm``):

* ``"linear"``: linear recurrence and a ReLU readout,
  ``h_t = W h_{t-1} + W_in x_t``, ``y_t = ReLU(W_out h_t + b)``; the direction of feature ``i`` at lag
  ``j`` is exactly the column ``W^j W_in[:, i]``.
* ``"tanh"`` / ``"relu"``: the same with ``h_t = f(W h_{t-1} + W_in x_t + b_h)``.

Loss: mean squared error over the ``k`` recall steps, the ``n`` features and the batch (per network).
Everything is seeded; each network ``m`` draws its own data at its own sparsity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch

from ..errors import ConfigError, check_choice, check_float, check_int
from ..progress import progress_bar

__all__ = ["KINDS", "sample_items", "StackedRNN", "StackConfig", "TrainedStack", "train_stack"]

KINDS = ("linear", "tanh", "relu")


def sample_items(sparsity: torch.Tensor, batch: int, k: int, n: int, *, generator: torch.Generator,
                 device="cpu") -> torch.Tensor:
    """Items of one batch for each of ``M`` networks.

    Parameters
    ----------
    sparsity : (M,) float tensor, S of each network (feature active with probability 1 - S)
    batch, k, n : sequences per network, items per sequence, features per item

    Returns
    -------
    (M, batch, k, n) float32: active features uniform in [0, 1], inactive ones 0.
    """
    m = sparsity.shape[0]
    p = (1.0 - sparsity).to(device).view(m, 1, 1, 1)
    u = torch.rand((m, batch, k, n), generator=generator, device=device)
    v = torch.rand((m, batch, k, n), generator=generator, device=device)
    return torch.where(u < p, v, torch.zeros((), device=device))


class StackedRNN(torch.nn.Module):
    """``M`` independent RNNs of one shape (hidden ``d``, ``n`` features) evaluated in one batched pass.

    Parameters are (M, ...) tensors: ``W`` (M,d,d), ``W_in`` (M,d,n), ``W_out`` (M,n,d), ``b_out`` (M,n),
    ``b_h`` (M,d) (unused by ``"linear"``). Initialisation: ``W`` orthogonal times 0.9 (a memory-friendly
    start), ``W_in`` and ``W_out`` Gaussian with variance 1/fan-in, biases 0.
    """

    def __init__(self, m: int, n: int, d: int, kind: str = "linear", *, generator: torch.Generator,
                 dims: Optional[Sequence[int]] = None):
        super().__init__()
        self.kind = check_choice("kind", kind, KINDS)
        self.m, self.n, self.d = m, n, d
        # networks of different hidden sizes share one stack of width d = max(dims): unit u of network m
        # exists iff u < dims[m]; the others are masked out of every product (their weights never matter)
        dims = [d] * m if dims is None else [int(x) for x in dims]
        if len(dims) != m or max(dims) > d or min(dims) < 1:
            raise ConfigError(f"dims={dims} must give one hidden size in 1..{d} per network ({m})")
        mask = (torch.arange(d)[None, :] < torch.tensor(dims)[:, None]).float()
        self.register_buffer("mask", mask)  # (M, d)
        q, _ = torch.linalg.qr(torch.randn((m, d, d), generator=generator))
        self.W = torch.nn.Parameter(0.9 * q)
        self.W_in = torch.nn.Parameter(torch.randn((m, d, n), generator=generator) / np.sqrt(n))
        self.W_out = torch.nn.Parameter(torch.randn((m, n, d), generator=generator) / np.sqrt(d))
        self.b_out = torch.nn.Parameter(torch.zeros((m, n)))
        self.b_h = torch.nn.Parameter(torch.zeros((m, d)))

    def step(self, h: torch.Tensor, x: Optional[torch.Tensor]) -> torch.Tensor:
        """One step: h (M,B,d), x (M,B,n) or None (silent input) -> new h (M,B,d)."""
        z = torch.bmm(h, self.W.transpose(1, 2))
        if x is not None:
            z = z + torch.bmm(x, self.W_in.transpose(1, 2))
        if self.kind != "linear":
            z = z + self.b_h[:, None, :]
            z = torch.tanh(z) if self.kind == "tanh" else torch.relu(z)
        return z * self.mask[:, None, :]

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """(M,B,d) -> (M,B,n) = ReLU(W_out h + b_out)."""
        return torch.relu(torch.bmm(h * self.mask[:, None, :], self.W_out.transpose(1, 2))
                          + self.b_out[:, None, :])

    def forward(self, items: torch.Tensor, return_states: bool = False):
        """items (M,B,k,n) -> recalled items (M,B,k,n) [and states (M,B,2k,d): after each of the 2k steps]."""
        m, b, k, _ = items.shape
        h = items.new_zeros((m, b, self.d))
        states, outs = [], []
        for t in range(k):
            h = self.step(h, items[:, :, t])
            states.append(h)
        for _ in range(k):
            h = self.step(h, None)
            states.append(h)
            outs.append(self.readout(h))
        y = torch.stack(outs, dim=2)
        return (y, torch.stack(states, dim=2)) if return_states else y


@dataclass(frozen=True)
class StackConfig:
    """Everything that determines one trained stack (validated on construction).

    ``len(ds) * len(sparsities) * len(seeds)`` networks of one (kind, n, k), in (d, S, seed) order, trained
    for ``steps`` Adam steps of ``batch`` fresh sequences each at learning rate ``lr`` (cosine-decayed to 5 %).
    """

    kind: str = "linear"
    n: int = 6
    k: int = 3
    ds: tuple = (6,)
    sparsities: tuple = (0.0, 0.9)
    seeds: tuple = (0,)
    steps: int = 2000
    batch: int = 512
    lr: float = 0.01

    def __post_init__(self):
        check_choice("kind", self.kind, KINDS)
        check_int("n", self.n, low=1, high=256)
        check_int("k", self.k, low=1, high=32)
        for name, vals in (("ds", self.ds), ("sparsities", self.sparsities), ("seeds", self.seeds)):
            if not tuple(vals):
                raise ConfigError(f"{name}=() is not allowed; give at least one value")
        for d in self.ds:
            check_int("d", d, low=1, high=512)
        for s in self.sparsities:
            check_float("sparsity", s, low=0.0, high=1.0, high_open=True)
        for s in self.seeds:
            check_int("seed", s, low=0)
        check_int("steps", self.steps, low=1)
        check_int("batch", self.batch, low=1)
        check_float("lr", self.lr, low=0.0, low_open=True)
        object.__setattr__(self, "ds", tuple(int(d) for d in self.ds))
        object.__setattr__(self, "sparsities", tuple(float(s) for s in self.sparsities))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    @property
    def grid(self) -> list[tuple[int, float, int]]:
        """(d, sparsity, seed) of each network in stack order."""
        return [(d, s, seed) for d in self.ds for s in self.sparsities for seed in self.seeds]


@dataclass
class TrainedStack:
    """A trained stack: its config, its weights as numpy arrays (leading axis = network; hidden axes padded
    to ``max(ds)``, use :meth:`net_weights` for one network's own) and its loss curve."""

    config: StackConfig
    weights: dict = field(repr=False)          # name -> (M, ...) float64 array
    loss_curve: np.ndarray = field(repr=False)  # (n_logged, M) training loss (MSE)
    seconds: float = 0.0

    def net_weights(self, i: int) -> dict:
        """Weights of network ``i`` cut to its own hidden size: W (d,d), W_in (d,n), W_out (n,d), b_out (n,),
        b_h (d,)."""
        d = self.config.grid[i][0]
        w = self.weights
        return dict(W=w["W"][i, :d, :d], W_in=w["W_in"][i, :d], W_out=w["W_out"][i, :, :d], b_out=w["b_out"][i],
                    b_h=w["b_h"][i, :d])

    def module(self, device="cpu") -> StackedRNN:
        """The stack as a :class:`StackedRNN` holding the trained weights."""
        c = self.config
        net = StackedRNN(len(c.grid), c.n, max(c.ds), c.kind, generator=torch.Generator().manual_seed(0),
                         dims=[g[0] for g in c.grid])
        with torch.no_grad():
            for name, arr in self.weights.items():
                getattr(net, name).copy_(torch.as_tensor(arr, dtype=torch.float32))
        return net.to(device)


def _init_stack(c: StackConfig) -> StackedRNN:
    """The stack's initial weights: network (d, S, seed) starts from weights drawn from its own seed and size
    only, so one seed starts from the same weights at every S."""
    grid = c.grid
    dmax = max(c.ds)
    net = StackedRNN(len(grid), c.n, dmax, c.kind, generator=torch.Generator().manual_seed(0),
                     dims=[g[0] for g in grid])
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        for i, (d, _, seed) in enumerate(grid):
            g = torch.Generator().manual_seed(10_007 * seed + 97 * c.n + d + 7919 * KINDS.index(c.kind))
            one = StackedRNN(1, c.n, d, c.kind, generator=g)
            net.W[i, :d, :d] = one.W[0]
            net.W_in[i, :d] = one.W_in[0]
            net.W_out[i, :, :d] = one.W_out[0]
    return net


def train_stack(config: StackConfig, *, device="auto", progress: bool = False, log_every: int = 50
                ) -> TrainedStack:
    """Train the ``len(config.grid)`` networks of ``config`` together: one Adam over the stacked tensors,
    the per-network losses summed (the networks share no parameter, so each one's gradient is its own).

    The loss of network m is the MSE of its recall, averaged over the batch, the k recall steps and the n
    features. Seeded: same config, same weights (on one device)."""
    import time

    from ..training import resolve_device

    c = config
    dev = resolve_device(device) if isinstance(device, str) else torch.device(device)
    grid = c.grid
    net = _init_stack(c).to(dev)
    sparsity = torch.tensor([s for _, s, _ in grid], dtype=torch.float32, device=dev)
    gen = torch.Generator(device=dev).manual_seed(1_000_003 * (1 + min(c.seeds)) + 31 * c.k + c.n)
    opt = torch.optim.Adam(net.parameters(), lr=c.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(i, c.steps) / c.steps)))
    curve = []
    t0 = time.perf_counter()
    it = progress_bar(range(c.steps), enabled=progress, leave=False,
                      desc=f"{c.kind} RNNs (n={c.n}, k={c.k}, {len(grid)} networks)")
    for i in it:
        x = sample_items(sparsity, c.batch, c.k, c.n, generator=gen, device=dev)
        per_net = ((net(x) - x) ** 2).mean(dim=(1, 2, 3))  # (M,)
        opt.zero_grad(set_to_none=True)
        per_net.sum().backward()
        opt.step()
        sched.step()
        if i % log_every == 0 or i == c.steps - 1:
            curve.append(per_net.detach().cpu().numpy())
    if not all(torch.isfinite(p).all() for p in net.parameters()):
        raise FloatingPointError(f"training {c} produced non-finite weights")
    weights = {name: p.detach().cpu().double().numpy() for name, p in net.named_parameters()}
    return TrainedStack(c, weights, np.asarray(curve), time.perf_counter() - t0)

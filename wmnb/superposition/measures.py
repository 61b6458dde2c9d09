"""Measures of a trained stack: recall loss per position, feature directions per lag, pairwise angles,
spectral radius, fraction of features recovered. Pure numpy on weights / activity, plus one batched pass.

Conventions: a trial shows items 1..k at steps 1..k; the *memory state* is the hidden state after the last
item (step k), which holds item r at lag ``k - r``. The direction of feature i at lag j is

* linear nets: exactly ``W^j W_in[:, i]`` (:func:`linear_lag_directions`);
* any net: the least-squares coefficient of ``x_{t-j, i}`` in a regression of ``h_t`` on the items
  (:func:`fitted_lag_directions`); for a linear net the two coincide (tested).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
import torch

from ..errors import ConfigError

__all__ = ["ORTHO_COS", "RECOVERED_MAX_LOSS", "linear_lag_directions", "fitted_lag_directions", "pairwise_cosines", "angle_stats",
           "spectral_radius", "probe_gains", "probe_preactivations", "filtered_fraction", "recall_loss", "measure_stack", "COS_BINS"]

#: |cos| below this counts as near-orthogonal (about 84-96 degrees); below -ORTHO_COS as obtuse
ORTHO_COS = 0.1
#: an item-feature counts as recovered when its held-out recall MSE, relative to its variance, is <= this
RECOVERED_MAX_LOSS = 0.5
#: bin edges of the cosine histograms the sweep stores
COS_BINS = np.linspace(-1.0, 1.0, 21)


def linear_lag_directions(W: np.ndarray, W_in: np.ndarray, lags) -> np.ndarray:
    """(L, d, n): ``W^j W_in`` for each j in ``lags`` (W (d,d), W_in (d,n))."""
    lags = [int(j) for j in lags]
    if min(lags) < 0:
        raise ConfigError(f"lags={lags} must be >= 0")
    out, P, j0 = [], np.eye(W.shape[0]), 0
    for j in sorted(set(lags)):
        P = np.linalg.matrix_power(W, j - j0) @ P
        j0 = j
        out.append((j, P @ W_in))
    got = dict(out)
    return np.stack([got[j] for j in lags])


def fitted_lag_directions(state: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Encoding directions fitted by least squares (with an intercept).

    Parameters
    ----------
    state : (B, d) hidden state after the last item (the memory state)
    items : (B, k, n) the trial's items

    Returns
    -------
    (k, d, n): entry [j] is the direction of the features at lag j (item k - j), i.e. ordered by lag.
    """
    b, k, n = items.shape
    X = np.concatenate([items.reshape(b, k * n), np.ones((b, 1))], axis=1)
    coef, *_ = np.linalg.lstsq(X, state, rcond=None)          # (k*n+1, d)
    A = coef[:-1].reshape(k, n, -1).transpose(0, 2, 1)          # item-major (k, d, n)
    return A[::-1].copy()                                        # lag-major


def pairwise_cosines(dirs: np.ndarray, keep: Optional[np.ndarray] = None) -> np.ndarray:
    """Cosines of all pairs of the columns of ``dirs`` (d, F) whose ``keep`` flag is set (all by default);
    zero-norm columns are dropped. Returns a 1-d array of length F'(F'-1)/2."""
    dirs = np.asarray(dirs, dtype=float)
    keep = np.ones(dirs.shape[1], bool) if keep is None else np.asarray(keep, bool)
    norms = np.linalg.norm(dirs, axis=0)
    keep = keep & (norms > 1e-12)
    U = dirs[:, keep] / norms[keep]
    iu = np.triu_indices(U.shape[1], 1)
    return (U.T @ U)[iu]


def angle_stats(cos: np.ndarray) -> dict:
    """Summary of a set of pairwise cosines: ``n_pairs``, ``mean_cos``, ``mean_abs_cos``, ``mean_angle`` (degrees),
    ``frac_obtuse`` (cos < -0.1), ``frac_orthogonal`` (|cos| <= 0.1), ``frac_acute`` (cos > 0.1). NaN if empty."""
    cos = np.clip(np.asarray(cos, dtype=float), -1, 1)
    if cos.size == 0:
        return dict(n_pairs=0, mean_cos=np.nan, mean_abs_cos=np.nan, mean_angle=np.nan, frac_obtuse=np.nan,
                    frac_orthogonal=np.nan, frac_acute=np.nan)
    return dict(n_pairs=int(cos.size), mean_cos=float(cos.mean()), mean_abs_cos=float(np.abs(cos).mean()), mean_angle=float(np.degrees(np.arccos(cos)).mean()),
                frac_obtuse=float((cos < -ORTHO_COS).mean()), frac_orthogonal=float((abs(cos) <= ORTHO_COS).mean()),
                frac_acute=float((cos > ORTHO_COS).mean()))


def spectral_radius(W: np.ndarray) -> float:
    """max |eigenvalue| of the square matrix ``W``."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ConfigError(f"W shape={W.shape} must be square")
    return float(np.abs(np.linalg.eigvals(W)).max())


@torch.no_grad()
def probe_gains(net, k: int, n: int) -> np.ndarray:
    """(M, k, n): the recalled value of feature i of item r when a trial holds only that one feature, set to 1
    (every other input 0). A feature is *recovered* when its gain is >= 0.5 (target 1, silence 0)."""
    probes = torch.zeros((k * n, k, n))
    idx = torch.arange(k * n)
    probes[idx, idx // n, idx % n] = 1.0
    x = probes[None].expand(net.m, -1, -1, -1).contiguous().to(net.W.device)
    y = net(x)                                                   # (M, k*n, k, n)
    g = y[:, idx, idx // n, idx % n]                             # (M, k*n)
    return g.reshape(net.m, k, n).cpu().double().numpy()


@torch.no_grad()
def probe_preactivations(net, k: int, n: int) -> np.ndarray:
    """(M, k, n, k, n): readout pre-activation ``W_out h + b`` of output feature i at recall step r (axes 3, 4)
    on the probe trial that holds only feature g of item s (axes 1, 2), set to 1. The diagonal (s = r, g = i)
    is the recall gain before the ReLU; every other entry is *interference* of item-feature (s, g) on the
    readout of (r, i): the ReLU removes it where it is <= 0 (the interference-free side)."""
    probes = torch.zeros((k * n, k, n))
    idx = torch.arange(k * n)
    probes[idx, idx // n, idx % n] = 1.0
    x = probes[None].expand(net.m, -1, -1, -1).contiguous().to(net.W.device)
    _, states = net(x, return_states=True)                      # (M, k*n, 2k, d)
    h = states[:, :, k:] * net.mask[:, None, None, :]
    pre = torch.einsum("mptd,mnd->mptn", h, net.W_out) + net.b_out[:, None, None, :]
    return pre.cpu().double().numpy().reshape(net.m, k, n, k, n)


def filtered_fraction(pre: np.ndarray) -> float:
    """Fraction of the interference entries of :func:`probe_preactivations` (one network, (k,n,k,n)) that are
    <= 0, i.e. that the ReLU readout removes: near 0 when the readout works linearly, near 1 when the network
    keeps the features it is not reading on the readout's silent side (the interference-free space)."""
    k, n = pre.shape[:2]
    self_ = np.zeros(pre.shape, bool)
    a, i = np.meshgrid(np.arange(k), np.arange(n), indexing="ij")
    self_[a, i, a, i] = True
    return float((pre[~self_] <= 0).mean())


@torch.no_grad()
def recall_loss(net, sparsity: np.ndarray, k: int, n: int, batch: int = 4096, seed: int = 12345):
    """Held-out recall on fresh trials. Returns (loss (M,k), relative (M,k), items (M,B,k,n), states
    (M,B,2k,d)): the MSE per recall position r (averaged over batch and features) and the same divided by
    the MSE of recalling nothing (``E[x^2] = (1 - S) / 3``): 1 = nothing recalled, 0 = perfect."""
    from .model import sample_items

    dev = net.W.device
    g = torch.Generator(device=dev).manual_seed(seed)
    s = torch.as_tensor(np.asarray(sparsity), dtype=torch.float32, device=dev)
    x = sample_items(s, batch, k, n, generator=g, device=dev)
    y, states = net(x, return_states=True)
    err = ((y - x) ** 2).mean(dim=1).cpu().double().numpy()                  # (M, k, n)
    loss = err.mean(axis=2)                                                  # (M, k)
    xd = x.double()
    base = xd.reshape(xd.shape[0], -1).var(dim=1).cpu().numpy()[:, None]      # (M, 1)
    rel_f = err / np.maximum(xd.var(dim=1).cpu().numpy(), 1e-12)              # (M, k, n)
    return loss, loss / np.maximum(base, 1e-12), rel_f, x.cpu().numpy(), states.cpu().numpy()


def measure_stack(trained, *, batch: int = 4096, seed: int = 12345, device="cpu"):
    """Every measure of every network of a :class:`~wmnb.superposition.model.TrainedStack`.

    Returns
    -------
    (networks, histograms) : two DataFrames.
    ``networks``: one row per network: kind, n, k, d, ratio = d / (n k), sparsity, seed, ``loss`` (relative
    recall loss, all positions), ``loss_r{r}`` per recall position, ``frac_recovered`` (of the n k item
    features, recovered = relative loss of that item-feature <= :data:`RECOVERED_MAX_LOSS` on held-out
    trials), ``n_recovered``, ``probe_recovered`` (fraction with single-feature probe gain >= 0.5), ``spectral_radius``, ``frac_filtered`` (:func:`filtered_fraction`),
    ``readout_bias`` (mean b_out), the :func:`angle_stats` of the memory-state directions of
    the recovered features (``mean_cos``, ``frac_obtuse`` ...), ``frac_obtuse_all`` / ``mean_cos_all`` over
    all n k directions, and for linear nets ``fit_error`` (fitted vs exact directions, relative).
    ``histograms``: one row per (network, cosine bin): ``bin_lo``, ``bin_hi``, ``count`` of the recovered
    features' pairwise cosines.
    """
    c = trained.config
    net = trained.module(device)
    grid = c.grid
    spars = np.array([s for _, s, _ in grid])
    loss, rel, rel_f, items, states = recall_loss(net, spars, c.k, c.n, batch=batch, seed=seed)
    gains = probe_gains(net, c.k, c.n)                                        # (M, k, n)
    pre = probe_preactivations(net, c.k, c.n)                                 # (M, k, n, k, n)
    rows, hist = [], []
    for i, (d, s, seed_) in enumerate(grid):
        w = trained.net_weights(i)
        mem = states[i, :, c.k - 1, :d]                                       # (B, d) memory state
        A = fitted_lag_directions(mem, items[i])                              # (k, d, n), lag-major
        rec = rel_f[i] <= RECOVERED_MAX_LOSS                                  # (k, n) item-major
        rec_lag = rec[::-1]                                                   # lag-major
        D = A.transpose(1, 0, 2).reshape(d, c.k * c.n)                        # (d, k*n)
        cos = pairwise_cosines(D, rec_lag.reshape(-1))
        row = dict(probe_recovered=float((gains[i] >= 0.5).mean()), kind=c.kind, n=c.n, k=c.k, d=d, ratio=d / (c.n * c.k), sparsity=s, seed=seed_,
                   loss=float(rel[i].mean()), **{f"loss_r{r + 1}": float(rel[i, r]) for r in range(c.k)},
                   raw_loss=float(loss[i].mean()), n_recovered=int(rec.sum()), frac_recovered=float(rec.mean()),
                   spectral_radius=spectral_radius(w["W"]), frac_filtered=filtered_fraction(pre[i]),
                   readout_bias=float(w["b_out"].mean()), **angle_stats(cos))
        allst = angle_stats(pairwise_cosines(D))
        row.update(mean_cos_all=allst["mean_cos"], mean_abs_cos_all=allst["mean_abs_cos"],
                   frac_obtuse_all=allst["frac_obtuse"], frac_orthogonal_all=allst["frac_orthogonal"])
        if c.kind == "linear":
            exact = linear_lag_directions(w["W"], w["W_in"], range(c.k))
            row["fit_error"] = float(np.linalg.norm(A - exact) / max(np.linalg.norm(exact), 1e-12))
        rows.append(row)
        counts, _ = np.histogram(np.clip(cos, -1, 1), bins=COS_BINS)
        for lo, hi, cnt in zip(COS_BINS[:-1], COS_BINS[1:], counts):
            hist.append(dict(kind=c.kind, n=c.n, k=c.k, d=d, sparsity=s, seed=seed_, bin_lo=float(lo),
                             bin_hi=float(hi), count=int(cnt)))
    return pd.DataFrame(rows), pd.DataFrame(hist)

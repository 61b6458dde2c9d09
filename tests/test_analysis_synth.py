"""Synthetic recordings with planted memory geometry: helpers for tests/test_analysis_* (no tests here)."""
import numpy as np


def random_rotation(rng, H):
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    return q * np.sign(np.diag(r))


def memory_recording(seed=0, B=900, T=4, H=40, C=4, n=2, realign=False, per_stimulus=False, noise=0.3):
    """h[b, t] = sum_{i<=t} Q[age or (i, age)] @ code[label[b, i]] + noise.

    Q depends on the memory age only (H2, shared across stimuli) or on (stimulus, age) (H3) when
    ``per_stimulus``. With ``realign`` the code at age n (the executive step) equals the encoding code.
    """
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(C, H)) * 1.5
    Q = {}
    for i in range(T):
        for a in range(T):
            key = (i, a) if per_stimulus else a
            if key not in Q:
                Q[key] = np.eye(H) if a == 0 else random_rotation(rng, H)
    if realign:
        for k in list(Q):
            if (k[1] if per_stimulus else k) == n:
                Q[k] = Q[(k[0], 0) if per_stimulus else 0]
    y = rng.integers(0, C, (B, T)) * 10 + 5  # raw values 5, 15, 25, 35 (not 0..C-1)
    lab = (y - 5) // 10
    hidden = rng.normal(size=(B, T, H)) * noise
    for t in range(T):
        for i in range(t + 1):
            a = t - i
            M = Q[(i, a) if per_stimulus else a]
            hidden[:, t] += codes[lab[:, i]] @ M.T
    return dict(hidden=hidden, labels={"location": y}, n=np.full(B, n), seq_id=np.arange(B),
                feature=np.zeros(B, dtype=int), Q=Q)

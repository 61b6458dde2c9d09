"""Tests of wmnb.models: shapes for every core x readout x gate, validation, step() == forward."""

import numpy as np
import pytest
import torch

from wmnb.errors import ConfigError
from wmnb.models import CORES, GATES, READOUTS, ModelConfig, WMModel, fit_channel_pca

N_IMAGES, C = 12, 24


@pytest.fixture(scope="module")
def maps():
    return np.random.default_rng(0).normal(size=(N_IMAGES, C, 7, 7)).astype(np.float16)


def _inputs(B=3, T=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    stim = torch.randint(0, N_IMAGES, (B, T), generator=g)
    tv = torch.zeros(B, 6)
    tv[torch.arange(B), torch.arange(B) % 3] = 1
    tv[torch.arange(B), 3 + torch.arange(B) % 3] = 1
    return stim, tv


READOUT_MODES = [("spatial", "none"), ("avgpool", "none"), ("attention", "task"), ("attention", "dual")]


@pytest.mark.parametrize("core", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("readout,attention", READOUT_MODES)
@pytest.mark.parametrize("gate", ["none", "task_only", "dual"])
def test_shapes_and_step(maps, core, readout, attention, gate):
    cfg = ModelConfig(core=core, hidden_size=10, embedding_dim=8, readout=readout, attention=attention,
                      gate=gate, pca_channels=6, projection_channels=4, attention_dim=5)
    torch.manual_seed(0)
    m = WMModel(cfg, maps, fit_indices=np.arange(8)).eval()
    stim, tv = _inputs()
    out = m(stim, tv, return_cells=True)
    assert out.logits.shape == (3, 6, 3)
    assert out.hidden.shape == (3, 6, 10)
    assert out.embedding.shape == (3, 6, 8)
    if readout == "attention":
        assert out.attention.shape == (3, 6, 49)
        assert torch.allclose(out.attention.sum(-1), torch.ones(3, 6), atol=1e-5)
    else:
        assert out.attention is None
    assert (out.cell is not None) == (core == "lstm")
    assert (out.gate is not None) == (gate != "none")
    # step() from the previous state reproduces forward's next hidden state and probabilities
    h = torch.zeros(3, 10)
    c = torch.zeros(3, 10) if core == "lstm" else None
    for t in range(6):
        so = m.step(h, stim[:, t], tv, c)
        assert torch.allclose(so.hidden, out.hidden[:, t], atol=1e-5)
        assert torch.allclose(so.probs, torch.softmax(out.logits[:, t], -1), atol=1e-5)
        h, c = so.hidden, so.cell


def test_step_from_perturbed_state_continues_forward(maps):
    m = WMModel(ModelConfig(core="gru", hidden_size=12, pca_channels=6), maps).eval()
    stim, tv = _inputs()
    h0 = torch.randn(3, 12)
    full = m(stim, tv, state=h0)
    so = m.step(h0, stim[:, 0], tv)
    assert torch.allclose(so.hidden, full.hidden[:, 0], atol=1e-5)


def test_default_hidden_sizes_follow_paper():
    assert ModelConfig(core="rnn").hidden_size == 512
    assert ModelConfig(core="gru").hidden_size == 256
    assert ModelConfig(core="lstm").hidden_size == 256
    assert ModelConfig(core="gru").embedding_dim == 256


@pytest.mark.parametrize("kwargs,words", [
    (dict(hidden_size=0), ["hidden_size", "0"]),
    (dict(hidden_size=-3), ["hidden_size", "-3"]),
    (dict(core="transformer"), ["core", "transformer", "gru"]),
    (dict(readout="max"), ["readout", "max", "spatial"]),
    (dict(gate="sometimes"), ["gate", "sometimes", "task_only"]),
    (dict(readout="attention"), ["attention", "none", "task"]),
    (dict(attention="task"), ["attention", "task", "readout"]),
    (dict(dropout=1.5), ["dropout", "1.5"]),
])
def test_bad_config_fails_fast_with_clear_message(kwargs, words):
    with pytest.raises(ConfigError) as err:
        ModelConfig(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_bad_inputs(maps):
    m = WMModel(ModelConfig(hidden_size=8, pca_channels=4), maps)
    stim, tv = _inputs()
    with pytest.raises(ConfigError, match="image indices"):
        m(stim + N_IMAGES, tv)
    with pytest.raises(ConfigError, match="task_vector"):
        m(stim, tv[:, :5])
    with pytest.raises(ConfigError, match="features"):
        WMModel(ModelConfig(hidden_size=8), np.zeros((4, 3, 5, 5)))
    lstm = WMModel(ModelConfig(core="lstm", hidden_size=8, pca_channels=4), maps)
    with pytest.raises(ConfigError, match="c_prev"):
        lstm.step(torch.zeros(3, 8), stim[:, 0], tv)


def test_pca_whitened_on_fit_pool_and_state_roundtrip(maps):
    idx = np.arange(8)
    mean, comps = fit_channel_pca(maps, idx, 5)
    x = maps[idx].astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, C)
    z = (x - mean) @ comps
    assert np.allclose(z.mean(0), 0, atol=1e-4)
    assert np.allclose(z.std(0), 1, atol=1e-3)
    m = WMModel(ModelConfig(hidden_size=8, pca_channels=5), maps, fit_indices=idx)
    sd = m.state_dict()
    assert "table" not in sd and "pca_components" in sd
    m2 = WMModel(ModelConfig(hidden_size=8, pca_channels=5), maps,
                 pca=(sd["pca_mean"].numpy(), sd["pca_components"].numpy()))
    m2.load_state_dict(sd)
    stim, tv = _inputs()
    assert torch.allclose(m.eval()(stim, tv).logits, m2.eval()(stim, tv).logits)


def test_no_pca_uses_raw_channels(maps):
    m = WMModel(ModelConfig(hidden_size=8, pca_channels=None, readout="avgpool"), maps)
    assert m.table.shape == (N_IMAGES, C, 7, 7)
    stim, tv = _inputs()
    assert m(stim, tv).logits.shape == (3, 6, 3)


def test_registries_are_extensible(maps):
    assert {"rnn", "gru", "lstm"} <= set(CORES)
    assert {"spatial", "avgpool", "attention"} <= set(READOUTS)
    assert {"none", "task_only", "dual"} <= set(GATES)
    from wmnb.models import RecurrentCore
    CORES["gru2"] = lambda i, h: RecurrentCore("gru", i, h)
    try:
        m = WMModel(ModelConfig(core="gru2", hidden_size=8, pca_channels=4), maps)
        stim, tv = _inputs()
        assert m(stim, tv).hidden.shape == (3, 6, 8)
    finally:
        del CORES["gru2"]


@pytest.mark.parametrize("projection", ["none", "conv"])
@pytest.mark.parametrize("global_branch", [True, False])
@pytest.mark.parametrize("embedding_norm", [True, False])
@pytest.mark.parametrize("pca_whiten", [True, False])
def test_spatial_readout_options(maps, projection, global_branch, embedding_norm, pca_whiten):
    cfg = ModelConfig(core="gru", hidden_size=10, embedding_dim=8, pca_channels=6, projection_channels=4,
                      projection=projection, global_branch=global_branch, embedding_norm=embedding_norm,
                      pca_whiten=pca_whiten)
    torch.manual_seed(0)
    m = WMModel(cfg, maps, fit_indices=np.arange(8)).eval()
    assert (m.readout.fc_global is not None) == global_branch
    assert m.readout.fc.in_features == 49 * (4 if projection == "conv" else 6)
    stim, tv = _inputs()
    out = m(stim, tv)
    assert out.logits.shape == (3, 6, 3) and out.embedding.shape == (3, 6, 8)
    h = torch.zeros(3, 10)
    for t in range(6):
        so = m.step(h, stim[:, t], tv)
        assert torch.allclose(so.hidden, out.hidden[:, t], atol=1e-5)
        h = so.hidden


def test_pca_without_whitening_keeps_relative_variances(maps):
    idx = np.arange(8)
    mean, comps = fit_channel_pca(maps, idx, 5, whiten=False)
    x = maps[idx].astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, C)
    var = ((x - mean) @ comps).var(0)
    assert np.all(np.diff(var) <= 1e-6)            # ordered by variance, not flattened to 1
    assert np.isclose(var.mean(), 1.0, atol=1e-3)   # one global scale: mean variance 1
    assert var[0] > 1.0 > var[-1]


def test_embedding_norm_normalises_rnn_input(maps):
    m = WMModel(ModelConfig(hidden_size=8, embedding_dim=6, pca_channels=4), maps).eval()
    stim, tv = _inputs()
    emb = m(stim, tv).embedding
    z = m.emb_norm(emb)
    assert torch.allclose(z.mean(-1), torch.zeros(3, 6), atol=1e-5)
    assert torch.allclose(z.var(-1, unbiased=False), torch.ones(3, 6), atol=1e-3)


def _attention_by_definition(readout, maps, q):
    """The attention readout exactly as its docstring defines it: values = act(conv1x1(map)) + position code,
    keys = Linear(values), weights = softmax(q . k / sqrt(A)) over the 49 positions, output = sum_p w_p v_p."""
    v = readout.act(readout.proj(maps)).flatten(2).transpose(1, 2) + readout.pos  # (U,49,D)
    k = readout.key(v)  # (U,49,A), bias included
    w = torch.softmax((k @ q.unsqueeze(-1)).squeeze(-1) * readout.scale, dim=-1)
    return (w.unsqueeze(-1) * v).sum(-2), w


@pytest.mark.parametrize("activation", ["none", "relu"])
def test_attention_readout_equals_its_definition(maps, activation):
    """The fast path (scores without materialised keys; with an affine projection, attention in the map's
    channels) computes the same output, weights and gradients as the definition."""
    cfg = ModelConfig(core="gru", hidden_size=10, embedding_dim=8, readout="attention", attention="task",
                      pca_channels=6, attention_dim=5, projection_activation=activation)
    torch.manual_seed(0)
    m = WMModel(cfg, maps, fit_indices=np.arange(8)).double()
    with torch.no_grad():  # a non-zero key bias: the softmax must remove it, not the test's choice of zero
        m.readout.key.bias.normal_()
    r = m.readout
    assert r.linear == (activation == "none")
    x = m.table[:5].double()
    q = torch.randn(5, 5, dtype=torch.float64)
    fast, wf = r.attend(r.image_part(x), q)
    ref, wr = _attention_by_definition(r, x, q)
    assert torch.allclose(fast, ref, atol=1e-10) and torch.allclose(wf, wr, atol=1e-12)
    g_fast = torch.autograd.grad(fast.square().sum(), [r.proj.weight, r.pos, r.key.weight])
    g_ref = torch.autograd.grad(ref.square().sum(), [r.proj.weight, r.pos, r.key.weight])
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(g_fast, g_ref))
    # a control the comparison can fail: another query gives other weights
    assert not torch.allclose(r.attend(r.image_part(x), q + 1.0)[1], wr, atol=1e-3)


def test_attention_model_forward_is_per_shown_image(maps):
    """A shown image's attended embedding depends only on that image and the query, not on the batch."""
    cfg = ModelConfig(core="gru", hidden_size=10, embedding_dim=8, readout="attention", attention="task",
                      pca_channels=6, attention_dim=5)
    torch.manual_seed(0)
    m = WMModel(cfg, maps, fit_indices=np.arange(8)).eval()
    stim, tv = _inputs(B=3, T=6)
    with torch.no_grad():
        whole = m(stim, tv).embedding
        alone = m(stim[:1], tv[:1]).embedding
    assert torch.allclose(whole[:1], alone, atol=1e-6)


def test_avgpool_readout_pools_before_projecting_and_equals_the_reference_order():
    """Without an activation the 1x1 conv commutes with the mean over positions: the cheap order (pool first)
    must give the reference design's numbers (project, then pool); with a ReLU between them it must not pool
    first."""
    import torch

    from wmnb.models import AvgPoolReadout, ModelConfig

    torch.manual_seed(0)
    maps = torch.randn(5, 40, 7, 7)
    lin = AvgPoolReadout(40, ModelConfig(core="gru", readout="avgpool", embedding_dim=16))
    ref = lin.proj(maps).mean(dim=(2, 3))
    assert torch.allclose(lin.image_part(maps), ref, atol=1e-5)
    relu = AvgPoolReadout(40, ModelConfig(core="gru", readout="avgpool", embedding_dim=16,
                                          projection_activation="relu"))
    assert torch.allclose(relu.image_part(maps), torch.relu(relu.proj(maps)).mean(dim=(2, 3)))
    assert not torch.allclose(relu.image_part(maps), torch.relu(relu.proj(maps.mean(dim=(2, 3), keepdim=True)))
                              .flatten(1), atol=1e-3)


def test_the_linear_avgpool_model_reads_the_pooled_table_and_gives_the_full_maps_answer():
    """The pooled copy of the frozen table is an optimisation only: the embedding equals projecting the full
    gathered maps and pooling them."""
    import torch

    from wmnb.models import ModelConfig, WMModel

    torch.manual_seed(0)
    feats = torch.randn(12, 24, 7, 7)
    m = WMModel(ModelConfig(core="gru", readout="avgpool", hidden_size=16, pca_channels=None), feats)
    assert m.pooled_table.shape == (12, 24, 1, 1)
    stim = torch.tensor([[0, 3, 3, 11]])
    ref = m.readout.proj(m.table[stim.reshape(-1)].float()).mean(dim=(2, 3)).reshape(1, 4, -1)
    assert torch.allclose(m._image_part(stim), ref, atol=1e-5)
    spatial = WMModel(ModelConfig(core="gru", hidden_size=16, pca_channels=8), feats)
    assert spatial.pooled_table is None

"""Training throughput: cached features vs running the frozen EfficientNet on every image of every step.

Both pipelines train the same downstream model (wmnb.models.WMModel with the quick profile's model:
fixed channel PCA, spatial readout, GRU, readout) with the same optimizer, on the same freshly sampled MTMF batches. The cached pipeline
looks each image's feature map up in the table computed once per image (wmnb.perception.FeatureBank);
the naive pipeline (what the reference re-implementation does) runs EfficientNet-Lite0 on the B x 6
images of each step and feeds the fresh maps (through the same fixed channel PCA) to the same model.

    .venv/bin/python benchmarks/bench_training.py [--source debian|procedural] [--batch 16]
        [--cached-steps 40] [--naive-steps 3] [--big-batch 256] [--threads 1]

Prints sequences/s of each and the ratio (target >= 200x at equal batch size). Figures depend on the
machine and its load (printed).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from wmnb.errors import AssetError
from wmnb.models import ModelConfig, WMModel
from wmnb.perception import compute_feature_bank, load_backbone
from wmnb.stimuli import StimulusConfig, build_stimulus_set
from wmnb.tasks import TrialStream
from wmnb.training import masked_loss


def _stimuli(source, cache_dir):
    try:
        return build_stimulus_set(StimulusConfig(source=source), cache_dir=cache_dir, progress=False)
    except AssetError as err:
        print(f"source {source!r} unavailable ({err}); using 'procedural'")
        return build_stimulus_set(StimulusConfig(source="procedural"), cache_dir=cache_dir, progress=False)


def _train_steps(model, opt, stream, rng, batch, steps, lookup):
    t = time.perf_counter()
    for _ in range(steps):
        b = stream.sample_batch(rng, batch)
        x = lookup(b.stimuli)
        out = model(x, torch.as_tensor(b.task_vector))
        loss = masked_loss(out.logits, torch.as_tensor(b.targets), torch.as_tensor(b.executive), 0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="debian")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--big-batch", type=int, default=256)
    ap.add_argument("--cached-steps", type=int, default=40)
    ap.add_argument("--naive-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (1 is much faster on a contended machine)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    stim = _stimuli(a.source, a.cache_dir)
    bank = compute_feature_bank(stim, cache_dir=a.cache_dir, progress=False)
    train_pool = stim.pool("train")
    stream = TrialStream(stim, train_pool, "MTMF", split="train")
    from wmnb.config import TRAINING as PROFILES
    cfg = ModelConfig(**{**PROFILES["quick"]["model"], "core": "gru"})
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()}, images {len(stim.meta)}, source {stim.config.source}")

    # cached pipeline
    model = WMModel(cfg, bank.maps, fit_indices=train_pool)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    _train_steps(model, opt, stream, rng, a.batch, 3, torch.as_tensor)  # warm-up
    cached = _train_steps(model, opt, stream, rng, a.batch, a.cached_steps, torch.as_tensor)
    cached_big = _train_steps(model, opt, stream, rng, a.big_batch, max(5, a.cached_steps // 4),
                              torch.as_tensor)

    # naive pipeline: same model; its table is replaced each step by the fresh maps of the batch's images
    backbone = load_backbone("efficientnet_lite0", device="cpu")
    mean, comps = model.pca_mean, model.pca_components

    def naive_lookup(stimuli):
        flat = stimuli.reshape(-1)
        maps = backbone(stim.images[flat])  # (B*T, 1280, 7, 7): the CNN on every image of the step
        reduced = ((maps.permute(0, 2, 3, 1) - mean) @ comps).permute(0, 3, 1, 2).contiguous()
        model.table = reduced
        model.n_images = len(flat)
        return torch.arange(len(flat)).reshape(stimuli.shape)

    naive = _train_steps(model, opt, stream, rng, a.batch, a.naive_steps, naive_lookup)
    print(f"cached features, batch {a.batch}: {cached:9.1f} sequences/s")
    print(f"cached features, batch {a.big_batch}: {cached_big:9.1f} sequences/s")
    print(f"naive (EfficientNet every step), batch {a.batch}: {naive:9.2f} sequences/s")
    print(f"ratio at equal batch size ({a.batch}): {cached / naive:8.0f}x   (target >= 200x)")
    print(f"ratio at each pipeline's batch ({a.big_batch} vs {a.batch}): {cached_big / naive:8.0f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

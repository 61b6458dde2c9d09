"""Feature extraction throughput per backbone on this machine, and feature-bank sizes.

Prints images/s of each available backbone (batch 32, 224x224 input, after one warm-up batch) and the size
of a feature bank (float16 maps + float32 pooled vectors) for the default stimulus set (4 categories x 12
identities x 4 angles x 4 locations = 768 images). Synthetic images are used, so no assets are needed and
nothing is cached.

    python benchmarks/bench_features.py [--images 64] [--batch 32] [--backbones efficientnet_lite0 random]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from wmnb import perception


def synthetic_images(n: int, size: int = 224, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size, 3), dtype=np.uint8)
    h = size // 2
    for i in range(n):
        q = i % 4
        r, c = (q // 2) * h, (q % 2) * h
        images[i, r + h // 4:r + 3 * h // 4, c + h // 4:c + 3 * h // 4] = rng.integers(30, 255, 3)
    return images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64, help="images timed per backbone")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bank-images", type=int, default=768, help="images of the bank whose size is printed")
    ap.add_argument("--backbones", nargs="*", default=None, help="default: every available backbone")
    args = ap.parse_args()
    names = args.backbones or perception.available_backbones()
    device = perception.pick_device()
    images = synthetic_images(args.images)
    print(f"device={device}, torch threads={torch.get_num_threads()}, {args.images} images of 224x224, "
          f"batch {args.batch}")
    print(f"{'backbone':<20}{'load s':>8}{'images/s':>10}{'map':>14}{'bank MB (maps+pooled)':>24}")
    for name in names:
        t0 = time.perf_counter()
        net = perception.load_backbone(name, device)
        if net.spec.calibrate_bn:
            perception.recalibrate_batchnorm(net, images[: min(len(images), 64)])
        load_s = time.perf_counter() - t0
        net(images[:2])  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        perception.extract_maps(net, images, batch_size=args.batch, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = len(images) / (time.perf_counter() - t0)
        c = net.channels
        mb = args.bank_images * (c * 49 * 2 + c * 4) / 2**20
        print(f"{name:<20}{load_s:>8.2f}{rate:>10.1f}{f'{c}x7x7':>14}{mb:>24.1f}")
    print(f"(bank size for {args.bank_images} images; the random backbone's load time includes a BatchNorm "
          f"recalibration pass over {min(len(images), 64)} images)")


if __name__ == "__main__":
    main()

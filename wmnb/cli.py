"""The ``wmnb`` command line: assets, stimuli, features, train, book, sweep.

Heavy imports happen inside each command so ``wmnb --help`` answers instantly.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cache_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="cache root (default: $WMNB_CACHE or ./.wmnb-cache)")


def _stimulus_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="debian", help="mesh source: debian | procedural | shapenet")
    p.add_argument("--identities", type=int, default=None,
                   help="identities per category (K; default: the profile's, 12 at quick)")
    p.add_argument("--image-size", type=int, default=224, help="image side in pixels")
    p.add_argument("--seed", type=int, default=0, help="seed of the procedural meshes")
    p.add_argument("--shapenet-root", type=Path, default=None,
                   help="local ShapeNetCore.v2 folder (with --source shapenet)")


def _stimulus_params(args, profile: str = "quick") -> dict:
    """The stimulus parameters of a command, by their :func:`wmnb.checks.check` names."""
    return dict(source=args.source, shapenet_root=args.shapenet_root, identities_per_category=args.identities,
                image_size=args.image_size, seed=args.seed, profile=profile, cache_dir=args.cache_dir)


def _stimulus_config(p: dict):
    """The StimulusConfig of parameters already validated by :func:`wmnb.checks.check`."""
    from .config import WORLD
    from .stimuli import StimulusConfig

    k = p["identities_per_category"]
    k = WORLD[p["profile"]]["identities_per_category"] if k is None else k
    return StimulusConfig(identities_per_category=k, image_size=p["image_size"], seed=p["seed"],
                          **p["sources"].stimulus_kwargs())


def cmd_assets(args) -> int:
    from .stimuli.debian import fetch_assets

    path = fetch_assets(cache_dir=args.cache_dir)
    print(f"Debian mesh assets ready in {path}")
    return 0


def cmd_stimuli(args) -> int:
    from .checks import check
    from .stimuli import build_stimulus_set

    p = check(**_stimulus_params(args))  # every parameter, before any rendering
    s = build_stimulus_set(_stimulus_config(p), cache_dir=args.cache_dir)
    print(f"stimulus set {s.hash}: {len(s.meta)} images")
    print(s.summary().to_string())
    return 0


def cmd_features(args) -> int:
    from .checks import check
    from .perception import compute_feature_bank
    from .stimuli import build_stimulus_set

    # every parameter (the backbone and device too) before the stimulus set is rendered
    p = check(**_stimulus_params(args), backbone=args.backbone, device=args.device)
    s = build_stimulus_set(_stimulus_config(p), cache_dir=args.cache_dir)
    fb = compute_feature_bank(s, backbone=args.backbone, cache_dir=args.cache_dir, device=args.device)
    print(f"feature bank {fb.key}: maps {tuple(fb.maps.shape)} {fb.maps.dtype}, pooled {tuple(fb.pooled.shape)}")
    return 0


def cmd_train(args) -> int:
    from . import pipeline
    from .checks import check

    # the whole config (world, training, cross-parameter rules) before rendering, features or a run folder
    kw = dict(feature=args.feature, readout=args.readout, attention=args.attention)
    if args.seq_len is not None:
        kw["seq_len"] = args.seq_len
    p = check(**_stimulus_params(args, args.profile), backbone=args.backbone, device=args.device,
              scenario=args.scenario, core=args.core, train_seed=args.train_seed, **kw)
    if args.device:
        kw["device"] = args.device
    w = pipeline.world(source=p["sources"], identities_per_category=args.identities,
                       image_size=args.image_size, seed=args.seed, backbone=args.backbone,
                       profile=args.profile, cache_dir=args.cache_dir, progress=True)
    run = pipeline.trained_run(w, args.scenario, args.core, seed=args.train_seed, cache_dir=args.cache_dir, **kw)
    print(run)
    print(run.metrics.round(3).to_string(index=False))
    return 0


def cmd_book(args) -> int:
    from . import book

    if args.action == "list":
        for r in book.CHAPTERS:
            fresh = "fresh" if book.is_fresh(r, args.profile) else "stale"
            print(f"{r.page:40s} {fresh:6s} {r.source} {r.parameters}")
        return 0
    if args.action == "execute":
        return 1 if book.execute(args.chapters, args.profile, force=args.force, jobs=args.jobs,
                                 train_jobs=args.train_jobs) else 0
    if args.action == "html":
        return book.build_html()
    if args.action == "nbval":
        for path in book.refresh_nbval():
            print(f"wrote {path.relative_to(book.ROOT)}")
        return 0
    if args.action == "check":
        return book.check()
    if args.action == "colab":
        from .book.colab import write_all

        for path in write_all():
            print(f"wrote {path.relative_to(book.ROOT)}")
        return 0
    return book.build(args.chapters, args.profile, force=args.force, jobs=args.jobs, train_jobs=args.train_jobs)


def cmd_sweep(args) -> int:
    from .book import sweep

    items = sweep.plan(args.profile, args.chapters or None, cache_dir=args.cache_dir, progress=True)
    if args.action == "plan":
        table = sweep.plan_table(items)
        print(table.to_string(index=False) if len(table) else "the selected chapters train no model")
        n_cached = int((table.cached == "yes").sum())
        print(f"{len(items)} runs at profile {args.profile}: {n_cached} cached, {len(items) - n_cached} to train")
        return 0
    slurm = dict(partition=args.partition, gpus_per_node=args.gpus_per_node, mem_gb=args.mem,
                 cpus_per_task=args.cpus_per_task, account=args.account, qos=args.qos, setup=args.setup or ())
    if args.dry_run:
        todo = [it for it in items if it.status == "missing"]
        if args.executor != "slurm":
            print(sweep.plan_table(todo).to_string(index=False))
            return 0
        if not todo:
            print("nothing to train: every planned run is cached or being trained")
            return 0
        from .cache import default_cache_dir

        folder = args.folder or (args.cache_dir or default_cache_dir()) / "sweeps" / "<time stamp>"
        print(sweep.sbatch_text(len(todo), folder,
                                workers=args.workers or 8, time=args.time, **slurm))
        return 0
    kw = dict(slurm) if args.executor == "slurm" else {}
    result = sweep.run(items, executor=args.executor, workers=args.workers, cache_dir=args.cache_dir,
                       folder=args.folder, wait=not args.no_wait, include_running=args.include_running,
                       time=args.time, **kw)
    if args.executor == "slurm" and args.no_wait:
        return 0
    print(f"sweep: {len(result.done)} trained or found finished, {len(result.failed)} failed"
          + ("; run the same command again to retry what failed" if result.failed else ""))
    return 0 if result.ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wmnb",
        description="Working memory of naturalistic objects in RNNs: stimuli, features, training and the book.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("assets", help="fetch the Debian mesh packages (apt-get download + dpkg-deb -x)")
    _cache_arg(a)
    a.set_defaults(func=cmd_assets)

    s = sub.add_parser("stimuli", help="render (or load from cache) a stimulus set and print its splits")
    _stimulus_args(s)
    _cache_arg(s)
    s.set_defaults(func=cmd_stimuli)

    f = sub.add_parser("features", help="compute (or load) the frozen CNN's features, once per image")
    _stimulus_args(f)
    f.add_argument("--backbone", default="efficientnet_lite0", help="efficientnet_lite0 | resnet50 | random")
    f.add_argument("--device", default=None, help="cpu | cuda (default: cuda when available)")
    _cache_arg(f)
    f.set_defaults(func=cmd_features)

    t = sub.add_parser("train", help="train (or fetch from the run cache) one scenario and print its metrics")
    _stimulus_args(t)
    t.add_argument("--backbone", default="efficientnet_lite0")
    t.add_argument("--scenario", default="MTMF", help="STSF | STMF | MTMF")
    t.add_argument("--feature", default=None, help="task feature of STSF (location | identity | category)")
    t.add_argument("--core", default="gru", help="rnn | gru | lstm")
    t.add_argument("--readout", default="spatial", help="spatial | avgpool | attention")
    t.add_argument("--attention", default="none", help="none | task | dual (with --readout attention)")
    t.add_argument("--profile", default="quick", help="smoke | quick | paper")
    t.add_argument("--train-seed", type=int, default=0)
    t.add_argument("--seq-len", type=int, default=None, help="N-back sequence length (default 6)")
    t.add_argument("--device", default=None)
    _cache_arg(t)
    t.set_defaults(func=cmd_train)

    b = sub.add_parser("book", help="execute the chapters with papermill and build the HTML book")
    b.add_argument("action", nargs="?", default="build", choices=["build", "execute", "html", "list", "colab", "check", "nbval"],
                   help="build (execute stale chapters, then HTML) | execute | html | list | "
                        "colab (regenerate notebooks/*.ipynb for Colab) | "
                        "check (smoke-profile build opened page by page in headless Chromium) | "
                        "nbval (re-execute the nbval reference notebooks after a deliberate change)")
    b.add_argument("chapters", nargs="*", help="page name prefixes, e.g. 01 04_behaviour (default: all)")
    b.add_argument("--profile", default="quick", help="smoke | quick | paper")
    b.add_argument("--force", action="store_true", help="re-execute even when inputs are unchanged")
    b.add_argument("--jobs", type=int, default=None,
                   help="chapters executing at a time (default: one per CPU core, at most 2); with more than 1, "
                        "the runs the stale chapters need are trained first (--train-jobs at a time)")
    b.add_argument("--train-jobs", type=int, default=1,
                   help="training runs at a time before the chapters (default 1: on 2 cores one run on both is "
                        "faster than two runs on one core each)")
    b.set_defaults(func=cmd_book)

    w = sub.add_parser("sweep", help="plan every training run of the book, and train the missing ones in parallel "
                                     "(local processes or a SLURM job array, via submitit)")
    w.add_argument("action", choices=["plan", "run"],
                   help="plan (list the runs, their keys and whether each is cached) | run (train the missing ones; "
                        "run it again to resume what is missing or failed)")
    w.add_argument("--profile", default="quick", help="smoke | quick | paper")
    w.add_argument("--chapters", nargs="*", default=None, help="page name prefixes, e.g. 05 06_cross_task__all "
                                                                "(default: all)")
    w.add_argument("--executor", default="local", choices=["local", "slurm", "debug"],
                   help="local worker processes (default) | slurm job array | debug (in-process, sequential)")
    w.add_argument("--workers", type=int, default=None,
                   help="runs at a time (local: default one per GPU, else 1; slurm: array parallelism, default 8)")
    w.add_argument("--time", default="24:00:00", help="time limit per run: minutes or H:MM:SS (local and slurm)")
    w.add_argument("--partition", default=None, help="SLURM partition")
    w.add_argument("--gpus-per-node", type=int, default=1, help="GPUs per SLURM array task (a run uses one)")
    w.add_argument("--mem", type=float, default=None, help="memory per SLURM array task, in GB")
    w.add_argument("--cpus-per-task", type=int, default=4, help="CPU cores per SLURM array task")
    w.add_argument("--account", default=None, help="SLURM account")
    w.add_argument("--qos", default=None, help="SLURM QOS")
    w.add_argument("--setup", action="append", default=None,
                   help="shell line run before each SLURM task, e.g. 'module load cuda' (repeatable)")
    w.add_argument("--folder", type=Path, default=None,
                   help="submitit logs and pickles (default <cache>/sweeps/<time stamp>; on a shared filesystem "
                        "for slurm)")
    w.add_argument("--no-wait", action="store_true", help="slurm: print the job ids and return without waiting")
    w.add_argument("--include-running", action="store_true",
                   help="also submit runs another process is training (they wait for it, then load)")
    w.add_argument("--dry-run", action="store_true",
                   help="print what would be submitted (slurm: the sbatch script) and submit nothing")
    _cache_arg(w)
    w.set_defaults(func=cmd_sweep)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import AssetError, ConfigError, TrainingError

    try:
        return int(args.func(args) or 0)
    except (ConfigError, AssetError) as exc:
        print(f"wmnb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TrainingError as exc:
        print(f"wmnb {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

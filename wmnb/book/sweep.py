"""Sweeps: every training run the book needs, planned from the chapters and run in parallel with submitit.

>>> items = plan("paper")                       # the chapters' runs, one per cache key, with cached yes/no
>>> print(plan_table(items).to_string())
>>> result = run(items, executor="local", workers=2)   # trains the missing ones, one process each

:func:`plan` reads the selected chapter runs of :data:`wmnb.book.CHAPTERS`, turns each one's declared
parameters into the training runs it asks for (:func:`wmnb.book.chapters.runs_of`: the ``needs`` of the
experiments the chapter reads), computes every run's cache key on its stimulus world (the profile's, changed by
the run's arm: :func:`wmnb.pipeline.world_for`; :func:`wmnb.training.run_key`) and says whether it is cached,
being trained (its writer lock is held: :func:`wmnb.cache.lock_owner`) or missing.

:func:`run` submits the missing runs through submitit: ``local`` (worker processes on this machine, at most
``workers`` at a time, one GPU each when GPUs are present), ``slurm`` (one job array, ``workers`` at a time,
with the user's partition / time / GPU / memory options) or ``debug`` (submitit's in-process executor, for
debugging). Each job calls :func:`train_one`, i.e. one :func:`wmnb.training.train`, whose run lock makes a
run trained at most once even when two sweeps (or a sweep and a chapter) overlap, and whose manifest-last,
atomic writes and verified resume checkpoints make a killed worker's run read as missing and resume where it
stopped on the next call. A second :func:`run` therefore trains exactly what is still missing or failed.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Sequence

from .. import params, pipeline
from ..cache import CacheEntry, default_cache_dir, lock_owner
from ..config import check_profile
from ..errors import ConfigError, check_choice, check_int
from ..progress import progress_bar
from ..runs import RunSpec
from ..training import run_key, train
from .chapters import chapter_parameters, runs_of, select

__all__ = ["PlannedRun", "SweepResult", "EXECUTORS", "plan", "plan_table", "train_one", "run", "make_executor",
           "slurm_parameters", "sbatch_text", "parse_time", "local_gpu_parameters", "refresh"]

EXECUTORS = ("local", "slurm", "debug")


@dataclass(frozen=True)
class PlannedRun:
    """One training run of the plan (picklable: it is what a worker receives).

    ``spec``: the run (:class:`wmnb.runs.RunSpec`); ``pages``: the chapter pages asking for it; ``status``:
    "cached" | "running" (another process holds its lock) | "missing"; ``overrides``: extra
    :class:`wmnb.training.TrainConfig` fields (tests; none in a plan made from the chapters).
    """

    key: str
    profile: str
    spec: RunSpec
    source: str = "debian"
    shapenet_root: Optional[str] = None
    pages: tuple[str, ...] = ()
    status: str = "missing"
    overrides: tuple = ()

    @property
    def cached(self) -> bool:
        return self.status == "cached"

    def train_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`wmnb.runs.train_config` (with ``profile``)."""
        return {**self.spec.train_kwargs(), "profile": self.profile, **dict(self.overrides)}

    def label(self) -> str:
        return self.spec.label()


@dataclass
class SweepResult:
    """What :func:`run` did: keys trained (or found finished), failures (key -> message), job ids."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    submitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------------------
def _world(source: str, shapenet_root, profile: str, cache_dir, progress: bool = False):
    # memoised per resolved cache root: a book build trains dozens of runs in one process on the same world
    return _world_in(source, shapenet_root, profile, str(Path(cache_dir or default_cache_dir()).resolve()), progress)


@functools.lru_cache(maxsize=2)
def _world_in(source: str, shapenet_root, profile: str, cache_dir: str, progress: bool):
    p = params.check(pipeline.WORLD_PARAMETERS, dict(source=source, shapenet_root=shapenet_root, profile=profile))
    pipeline.check_world(p)
    return pipeline.world(source=p["sources"], profile=profile, cache_dir=cache_dir, progress=progress)


def _status(entry) -> str:
    if entry.complete(verify=False):
        return "cached"
    return "running" if entry.lock_path.exists() and lock_owner(entry) is not None else "missing"


def plan(profile: str = "quick", chapters: Optional[Sequence[str]] = None, *, cache_dir=None,
         progress: bool = False) -> list[PlannedRun]:
    """Every training run the selected chapter runs ask for at ``profile``, one per cache key.

    ``chapters``: page or stem prefixes as for ``wmnb book`` (None: the whole book). The stimulus world of each
    source (and arm) the chapters use is built (or loaded) once, since run keys include its hashes.
    """
    check_profile(profile)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    by_key: dict[str, PlannedRun] = {}
    worlds: dict[tuple, Any] = {}
    for crun in select(list(chapters) if chapters else None):
        specs = runs_of(crun, profile)
        if not specs:
            continue
        p = chapter_parameters(crun, profile)
        src = (p.get("source", "debian"), p.get("shapenet_root"))
        if src not in worlds:
            worlds[src] = _world(src[0], src[1], profile, cache_dir, progress)
        for spec in specs:
            w = pipeline.world_for(worlds[src], spec.arm, progress)
            key = run_key(w.stimuli, w.features, spec.config(profile))
            if key in by_key:
                old = by_key[key]
                if crun.page not in old.pages:
                    by_key[key] = replace(old, pages=old.pages + (crun.page,))
                continue
            by_key[key] = PlannedRun(key, profile, spec, src[0], None if src[1] is None else str(src[1]),
                                     (crun.page,), _status(CacheEntry(root, "runs", key)))
    return list(by_key.values())


def refresh(items: Sequence[PlannedRun], cache_dir=None) -> list[PlannedRun]:
    """The same runs with their status read again from the cache."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return [replace(it, status=_status(CacheEntry(root, "runs", it.key))) for it in items]


def plan_table(items: Sequence[PlannedRun]):
    """A tidy table of a plan: one row per run (chapters: the numbers of the chapters asking for it, scenario,
    core, feature, arm, the arm's changes to the default, seed, key, cached: yes | no | running)."""
    import pandas as pd

    cached = {"cached": "yes", "missing": "no", "running": "running"}
    rows = [dict(chapters=" ".join(dict.fromkeys(pg.split("_")[0] for pg in it.pages)), scenario=it.spec.scenario,
                 core=it.spec.core, feature=it.spec.feature or "", arm=it.spec.arm.name,
                 changes=", ".join(f"{k}={v}" for k, v in it.spec.arm.changes().items()), seed=it.spec.seed,
                 key=it.key, cached=cached.get(it.status, it.status))
            for it in items]
    return pd.DataFrame(rows, columns=["chapters", "scenario", "core", "feature", "arm", "changes", "seed", "key",
                                       "cached"])


# ---------------------------------------------------------------------------------------------------------
# the worker
# ---------------------------------------------------------------------------------------------------------
def train_one(item: PlannedRun, cache_dir: Optional[str] = None, threads: Optional[int] = None) -> dict:
    """Train (or load) one planned run in this process: what each submitit job executes.

    Loads the world from the cache (the submitting process built it), checks that the config's key is the
    planned one (else ConfigError: the plan is stale), then calls :func:`wmnb.training.train`, which uses
    CUDA when present (``device="auto"``). ``threads`` caps torch's CPU threads (not part of the key).
    Returns {key, seconds, device, host, pid}.
    """
    import socket

    t0 = time.time()
    w = pipeline.world_for(_world(item.source, item.shapenet_root, item.profile, cache_dir), item.spec.arm)
    kw = item.train_kwargs()
    if threads is not None:
        kw["threads"] = int(threads)
    cfg = pipeline.train_config(**kw)
    key = run_key(w.stimuli, w.features, cfg)
    if key != item.key:
        raise ConfigError(f"run {item.label()}: its key here is {key}, the plan said {item.key}; the stimulus "
                          f"world or the code changed since the plan was made: plan again")
    r = train(w.stimuli, w.features, cfg, cache_dir=cache_dir, progress=False)
    return dict(key=r.key, seconds=round(time.time() - t0, 1), device=r.info.get("device"),
                host=socket.gethostname(), pid=os.getpid())


# ---------------------------------------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------------------------------------
def parse_time(value) -> int:
    """A time limit in minutes from ``90``, ``"90"``, ``"1:30:00"`` (H:MM:SS) or ``"2-00:00:00"`` (D-HH:MM:SS)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return check_int("time", int(value), low=1)
    text = str(value).strip()
    try:
        days = 0
        if "-" in text:
            d, text = text.split("-", 1)
            days = int(d)
        parts = [int(x) for x in text.split(":")]
        if len(parts) == 1:
            minutes = parts[0]
        elif len(parts) in (2, 3):
            h, m = parts[0], parts[1]
            minutes = h * 60 + m + (1 if len(parts) == 3 and parts[2] > 0 else 0)
        else:
            raise ValueError
    except ValueError:
        raise ConfigError(f"time={value!r} is not allowed; give minutes (90), H:MM:SS (1:30:00) or "
                          f"D-HH:MM:SS (2-00:00:00)") from None
    return check_int("time", days * 1440 + minutes, low=1)


def slurm_parameters(*, workers: int = 8, partition: Optional[str] = None, time="24:00:00",
                     gpus_per_node: int = 1, mem_gb: Optional[float] = None, cpus_per_task: int = 4,
                     account: Optional[str] = None, qos: Optional[str] = None,
                     setup: Sequence[str] = ()) -> dict[str, Any]:
    """The submitit parameters (``executor.update_parameters(**...)``) of a sweep's SLURM job array.

    One run per array task; ``workers`` tasks at a time (``--array=0-(n-1)%workers``); ``gpus_per_node`` GPUs
    each (one run uses one); ``time`` per task; ``setup`` shell lines run before the worker (e.g.
    ``module load cuda``).
    """
    params: dict[str, Any] = dict(name="wmnb-sweep", timeout_min=parse_time(time),
                                  gpus_per_node=check_int("gpus_per_node", gpus_per_node, low=0),
                                  cpus_per_task=check_int("cpus_per_task", cpus_per_task, low=1),
                                  tasks_per_node=1, nodes=1,
                                  slurm_array_parallelism=check_int("workers", workers, low=1))
    if partition:
        params["slurm_partition"] = str(partition)
    if mem_gb is not None:
        params["mem_gb"] = float(mem_gb)
    if account:
        params["slurm_account"] = str(account)
    if qos:
        params["slurm_qos"] = str(qos)
    if setup:
        params["slurm_setup"] = list(setup)
    return params


def make_executor(kind: str, folder, *, preview: bool = False, **slurm):
    """A submitit executor: ``local`` (:class:`submitit.LocalExecutor`), ``debug`` (:class:`submitit.DebugExecutor`,
    in-process) or ``slurm`` (:class:`submitit.AutoExecutor` with :func:`slurm_parameters` ``**slurm``).

    ``preview=True`` (slurm only) builds submitit's SlurmExecutor without requiring ``srun`` on this machine,
    for :func:`sbatch_text`; it cannot submit.
    """
    import submitit

    check_choice("executor", kind, EXECUTORS)
    folder = str(folder)
    if kind == "debug":
        return submitit.DebugExecutor(folder)
    if kind == "local":
        return submitit.LocalExecutor(folder)  # (AutoExecutor would refuse visible_gpus, one GPU per worker)
    params = slurm_parameters(**slurm)
    if not preview:
        ex = submitit.AutoExecutor(folder, cluster="slurm")
        ex.update_parameters(**params)
        return ex
    # the very same AutoExecutor and parameters, built where srun does not exist (it only writes script text)
    slurm_cls = submitit.SlurmExecutor
    had = "affinity" in vars(slurm_cls)
    saved = vars(slurm_cls).get("affinity")
    slurm_cls.affinity = classmethod(lambda cls: 1)
    try:
        ex = submitit.AutoExecutor(folder, cluster="slurm")
    finally:
        if had:
            slurm_cls.affinity = saved
        else:
            del slurm_cls.affinity
    ex.update_parameters(**params)
    return ex


def sbatch_text(n_runs: int, folder, **slurm) -> str:
    """The sbatch script submitit would submit for a job array of ``n_runs`` runs (nothing is submitted)."""
    inner = make_executor("slurm", folder, preview=True, **slurm)._executor  # submitit's SlurmExecutor
    inner.parameters["map_count"] = check_int("n_runs", n_runs, low=1)  # what map_array sets for an array
    try:
        return inner._make_submission_file_text(inner._submitit_command_str, "preview")
    finally:
        inner.parameters.pop("map_count", None)


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 (no torch CUDA runtime: no GPU)
        return 0


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    tail = [ln for ln in text if ln.strip()][-3:]
    return f"{type(exc).__name__}: " + " | ".join(tail)


def run(items: Sequence[PlannedRun], *, executor: str = "local", workers: Optional[int] = None,
        cache_dir=None, folder=None, wait: bool = True, include_running: bool = False, progress: bool = True,
        poll_s: float = 1.0, time="24:00:00", threads: Optional[int] = None, out=None, **slurm) -> SweepResult:
    """Train the runs of ``items`` that are not cached, through submitit.

    Parameters
    ----------
    items : the plan (:func:`plan`); its status is read again first, so a stale plan never retrains a run.
    executor : "local" | "slurm" | "debug".
    workers : runs at a time (local: processes, default one per GPU, else 1; slurm: array parallelism,
        default 8; debug: 1).
    cache_dir : the cache root the workers write (default :func:`wmnb.cache.default_cache_dir`).
    folder : submitit's logs and pickles (default ``<cache>/sweeps/<timestamp>``).
    wait : wait for the jobs and show progress (slurm: False returns after printing the job ids).
    include_running : also submit runs whose lock another process holds (they wait for it, then load).
    time : per-run time limit (minutes or H:MM:SS); local and slurm.
    threads : torch CPU threads per local worker (default: torch's own, i.e. ``$OMP_NUM_THREADS`` when set;
        CPU cores // workers for several CPU workers otherwise).
    **slurm : :func:`slurm_parameters` options (partition, gpus_per_node, mem_gb, cpus_per_task, ...).

    Returns a :class:`SweepResult`; failures are listed there with the worker's error, never raised.
    """
    check_choice("executor", executor, EXECUTORS)
    out = out or sys.stdout
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    items = refresh(items, root)
    todo = [it for it in items if it.status == "missing" or (include_running and it.status == "running")]
    result = SweepResult(skipped=[it.key for it in items if it not in todo])
    n_running = sum(it.status == "running" for it in items if it not in todo)
    print(f"{len(items)} planned runs: {sum(it.cached for it in items)} cached, {n_running} being trained "
          f"elsewhere, {len(todo)} to train", file=out, flush=True)
    if not todo:
        return result
    folder = Path(folder) if folder is not None else root / "sweeps" / time_stamp()
    folder.mkdir(parents=True, exist_ok=True)
    # the world once, here: every worker then loads it from the cache instead of building it concurrently
    for src in dict.fromkeys((it.source, it.shapenet_root, it.profile, it.spec.arm) for it in todo):
        pipeline.world_for(_world(src[0], src[1], src[2], root, progress=progress), src[3], progress)
    gpus = _gpu_count()
    if executor == "slurm":
        n = check_int("workers", workers if workers is not None else 8, low=1)
        return _run_slurm(todo, result, folder, root, n, wait, progress, poll_s, time, out, slurm)
    if executor == "debug":
        n = 1
    else:
        n = check_int("workers", workers if workers is not None else max(gpus, 1), low=1)
    if threads is None and not gpus and n > 1 and not os.environ.get("OMP_NUM_THREADS"):
        threads = max(1, (os.cpu_count() or 1) // n)  # parallel CPU workers share the cores, never fight
    return _run_local(todo, result, executor, folder, root, n, gpus, threads, progress, poll_s, time, out)


def time_stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid()}"


def _bar(total: int, progress: bool, desc: str):
    return progress_bar(total=total, enabled=progress, desc=desc, unit="run")


def _collect(job, it: PlannedRun, result: SweepResult, bar, out) -> None:
    try:
        info = job.result()
        result.done.append(it.key)
        bar.set_postfix_str(f"{it.label()} {info['seconds']:.0f}s on {info['device']}")
    except Exception as exc:  # noqa: BLE001 (a failed run is reported and retried by the next call)
        result.failed[it.key] = _describe(exc)
        print(f"FAILED {it.key} ({it.label()}): {result.failed[it.key]}", file=out, flush=True)
    bar.update(1)


def local_gpu_parameters(gpu: int) -> dict[str, Any]:
    """The LocalExecutor parameters that give one worker the GPU number ``gpu`` alone (CUDA_VISIBLE_DEVICES)."""
    return dict(gpus_per_node=1, visible_gpus=[check_int("gpu", gpu, low=0)])


def _run_local(todo, result, kind, folder, root, workers, gpus, threads, progress, poll_s, time_limit, out):
    ex = make_executor(kind, folder)
    if kind == "local":
        ex.update_parameters(timeout_min=parse_time(time_limit))
    queue = list(todo)
    live: list[tuple[Any, PlannedRun, Optional[int]]] = []
    bar = _bar(len(todo), progress, f"sweep ({kind}, {workers} worker{'s' * (workers > 1)})")
    try:
        while queue or live:
            while queue and len(live) < workers:
                it = queue.pop(0)
                gpu = None
                if kind == "local" and gpus:
                    busy = {g for _, _, g in live}
                    gpu = next(g for g in range(gpus) if g not in busy) if len(busy) < gpus else None
                    if gpu is None:
                        queue.insert(0, it)
                        break
                    ex.update_parameters(**local_gpu_parameters(gpu))
                job = ex.submit(train_one, it, str(root), threads)
                result.submitted += 1
                result.job_ids.append(str(job.job_id))
                if kind == "debug":
                    _collect(job, it, result, bar, out)  # runs in this process, now
                    continue
                live.append((job, it, gpu))
            still = []
            for job, it, gpu in live:
                if job.done():
                    _collect(job, it, result, bar, out)
                else:
                    still.append((job, it, gpu))
            live = still
            if live:
                time.sleep(poll_s)
    except BaseException:
        # Ctrl-C (or any error here) stops the local workers too: submitit's would outlive this process.
        # Their runs keep their verified checkpoints; the next `sweep run` resumes them.
        for job, it, _ in live:
            job.cancel(check=False)
            print(f"cancelled {it.key} ({it.label()}); the next sweep run resumes it", file=out, flush=True)
        raise
    finally:
        bar.close()
    return result


def _run_slurm(todo, result, folder, root, workers, wait, progress, poll_s, time_limit, out, slurm):
    ex = make_executor("slurm", folder, workers=workers, time=time_limit, **slurm)
    jobs = ex.map_array(train_one, todo, [str(root)] * len(todo), [None] * len(todo))
    result.submitted = len(jobs)
    result.job_ids = [str(j.job_id) for j in jobs]
    array = result.job_ids[0].split("_")[0] if result.job_ids else "?"
    print(f"submitted SLURM job array {array} ({len(jobs)} runs, {workers} at a time); logs in {folder}",
          file=out, flush=True)
    for j, it in zip(jobs, todo):
        print(f"  {j.job_id}  {it.key}  {it.label()}", file=out, flush=True)
    if not wait:
        return result
    bar = _bar(len(jobs), progress, f"sweep (slurm array {array})")
    pending = list(zip(jobs, todo))
    try:
        while pending:
            still = []
            for job, it in pending:
                if job.done():
                    _collect(job, it, result, bar, out)
                else:
                    still.append((job, it))
            pending = still
            if pending:
                time.sleep(max(poll_s, 10.0))
    finally:
        bar.close()
    return result

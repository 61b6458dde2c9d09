"""Sweeps: the plan equals what the chapters ask for; local / debug / SLURM executors; cache safety under
concurrent writers and killed workers (real processes, no mocks)."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from wmnb import pipeline
from wmnb.book import CHAPTERS, select, sweep
from wmnb.book.chapters import chapter_parameters, runs_of
from wmnb.cache import CacheEntry, LockBusy, default_cache_dir, entry_lock, lock_owner
from wmnb.errors import ConfigError
from wmnb.training import RUN_LOG_ENV, run_key

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def tmp_cache(tmp_path):
    """A fresh cache root for runs that shares the (read-only here) stimulus world of the default cache."""
    base = default_cache_dir()
    root = tmp_path / "cache"
    root.mkdir()
    for name in ("assets", "stimuli", "features"):
        (base / name).mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to((base / name).resolve(), target_is_directory=True)
    return root


def _item_with(item: sweep.PlannedRun, cache_root: Path, **overrides) -> sweep.PlannedRun:
    """``item`` with TrainConfig overrides (e.g. more steps), its key recomputed the way the worker does."""
    w = pipeline.world(profile=item.profile, cache_dir=cache_root)
    it = replace(item, overrides=tuple(sorted(overrides.items())))
    return replace(it, key=run_key(w.stimuli, w.features, pipeline.train_config(**it.train_kwargs())))


# ---------------------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------------------
def _readouts(specs) -> set:
    return {s.config("smoke").model.readout for s in specs}


def test_chapter_parameters_follow_papermill_order():
    r04 = select(["04_behaviour"])[0]
    p = chapter_parameters(r04, "smoke")
    assert p["profile"] == "smoke" and p["compare_avgpool"] is True and p["readout"] == "spatial"
    all06 = [r for r in select(["06_cross_task"]) if r.variant == "all"][0]
    assert chapter_parameters(all06, "paper")["core"] == "all"  # the run's parameters win
    # the declared parameters drive the plan: without the avgpool comparison its run disappears
    r_no = replace(r04, parameters={"compare_avgpool": False})
    assert _readouts(runs_of(r04, "smoke")) == {"spatial", "avgpool"}
    assert _readouts(runs_of(r_no, "smoke")) == {"spatial"}
    # paper: five seeds, each STSF feature; three cores x five seeds for the "all" variant
    assert len(runs_of(all06, "paper")) == 15
    assert {q.feature for q in runs_of(select(["05"])[0], "paper")} == {None, "location", "identity", "category"}
    # a chapter that trains nothing declares no needs
    assert runs_of(select(["01_stimuli"])[0], "smoke") == []


@pytest.mark.slow
def test_smoke_plan_equals_the_runs_the_chapters_request(tmp_path, monkeypatch):
    """Execute chapters at smoke with the run log on: the keys they request are exactly the plan's, and after
    the build every planned run is cached (the default cache, like the book's own smoke build)."""
    from wmnb.book import execute_run

    chosen = select(["04_behaviour", "05_task_relevance"])
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log))
    for r in chosen:
        execute_run(r, "smoke", out_dir=tmp_path / "root" / "book" / "_executed")
    requested = {e["key"] for e in _events(log) if e["event"] == "request"}
    items = sweep.plan("smoke", [r.page for r in chosen])
    assert requested, "the chapters requested no run: the log is not written"
    assert {it.key for it in items} == requested
    assert all(it.status == "cached" for it in sweep.refresh(items))
    by_page = {r.page: {it.key for it in items if r.page in it.pages} for r in chosen}
    assert by_page["04_behaviour"] != by_page["05_task_relevance"]  # the pages' needs differ (not one list)


# ---------------------------------------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sweep_run_local_two_workers_then_everything_cached(tmp_cache, tmp_path, monkeypatch):
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log))
    items = sweep.plan("smoke", ["04_behaviour"], cache_dir=tmp_cache)
    assert len(items) == 2 and all(it.status == "missing" for it in items)
    out = io.StringIO()
    t0 = time.time()
    res = sweep.run(items, executor="local", workers=2, cache_dir=tmp_cache, folder=tmp_path / "logs",
                    progress=False, out=out, poll_s=0.3, threads=1)
    took = time.time() - t0
    assert res.ok, res.failed
    assert sorted(res.done) == sorted(it.key for it in items) and len(res.job_ids) == 2
    trained = [e for e in _events(log) if e["event"] == "train"]
    assert sorted(e["key"] for e in trained) == sorted(it.key for it in items)  # each once
    assert len({e["pid"] for e in trained}) == 2 and all(e["pid"] != os.getpid() for e in trained)
    again = sweep.plan("smoke", ["04_behaviour"], cache_dir=tmp_cache)
    assert all(it.status == "cached" for it in again)
    res2 = sweep.run(again, executor="local", workers=2, cache_dir=tmp_cache, progress=False, out=out)
    assert res2.submitted == 0 and len(res2.skipped) == 2
    print(f"local sweep of 2 smoke runs with 2 workers: {took:.1f}s")


@pytest.mark.slow
def test_cli_sweep_debug_executor_and_plan(tmp_cache, capsys):
    from wmnb.cli import main

    args = ["--profile", "smoke", "--chapters", "06_cross_task__gru", "--cache-dir", str(tmp_cache)]
    assert main(["sweep", "plan", *args]) == 0
    before = capsys.readouterr().out
    assert "MTMF" in before and " no" in before and "1 runs at profile smoke: 0 cached, 1 to train" in before
    assert main(["sweep", "run", *args, "--executor", "debug"]) == 0
    assert main(["sweep", "plan", *args]) == 0
    after = capsys.readouterr().out.splitlines()
    assert "1 runs at profile smoke: 1 cached, 0 to train" in after[-1]
    with pytest.raises(SystemExit):
        main(["sweep", "run", *args, "--executor", "nope"])


def test_slurm_script_and_no_slurm_here(tmp_path):
    text = sweep.sbatch_text(5, tmp_path / "%j", workers=2, partition="gpu", time="1:30:00", gpus_per_node=1,
                             mem_gb=16, cpus_per_task=6, setup=["module load cuda"])
    lines = text.splitlines()
    for want in ("#SBATCH --array=0-4%2", "#SBATCH --partition=gpu", "#SBATCH --time=90",
                 "#SBATCH --gpus-per-node=1", "#SBATCH --mem=16GB", "#SBATCH --cpus-per-task=6",
                 "#SBATCH --job-name=wmnb-sweep", "module load cuda"):
        assert want in lines, f"{want!r} missing from\n{text}"
    assert any("srun" in ln and "submitit.core._submit" in ln and sys.executable in ln for ln in lines)
    # the preview leaves submitit's own srun detection intact: without SLURM the real executor refuses
    import shutil

    import submitit

    if shutil.which("srun") is None:
        assert submitit.SlurmExecutor.affinity() == -1
        with pytest.raises(RuntimeError):
            sweep.make_executor("slurm", tmp_path / "real", partition="gpu")
    with pytest.raises(ConfigError, match="time="):
        sweep.parse_time("soon")
    assert sweep.parse_time("2-00:00:00") == 2880 and sweep.parse_time(45) == 45
    with pytest.raises(ConfigError, match="executor"):
        sweep.make_executor("pbs", tmp_path)


def test_local_executor_takes_one_gpu_per_worker(tmp_path):
    """The parameters the local loop sets per worker on a GPU machine (no GPU here: CUDA was not run)."""
    ex = sweep.make_executor("local", tmp_path)
    ex.update_parameters(**sweep.local_gpu_parameters(1))
    assert ex.parameters["visible_gpus"] == [1] and ex.parameters["gpus_per_node"] == 1
    with pytest.raises(ConfigError):
        sweep.local_gpu_parameters(-1)


# ---------------------------------------------------------------------------------------------------------
# cache safety: real processes
# ---------------------------------------------------------------------------------------------------------
RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from wmnb import pipeline
    from wmnb.training import train
    cache, ready, me, other = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    w = pipeline.world(profile="smoke", cache_dir=cache)
    cfg = pipeline.train_config("MTMF", "gru", profile="smoke", steps=300, checkpoint_every=50,
                                eval_every=300)
    (ready / me).touch()
    while not (ready / other).exists():   # start together
        time.sleep(0.01)
    r = train(w.stimuli, w.features, cfg, cache_dir=cache, progress=False)
    print("KEY", r.key)
""")


@pytest.mark.slow
def test_two_processes_racing_for_one_entry_train_it_once(tmp_cache, tmp_path):
    ready = tmp_path / "ready"
    ready.mkdir()
    log = tmp_path / "runs.jsonl"
    env = dict(ENV, **{RUN_LOG_ENV: str(log)})
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_cache), str(ready), a, b], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for a, b in (("a", "b"), ("b", "a"))]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    keys = {ln.split()[1] for o in outs for ln in o[0].splitlines() if ln.startswith("KEY")}
    assert len(keys) == 1
    key = keys.pop()
    ev = _events(log)
    assert [e["event"] for e in ev].count("request") == 2
    trains = [e for e in ev if e["event"] == "train"]
    assert len(trains) == 1, ev  # trained once
    waits = [e for e in ev if e["event"] == "wait"]
    # the race really happened: the other process found the lock held by the trainer and waited (the control)
    assert len(waits) == 1 and waits[0]["pid"] != trains[0]["pid"]
    assert waits[0]["owner"] is None or waits[0]["owner"]["pid"] == trains[0]["pid"]
    entry = CacheEntry(tmp_cache, "runs", key)
    assert entry.complete(verify=True)
    assert not list(entry.dir.glob(".*")) and not entry.lock_path.exists()


HOLDER = textwrap.dedent("""
    import sys, time
    from wmnb.cache import CacheEntry, entry_lock
    with entry_lock(CacheEntry(sys.argv[1], "runs", "k")):
        print("LOCKED", flush=True)
        time.sleep(120)
""")


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    entry = CacheEntry(tmp_path, "runs", "k")
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                         env=ENV, cwd=ROOT)
    try:
        assert p.stdout.readline().strip() == "LOCKED"
        with pytest.raises(LockBusy) as busy:
            with entry_lock(entry, wait=False):
                pass
        assert busy.value.owner["pid"] == p.pid
        assert lock_owner(entry)["pid"] == p.pid
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert entry.lock_path.exists()  # the dead holder's file is still there ...
    assert lock_owner(entry) is None  # ... and blocks nobody
    with entry_lock(entry, wait=False):
        pass
    assert not entry.lock_path.exists()


@pytest.mark.slow
def test_killed_local_worker_is_picked_up_by_the_next_run(tmp_cache, tmp_path, monkeypatch):
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log))
    base = sweep.plan("smoke", ["06_cross_task__rnn"], cache_dir=tmp_cache)[0]
    item = _item_with(base, tmp_cache, steps=1000, checkpoint_every=20, eval_every=500)
    entry = CacheEntry(tmp_cache, "runs", item.key)
    box = {}
    th = threading.Thread(target=lambda: box.setdefault("res", sweep.run(
        [item], executor="local", workers=1, cache_dir=tmp_cache, folder=tmp_path / "logs1", progress=False,
        out=io.StringIO(), poll_s=0.2, threads=1)), daemon=True)
    th.start()
    try:
        deadline = time.time() + 180
        while not (entry.path("resume.pt.sha256").exists() and entry.lock_path.exists()):
            assert time.time() < deadline, "the worker never wrote a checkpoint"
            time.sleep(0.05)
        owner = json.loads(entry.lock_path.read_text())
        assert owner["pid"] != os.getpid()
        os.kill(owner["pid"], signal.SIGKILL)  # the training worker itself, mid-training
        th.join(timeout=120)
    finally:
        if th.is_alive() and entry.lock_path.exists():  # never leave a worker behind
            os.kill(json.loads(entry.lock_path.read_text())["pid"], signal.SIGKILL)
    first = box["res"]
    assert item.key in first.failed and not first.done
    assert not entry.complete() and sweep.refresh([item], tmp_cache)[0].status == "missing"
    second = sweep.run([item], executor="local", workers=1, cache_dir=tmp_cache, folder=tmp_path / "logs2",
                       progress=False, out=io.StringIO(), poll_s=0.2, threads=1)
    assert second.ok and second.done == [item.key]
    assert entry.complete(verify=True) and not list(entry.dir.glob("resume*"))
    trains = [e for e in _events(log) if e["key"] == item.key and e["event"] == "train"]
    assert [e["resume"] for e in trains] == [False, True]  # the second worker resumed the killed one's checkpoint


def test_book_training_stage_trains_what_stale_pages_need_once(tmp_cache, tmp_path, monkeypatch):
    """`make book`'s training stage (wmnb.book.pretrain) trains exactly the plan's runs of the pages given, records
    their times, and trains nothing the second time."""
    from wmnb.book import TIMINGS, pretrain

    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv(RUN_LOG_ENV, str(log))
    monkeypatch.setenv("WMNB_CACHE", str(tmp_cache))
    out_dir = tmp_path / "book" / "_executed"
    out_dir.mkdir(parents=True)
    pages = select(["04_behaviour"])
    pretrain(pages, "smoke", out_dir)
    planned = sorted(it.key for it in sweep.plan("smoke", ["04_behaviour"], cache_dir=tmp_cache))
    trained = sorted(e["key"] for e in _events(log) if e["event"] == "train")
    assert trained == planned and len(planned) == 2
    stage = json.loads((out_dir / TIMINGS).read_text())["_training"]
    assert stage["jobs"] == 1 and len(stage["runs"]) == 2 and all(s > 0 for s in stage["runs"].values())
    pretrain(pages, "smoke", out_dir)
    assert sorted(e["key"] for e in _events(log) if e["event"] == "train") == planned  # nothing retrained

"""`make bench`'s classroom figures: one learner's memory, how many learners this machine holds, and many
learners' `make lab` at once.

    python -m lab_helpers.tools.classroom_bench              # this part only, printed, into build/bench-classroom.json
    python -m lab_helpers.tools.classroom_bench --learners 3 # fewer learners at once (quick iteration)

- memory: on a fresh local cloud of its own, the module's notebooks 00-05 run headless (`run_lab.run`), then
  every process of that cloud (the cloud server, MariaDB, each RDS Proxy process, each Lambda execution
  environment: `proc_samples.cloud_processes`, and anything else `local.lab_processes` counts as the cloud's) read from
  /proc/<pid>/smaps_rollup: resident (RSS) and proportional (PSS: shared pages divided among their users) memory.
  The learner's JupyterLab and kernels are not counted (papermill's kernels are gone by then);
- how many learners: this machine's MemAvailable (read with that cloud still up) divided by one learner's PSS,
  plus the learner measured;
- at once: `learners` (8, or fewer when the machine holds fewer) `python -m lab_helpers.tools.run_lab` of the same
  notebooks started together, as `make lab` starts it, each with a state folder of its own (LAB_STATE_DIR) and
  default ports (no LAB_LOCAL_PORT: each cloud finds its own), in a copy of the checkout of its own (as each
  learner has; run_lab's kernels keep their sockets in the notebooks' folder); each run's exit code, wall time
  and port, the failures, and the lowest MemAvailable seen while they ran.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import local
from ..core import paths
from . import proc_samples, run_lab

MODULE3 = ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy", "04_lambda_update",
           "05_test"]
LEARNERS = 8
CHECKOUT_PARTS = ("lab_helpers", "handler", "notebooks", "pyproject.toml", "Makefile", "README.md")
RUN_TIMEOUT_S = 1800.0
SAMPLE_EVERY_S = 0.5
OUT = paths.build_dir() / "bench-classroom.json"
LOGS = paths.build_dir() / "bench" / "classroom"


# ---------------------------------------------------------------- memory

def mem_available_kb(meminfo: Path = Path("/proc/meminfo")) -> int:
    """The kernel's estimate of memory available for new work without swapping (kB)."""
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    raise RuntimeError(f"{meminfo} has no MemAvailable line")


def kind(label: str) -> str:
    """What a labelled process is, for the per-kind sums."""
    for prefix, name in (("cloud server", "cloud server"), ("MariaDB", "MariaDB"), ("RDS Proxy", "RDS Proxy"),
                         ("Lambda", "Lambda environments")):
        if label.startswith(prefix):
            return name
    return "other"


def cloud_memory(info: dict[str, Any], health: dict[str, Any], root: Path) -> dict[str, Any]:
    """RSS and PSS of every process of one running cloud: each process, sums per kind, and the total."""
    pids = proc_samples.cloud_processes(info, health)
    known = set(pids.values())
    for pid in local.lab_processes(root):  # whatever else of the state folder runs
        if pid not in known:
            pids[f"other pid {pid}"] = pid
    processes: dict[str, dict[str, int]] = {}
    for label, pid in pids.items():
        sample = local.process_memory(pid)
        if sample is not None and sample["pss_kb"] is not None:  # gone, or (not this user's) without its PSS
            processes[label] = {"pid": pid, "rss_kb": sample["rss_kb"], "pss_kb": sample["pss_kb"]}
    kinds: dict[str, dict[str, int]] = {}
    for label, figures in processes.items():
        row = kinds.setdefault(kind(label), {"processes": 0, "rss_kb": 0, "pss_kb": 0})
        row["processes"] += 1
        row["rss_kb"] += figures["rss_kb"]
        row["pss_kb"] += figures["pss_kb"]
    return {"processes": processes, "kinds": kinds,
            "rss_kb": sum(s["rss_kb"] for s in processes.values()),
            "pss_kb": sum(s["pss_kb"] for s in processes.values())}


def learner_memory(notebooks: list[str] = MODULE3, echo: Callable[..., None] = print) -> dict[str, Any]:
    """One learner's whole cloud after the notebooks, and how many such learners this machine's memory holds."""
    with local.fresh("lab-bench-learner-", export=True) as info:
        run_lab.run(notebooks, paths.build_dir() / "bench" / "learner", echo=lambda *a, **k: None)
        root = Path(info["root"])
        health = local.health_at(info["endpoint"], timeout=10).raw
        memory = cloud_memory(info, health, root)
        available = mem_available_kb()
    per_learner = memory["pss_kb"]
    fit = 1 + available // per_learner if per_learner else None
    echo(f"one learner's cloud after {notebooks[-1]}: {len(memory['processes'])} processes, "
         f"PSS {per_learner / 1024:.0f} MB (RSS {memory['rss_kb'] / 1024:.0f} MB); MemAvailable "
         f"{available / 1024:.0f} MB: this machine holds {fit} learners")
    return {"notebooks": notebooks, **memory, "mem_available_kb": available, "learners_fit": fit}


# ---------------------------------------------------------------- many learners at once

PORT_LINE = re.compile(r"local cloud at http://127\.0\.0\.1:(\d+)")


def learner_env(state_dir: Path) -> dict[str, str]:
    """A learner's environment: a state folder of their own, no port given, no cloud of this process's."""
    env = {k: v for k, v in os.environ.items() if k not in local.EXPORTED}
    env["LAB_STATE_DIR"] = str(state_dir)
    return env


def copy_checkout(target: Path) -> Path:
    """What a learner's checkout needs to run the lab (the package, the handlers, the notebooks), copied to
    `target`; run with PYTHONPATH=target, its lab_helpers is the copy's, and its state and build/ are its own."""
    if paths.CHECKOUT is None:
        raise FileNotFoundError("the learners' runs need the lesson's notebooks: run this from a checkout.")
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for name in CHECKOUT_PARTS:
        source = paths.CHECKOUT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, target / name)
    return target


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def at_once(learners: int, notebooks: list[str] = MODULE3, logs: Path = LOGS,
            echo: Callable[..., None] = print) -> dict[str, Any]:
    """`learners` runs of `python -m lab_helpers.tools.run_lab <notebooks>` started together, each its own learner."""
    logs.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="lab-bench-classroom-"))
    runs: list[dict[str, Any]] = [{} for _ in range(learners)]
    lowest = [mem_available_kb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_EVERY_S):
            lowest[0] = min(lowest[0], mem_available_kb())

    def learner(n: int, barrier: threading.Barrier) -> None:
        folder, log = base / f"learner{n + 1}", logs / f"learner{n + 1}.log"
        # a checkout of its own, as each learner has: run_lab's kernels put their IPC sockets (kernel-ipc-N) in
        # the notebooks' folder, and two runs in one checkout mix them up ("Invalid Signature")
        checkout = base / f"checkout{n + 1}"
        copy_checkout(checkout)
        env = {**learner_env(folder), "PYTHONPATH": str(checkout)}
        cmd = [sys.executable, "-m", "lab_helpers.tools.run_lab", "--out", str(base / f"out{n + 1}"), *notebooks]
        barrier.wait()
        started = time.perf_counter()
        try:
            done = subprocess.run(cmd, env=env, cwd=checkout, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            code, out = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as e:  # its output may come as bytes
            code, out = None, _text(e.stdout) + _text(e.stderr) + f"\ntimed out after {RUN_TIMEOUT_S:.0f} s"
        wall = time.perf_counter() - started
        log.write_text(out)
        port = PORT_LINE.search(out)
        ok = code == 0 and f"all {len(notebooks)} notebooks ran" in out
        error = next((line for line in out.splitlines() if line.startswith("error:")), None) if not ok else None
        runs[n] = {"learner": n + 1, "exit_code": code, "ok": ok, "wall_s": round(wall, 1),
                   "port": int(port.group(1)) if port else None, "error": error, "log": paths.shown(log)}
        local.down(folder)  # whatever a failed run left
        if not ok and (folder / "cloud.log").is_file():  # its cloud's side of the story, kept with the run's log
            shutil.copy2(folder / "cloud.log", logs / f"learner{n + 1}-cloud.log")

    barrier = threading.Barrier(learners)
    sampler = threading.Thread(target=sample, daemon=True)
    threads = [threading.Thread(target=learner, args=(n, barrier)) for n in range(learners)]
    started = time.perf_counter()
    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    wall = time.perf_counter() - started
    shutil.rmtree(base, ignore_errors=True)
    walls = [r["wall_s"] for r in runs]
    ports = [r["port"] for r in runs if r["port"]]
    result: dict[str, Any] = {"learners": learners, "notebooks": notebooks, "failures": sum(not r["ok"] for r in runs),
              "wall_s": round(wall, 1), "run_wall_s": {"min": min(walls), "median": statistics.median(walls),
                                                       "max": max(walls)},
              "distinct_ports": len(set(ports)), "default_port_used": local.DEFAULT_PORT in ports,
              "mem_available_min_kb": lowest[0], "runs": runs}
    echo(f"{learners} learners at once: {learners - result['failures']} ok, {result['failures']} failed; "
         f"runs {min(walls):.0f}-{max(walls):.0f} s (median {statistics.median(walls):.0f} s), "
         f"{result['distinct_ports']} ports")
    return result


def classroom(learners: int = LEARNERS, notebooks: list[str] = MODULE3,
              echo: Callable[..., None] = print) -> dict[str, Any]:
    """One learner's memory, then `learners` at once (fewer when the machine's memory holds fewer)."""
    memory = learner_memory(notebooks, echo=echo)
    held = memory["learners_fit"] or learners
    return {"learner_memory": memory, "at_once": at_once(min(learners, held), notebooks, echo=echo),
            "learners_asked": learners}


# ---------------------------------------------------------------- report

def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def table_rows(part: dict[str, Any]) -> list[tuple[str, str]]:
    memory, runs = part["learner_memory"], part["at_once"]
    rows = [("one learner's cloud after 00-05 (PSS / RSS)",
             f"{_mb(memory['pss_kb'])} / {_mb(memory['rss_kb'])} in {len(memory['processes'])} processes")]
    for name, row in sorted(memory["kinds"].items()):
        rows.append((f"  {name} ({row['processes']})", f"PSS {_mb(row['pss_kb'])}, RSS {_mb(row['rss_kb'])}"))
    rows.append(("learners this machine's memory holds", f"{memory['learners_fit']} "
                                                         f"(MemAvailable {_mb(memory['mem_available_kb'])})"))
    wall = runs["run_wall_s"]
    rows.append((f"{runs['learners']} learners' make lab at once", f"{runs['failures']} failures, each "
                                                                   f"{wall['min']:.0f}-{wall['max']:.0f} s "
                                                                   f"(median {wall['median']:.0f} s), "
                                                                   f"all in {runs['wall_s']:.0f} s"))
    rows.append(("  their ports / lowest MemAvailable",
                 f"{runs['distinct_ports']} distinct / {_mb(runs['mem_available_min_kb'])}"))
    return rows


def targets(part: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    runs = part["at_once"]
    asked = part["learners_asked"]
    return [
        (f"{asked} learners' make lab at once (or as many as the memory holds): 0 failures",
         f"{runs['learners']} learners, {runs['failures']} failures", runs["failures"] == 0),
        ("each learner's cloud on a port of its own", f"{runs['distinct_ports']} ports for {runs['learners']}",
         runs["distinct_ports"] == runs["learners"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.tools.classroom_bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=LEARNERS, help="learners' runs at once")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    def echo(*parts: object, **kwargs: Any) -> None:
        kwargs.setdefault("flush", True)
        print(*parts, **kwargs)

    part = classroom(args.learners, echo=echo)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(part, indent=1, ensure_ascii=False) + "\n")
    print()
    for label, value in table_rows(part):
        print(f"  {label:<44} {value}")
    for name, value, met in targets(part):
        print(f"  [{'met' if met else 'NOT MET':>7}] {name}: {value}")
    print(f"\nwrote {paths.shown(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

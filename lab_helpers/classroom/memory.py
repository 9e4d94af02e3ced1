"""How much memory one learner takes, to size a class's server (The Littlest JupyterHub) or pods (Zero to JupyterHub).

`python -m lab_helpers.classroom.memory` runs the lesson 00-05 headless (`run_lab`) on a fresh local cloud
(`local.fresh`), then adds up the resident memory of every process of that cloud: its server (moto and the
providers), MariaDB, each RDS Proxy process and each Lambda execution environment, which stay up (warm) as they
do for a learner. Then a Jupyter kernel runs every code cell of 00-05 against the same cloud, as a learner's
kernel does, and a JupyterLab server is started and asked for its page; each is measured the same way.

RSS counts shared pages (Python's libraries, MariaDB's binary) once per process, so the sum of RSS overstates
what N learners need on one machine; PSS (proportional set size, /proc/PID/smaps_rollup) divides each shared page
among the processes that map it, so the sum of PSS is this learner's share. Both are printed, in MiB.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from .. import local
from ..core import paths
from ..local import HOST, free_port

LESSON = ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy", "04_lambda_update", "05_test"]


class Memory(TypedDict):
    rss_mib: float
    pss_mib: float | None  # None where it cannot be read (another user's process, without root)


def memory(pid: int) -> Memory:
    """RSS and PSS of one process (`local.process_memory`), in MiB; PSS is None where it cannot be read (another
    user's process, without root). ProcessLookupError when the process is gone."""
    found = local.process_memory(pid)
    if found is None:
        raise ProcessLookupError(pid)
    pss = found["pss_kb"]
    return {"rss_mib": found["rss_kb"] / 1024, "pss_mib": None if pss is None else pss / 1024}


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (by parent PID)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(local.process_status(int(entry.name))["PPid"])
            except (OSError, KeyError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def _kind(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    text = " ".join(a.decode(errors="replace") for a in args[:4])
    if "mariadbd" in text or "mysqld" in text:
        return "MariaDB"
    if "proxy" in text:
        return "RDS Proxy"
    if "serve" in text and "lab_helpers.local" in text:
        return "cloud server (moto, providers)"
    return "Lambda environments" if "bootstrap" in text or "awslambdaric" in text else "other: " + text[:60]


def by_kind(pids: list[int]) -> dict[str, dict[str, float]]:
    """Processes added up by what they are: count, RSS and PSS (MiB)."""
    out: dict[str, dict[str, float]] = {}
    for pid in pids:
        try:
            kind, mem = _kind(pid), memory(pid)
        except (OSError, KeyError):
            continue  # gone meanwhile
        row = out.setdefault(kind, {"processes": 0, "rss_mib": 0.0, "pss_mib": 0.0})
        row["processes"] += 1
        row["rss_mib"] += mem["rss_mib"]
        row["pss_mib"] += mem["pss_mib"] or 0.0
    return out


def kernel_after_lesson() -> Memory:
    """A Jupyter kernel (this Python's ipykernel) that ran every code cell of 00-05 against the exported cloud."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(paths.notebooks_dir()))
    try:
        for name in LESSON:
            cells = json.loads((paths.notebooks_dir() / f"{name}.ipynb").read_text())["cells"]
            for cell in cells:
                if cell["cell_type"] == "code":
                    reply = client.execute_interactive("".join(cell["source"]), timeout=300, output_hook=lambda m: None)
                    if reply["content"]["status"] != "ok":
                        raise RuntimeError(f"{name}: a cell failed: {reply['content'].get('evalue')}")
        process = getattr(manager.provisioner, "process", None)  # a LocalProvisioner's subprocess
        if process is None:
            raise RuntimeError("the kernel has no local process to measure")
        return memory(process.pid)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def jupyterlab_server() -> Memory:
    """A JupyterLab server (as a hub spawns one per learner) once it has served its page and the notebook list."""
    port, token = free_port(), "measure"
    with tempfile.TemporaryDirectory(prefix="lab-memory-jupyter-") as tmp:
        args = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--ip={HOST}", f"--port={port}",
                f"--IdentityProvider.token={token}", f"--notebook-dir={paths.notebooks_dir()}"]
        if os.geteuid() == 0:
            args.append("--allow-root")
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": f"{tmp}/runtime", "JUPYTER_CONFIG_DIR": f"{tmp}/config"}
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            for path in ("api/status", "lab", "api/contents"):
                deadline = time.monotonic() + 90
                while True:
                    try:
                        urllib.request.urlopen(f"http://{HOST}:{port}/{path}?token={token}", timeout=10).read()
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.3)
            return memory(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)


class PeakSampler(threading.Thread):
    """The highest total RSS and PSS of a process tree while it runs, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.interval, self.stop = pid, interval, threading.Event()
        self.peak = {"processes": 0, "rss_mib": 0.0, "pss_mib": 0.0}

    def run(self) -> None:
        while not self.stop.is_set():
            kinds = by_kind(descendants(self.pid)).values()
            for key in self.peak:
                self.peak[key] = max(self.peak[key], sum(row[key] for row in kinds))
            self.stop.wait(self.interval)


def measure(notebooks: list[str] = LESSON, echo: Callable[..., None] = print) -> dict[str, Any]:
    """Run the lesson (`notebooks`, in order) on a fresh cloud and measure what one learner takes (see the
    module's docstring); the cloud's peak while the notebooks ran too."""
    from ..tools import run_lab

    with local.fresh("lab-memory-", export=True) as cloud, tempfile.TemporaryDirectory() as out:
        sampler = PeakSampler(cloud["pid"])
        sampler.start()
        try:
            run_lab.run(notebooks, Path(out), echo=echo)
        finally:
            sampler.stop.set()
            sampler.join()
        cloud_kinds = by_kind(descendants(cloud["pid"]))
        kernel = kernel_after_lesson()
        cloud_after_kernel = by_kind(descendants(cloud["pid"]))
    server = jupyterlab_server()
    return {"notebooks": notebooks, "cloud_peak": sampler.peak, "cloud_after_lesson": cloud_kinds,
            "cloud_after_kernel": cloud_after_kernel, "kernel": kernel, "jupyterlab_server": server}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_helpers.classroom.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--through", default=LESSON[-1], help="the last notebook to run (default 05_test; "
                        "06_connection_lab adds the measurements' dozens of Lambda environments to the peak)")
    args = parser.parse_args(argv)
    from ..tools.run_lab import LESSON as names

    if args.through not in names:
        parser.error(f"--through must be one of {', '.join(names)}")
    result = measure(names[:names.index(args.through) + 1])
    print()
    peak = result["cloud_peak"]
    print(f"the learner's cloud at its peak while {', '.join(result['notebooks'])} ran: {peak['processes']} "
          f"processes, RSS {peak['rss_mib']:.1f} MiB, PSS {peak['pss_mib']:.1f} MiB")
    for title, kinds in ((f"the learner's cloud after {result['notebooks'][-1]}", result["cloud_after_lesson"]),
                         ("the same cloud after a kernel ran 00-05 again", result["cloud_after_kernel"])):
        print(f"{title}:")
        for kind, row in sorted(kinds.items()):
            print(f"  {kind:<32} {row['processes']:>3} processes  RSS {row['rss_mib']:7.1f} MiB  "
                  f"PSS {row['pss_mib']:7.1f} MiB")
        print(f"  {'total':<32} {sum(r['processes'] for r in kinds.values()):>3} processes  "
              f"RSS {sum(r['rss_mib'] for r in kinds.values()):7.1f} MiB  "
              f"PSS {sum(r['pss_mib'] for r in kinds.values()):7.1f} MiB")
    for title, mem in (("a Jupyter kernel after 00-05", result["kernel"]),
                       ("a JupyterLab server", result["jupyterlab_server"])):
        print(f"{title:<35} RSS {mem['rss_mib']:7.1f} MiB  PSS {mem['pss_mib'] or 0:7.1f} MiB")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

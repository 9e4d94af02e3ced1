"""The local cloud's processes as /proc shows them: each one named by what it is (from the cloud's record and
health), and sampled: resident memory, threads, open files."""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..local import process_status

PROC = Path("/proc")
KB_PER_MB = 1024


def read_process(pid: int, proc: Path = PROC) -> dict[str, int] | None:
    """A process's resident memory (kB), threads and open files from /proc; None when it is gone."""
    try:
        fields = process_status(pid, proc)
        fds = len(os.listdir(proc / str(pid) / "fd"))
        if fields.get("State", "").strip().startswith("Z"):
            return None
        return {"pid": pid, "rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
                "fds": fds}
    except (OSError, KeyError, ValueError, IndexError):
        return None


def cloud_processes(info: dict[str, Any], health: dict[str, Any]) -> dict[str, int]:
    """Every process of the cloud by a label: the server, MariaDB, each RDS Proxy, each Lambda environment."""
    found = {"cloud server (moto + providers)": info["pid"]}
    if (info.get("mariadb") or {}).get("pid"):
        found["MariaDB"] = info["mariadb"]["pid"]
    for proxy in health.get("proxies") or []:
        if proxy.get("pid"):
            found[f"RDS Proxy {proxy['name']}"] = proxy["pid"]
    for env in (health.get("lambda") or {}).get("environments") or []:
        if env.get("pid"):
            found[f"Lambda {env['function']} env {str(env['id'])[:8]}"] = env["pid"]
    return found


def median_sample(reads: list[dict[str, int]]) -> dict[str, int]:
    """Several reads of one process as one sample: the median (low) of each figure, the last pid."""
    return {"pid": reads[-1]["pid"],
            **{key: statistics.median_low(r[key] for r in reads) for key in ("rss_kb", "threads", "fds")}}


def snapshot(info: dict[str, Any], health: dict[str, Any] | None, reads: int = 1, gap: float = 0.0,
             proc: Path = PROC, sleep: Callable[[float], Any] = time.sleep) -> dict[str, dict[str, int]]:
    """Every process of the cloud that is alive: {label: {pid, rss_kb, threads, fds}}.

    `reads` reads `gap` seconds apart (the first too, after the health request), each figure their
    median: the cloud server's threads and open files come and go with every request in flight, the
    median is what the process holds.
    """
    if health is None:
        raise RuntimeError(f"the local cloud at {info['endpoint']} does not answer its health check")
    pids = cloud_processes(info, health)
    found: dict[str, list[dict[str, int]]] = {label: [] for label in pids}
    for _ in range(reads):
        sleep(gap)
        for label, pid in pids.items():
            sample = read_process(pid, proc)
            if sample is not None:
                found[label].append(sample)
    return {label: median_sample(samples) for label, samples in found.items() if samples}


def is_lambda(label: str) -> bool:
    """Whether a process label names a Lambda execution environment (they may come and go)."""
    return label.startswith("Lambda ")

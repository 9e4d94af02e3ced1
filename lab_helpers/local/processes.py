"""Processes, the one way the lab handles them: stopping them (SIGTERM first, SIGKILL what is left after a grace
period, never an error for a process that has already gone: it may end between any two steps), and reading what
/proc says of them (alive, which process, its status fields, its memory, its CPU time)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

PROC = Path("/proc")

# glibc's malloc in the lab's own Python servers (the cloud server, each RDS Proxy process): at most 2 arenas, not
# glibc's 8 per core. glibc reads the variable once, when a process starts, so it goes into the environment each is
# started with. The cloud server's threads (one per connection: werkzeug closes every connection after its answer,
# so one per request) spread its allocations over all of its arenas, and its memory rose in steps under a steady
# load. Measured with `make bench`'s soak (300 s at 150 requests/s, this 2-core machine shared), the cloud server:
# - glibc's default: 324.6 -> 337.3 MB in one of three runs, 354.8 -> 366.1 MB (+2.2 MB/min) in another; 364.8 ->
#   378.8 MB (+3.0 MB/min) with its threads
#   kept and reused instead (so the churn of threads is not the cause: the number of arenas is);
# - MALLOC_ARENA_MAX=2: 333.6 -> 335.6 MB, and 343.3 -> 345.8 MB (+0.4 MB/min) with its threads kept;
#   the 20-minute soak: 324.9 -> 332.6 MB (+2.4%, in three steps, none in its last 6 minutes). Read from smaps over
#   8 minutes, what moves is the top of the main heap, grown and trimmed again by glibc in steps of ~1.9 MB.
# MariaDB is not the lab's program: it keeps glibc's default (`unmanaged_environment`).
MALLOC_TUNING = {"MALLOC_ARENA_MAX": "2"}


def server_environment() -> dict[str, str]:
    """The environment to start one of the lab's Python servers with: this process's, with MALLOC_TUNING."""
    return {**os.environ, **MALLOC_TUNING}


def unmanaged_environment() -> dict[str, str]:
    """The environment to start a program that is not the lab's with: this process's, without MALLOC_TUNING."""
    return {name: value for name, value in os.environ.items() if MALLOC_TUNING.get(name) != value}


def terminate(proc: subprocess.Popen[bytes], timeout: float, group: bool = False) -> None:
    """Stop a child process (with `group`, its whole process group: what it started too); it is reaped."""
    if proc.poll() is None:
        _signal(proc.pid, signal.SIGTERM, group)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    if group or proc.poll() is None:  # a group's other processes may outlive its leader
        _signal(proc.pid, signal.SIGKILL, group)
    proc.wait()


def stop_pids(pids: list[int], timeout: float) -> None:
    """Stop processes that are not this process's children (found by PID): all of them SIGTERM at once,
    then SIGKILL those still alive after `timeout` seconds."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        if pid_alive(pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals, group: bool = False) -> None:
    try:
        os.killpg(pid, sig) if group else os.kill(pid, sig)
    except ProcessLookupError:
        pass  # gone already


def pid_alive(pid: int | None) -> bool:
    """Whether a process of that id exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return True


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name (the first is the state: field 3 of proc(5))."""
    return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def status(pid: int, proc: Path = PROC) -> dict[str, str]:
    """/proc/<pid>/status as {field: value} ("VmRSS": "1234 kB", "Threads": "3", ...); OSError when it is gone."""
    return {name: value.strip() for name, value in
            (line.split(":", 1) for line in (proc / str(pid) / "status").read_text().splitlines() if ":" in line)}


class Memory(TypedDict):
    """A process's memory in kB."""
    pid: int
    rss_kb: int  # resident
    pss_kb: int | None  # proportional: each shared page divided among the processes that map it (a sum counts it once)


def memory(pid: int, proc: Path = PROC) -> Memory | None:
    """A process's resident and proportional memory (kB); None when the process is gone.

    Both come from /proc/<pid>/smaps_rollup, which only the process's user (or root) may read; without it, RSS comes
    from its status and PSS is None."""
    try:
        lines = (proc / str(pid) / "smaps_rollup").read_text().splitlines()
        fields = {name: value for name, value in (line.split(":", 1) for line in lines if ":" in line)}
        return {"pid": pid, "rss_kb": int(fields["Rss"].split()[0]), "pss_kb": int(fields["Pss"].split()[0])}
    except PermissionError:
        pass
    except (OSError, KeyError, ValueError, IndexError):
        return None  # gone (a zombie's smaps_rollup has no figures)
    try:
        return {"pid": pid, "rss_kb": int(status(pid, proc)["VmRSS"].split()[0]), "pss_kb": None}
    except (OSError, KeyError, ValueError, IndexError):
        return None


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ProcessIdentity(TypedDict):
    """What tells one process from a later one with the same PID (kept in the cloud's record as JSON)."""
    start_time: int  # clock ticks since boot
    cmdline: list[str]


def process_identity(pid: int) -> ProcessIdentity | None:
    """What tells one process from a later one that got the same PID: its start time (clock ticks since
    boot) and its exact command line; None when there is no such process."""
    try:
        start_time = int(_stat_fields(pid)[19])
        cmdline = [arg.decode(errors="replace") for arg in (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
                   if arg]
    except (OSError, ValueError, IndexError):
        return None
    return {"start_time": start_time, "cmdline": cmdline}


def is_same_process(pid: int | None, identity: Mapping[str, Any] | None) -> bool:
    """Whether `pid` is still the process recorded with `identity` (not a later one given its PID)."""
    if not pid or identity is None:
        return False
    return process_identity(pid) == identity and pid_alive(pid)

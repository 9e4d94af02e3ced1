"""Stopping processes, the one way the local cloud does it: SIGTERM first, SIGKILL what is left after a grace
period, and never an error for a process that has already gone (it may end between any two steps)."""
from __future__ import annotations

import os
import signal
import subprocess
import time


def terminate(proc: subprocess.Popen, timeout: float, group: bool = False) -> None:
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
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def process_identity(pid: int) -> dict | None:
    """What tells one process from a later one that got the same PID: its start time (clock ticks since
    boot) and its exact command line; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            start_time = int(f.read().rsplit(")", 1)[1].split()[19])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = [arg.decode(errors="replace") for arg in f.read().split(b"\0") if arg]
    except (OSError, ValueError, IndexError):
        return None
    return {"start_time": start_time, "cmdline": cmdline}


def is_same_process(pid: int | None, identity: dict | None) -> bool:
    """Whether `pid` is still the process recorded with `identity` (not a later one given its PID)."""
    return bool(pid) and identity is not None and process_identity(pid) == identity and pid_alive(pid)

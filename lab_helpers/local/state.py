"""The local cloud's state folder and the file that says whether (and where) it is running.

Everything the local cloud keeps lives under one folder: `LAB_STATE_DIR`, by default `.lab/`
at the root of the checkout (see `lab_helpers.paths`). `cloud.json` there records the running cloud's process and
endpoint; it is written when the cloud is ready and removed when it stops.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from .. import paths
from .errors import LocalCloudError

DEFAULT_PORT = 24566  # the endpoint every boto3 client of the lab uses (below the kernel's ephemeral range, so no
# outgoing connection ever holds it); LAB_LOCAL_PORT overrides it
HEALTH_PATH = "/_lab/health"


def state_dir() -> Path:
    """The state folder (see lab_helpers.paths.state_dir)."""
    return paths.state_dir()


def cloud_file(root: Path | None = None) -> Path:
    """cloud.json in the state folder."""
    return (root or state_dir()) / "cloud.json"


def read(root: Path | None = None) -> dict | None:
    """The running cloud's record, or None (no file, or not readable)."""
    try:
        return json.loads(cloud_file(root).read_text())
    except (OSError, ValueError):
        return None


def write(info: dict, root: Path) -> None:
    """Replace the record atomically (readers never see half a file)."""
    path = cloud_file(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=1))
    os.replace(tmp, path)


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


def health(endpoint: str, timeout: float = 2.0) -> dict | None:
    """The endpoint's health answer, or None when it does not answer."""
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as r:
            return json.loads(r.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


NOT_RUNNING = ("the local cloud is not running: start it with `python -m lab_helpers.local up` "
               "(or `make jupyter`, or run notebook 00), then try again.")


def running_endpoint(root: Path | None = None) -> str:
    """The endpoint of the running local cloud, or an error that says how to start it."""
    info = read(root)
    if not info or not is_same_process(info.get("pid"), info.get("identity")):
        raise LocalCloudError(NOT_RUNNING)
    return info["endpoint"]

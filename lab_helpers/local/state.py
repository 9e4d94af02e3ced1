"""The local cloud's state folder and the file that says whether (and where) it is running.

Everything the local cloud keeps lives under one folder: `LAB_STATE_DIR`, by default `.lab/`
at the root of the checkout (see `lab_helpers.core.paths`). `cloud.json` there records the running cloud's process and
endpoint; it is written when the cloud is ready and removed when it stops. `port` remembers the endpoint's port
this folder's cloud chose, across `down` and `up` (so a learner's URLs stay the same, and several learners on one
machine each keep their own). `lock` is held while a cloud of the folder starts or stops (one at a time).

The folder is private to the user who runs the lab (mode 0700). Started as root, the database engine runs as
Debian's `mysql` account in a folder of its own inside it; the state folder is then root's with group `mysql`
and mode 0710: that account can pass through it to its folder, and can list nothing.
"""
from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core import paths
from .errors import LocalCloudError

DEFAULT_PORT = 24566  # the endpoint's port when it is free (below the kernel's ephemeral range, so no outgoing
# connection ever holds it); else a free one is chosen, and remembered in the state folder; LAB_LOCAL_PORT overrides it
HEALTH_PATH = "/_lab/health"


def state_dir() -> Path:
    """The state folder (see lab_helpers.core.paths.state_dir)."""
    return paths.state_dir()


def cloud_file(root: Path | None = None) -> Path:
    """cloud.json in the state folder."""
    return (root or state_dir()) / "cloud.json"


def port_file(root: Path) -> Path:
    return root / "port"


def remembered_port(root: Path) -> int | None:
    """The endpoint port this state folder's cloud chose before, or None."""
    try:
        port = int(port_file(root).read_text().strip())
    except (OSError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def remember_port(root: Path, port: int) -> None:
    tmp = port_file(root).with_suffix(".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, port_file(root))


def prepare(root: Path) -> Path:
    """The state folder, made if missing, and private: 0700, or 0710 with group `mysql` when the engine will run as
    that account (started as root). A folder of another user is an error that says what to do."""
    from .rds.mariadb import ENGINE_ACCOUNT, engine_account

    root = Path(root)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    owner = root.stat().st_uid
    if owner != os.geteuid():
        raise LocalCloudError(f"the state folder {root} belongs to another user (uid {owner}): use a checkout of your "
                              "own, or set LAB_STATE_DIR to a folder of yours, then try again.")
    mode = 0o700
    if os.geteuid() == 0:
        os.chmod(root, 0o710)  # as it will be; then: can the engine's account reach it, given the folders above?
        try:
            gid = grp.getgrnam(ENGINE_ACCOUNT).gr_gid
        except KeyError:
            gid = None
        if gid is not None:
            os.chown(root, -1, gid)
            if engine_account(root) == ENGINE_ACCOUNT:
                mode = 0o710
    os.chmod(root, mode)
    return root


@contextlib.contextmanager
def lock(root: Path, timeout: float = 180.0) -> Iterator[None]:
    """The state folder's lock (`lock`, flock): one `up` or `down` of its cloud at a time, in any process.
    A LocalCloudError after `timeout` seconds of waiting."""
    try:
        f = open(root / "lock", "a+")
    except OSError as e:
        raise LocalCloudError(f"cannot open {root / 'lock'} ({e.strerror}): is the state folder another user's? "
                              "Use a checkout of your own, or set LAB_STATE_DIR to a folder of yours, then try "
                              "again.") from None
    with f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LocalCloudError(f"another start or stop of the local cloud of {root} has not finished "
                                          f"in {timeout:.0f} s: wait for it, then try again.") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read(root: Path | None = None) -> dict[str, Any] | None:
    """The running cloud's record, or None (no file, or not readable)."""
    try:
        record: dict[str, Any] = json.loads(cloud_file(root).read_text())
        return record
    except (OSError, ValueError):
        return None


def write(info: dict[str, Any], root: Path) -> None:
    """Replace the record atomically (readers never see half a file)."""
    path = cloud_file(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=1))
    os.replace(tmp, path)


def health(endpoint: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The endpoint's health answer, or None when it does not answer."""
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as r:
            health: dict[str, Any] = json.loads(r.read())
            return health
    except (OSError, ValueError, urllib.error.URLError):
        return None


NOT_RUNNING = ("the local cloud is not running: start it with `python -m lab_helpers.local up` "
               "(or `make jupyter`, or run notebook 00), then try again.")

"""Start, stop and inspect the local cloud: `up()`, `down()`, `status()` (and the same on the command line).

`up()` starts `python -m lab_helpers.local serve` in the background and returns once its endpoint
answers. `down()` stops it by its PID, then makes sure nothing of the lab is left: every process
whose command line or working directory lies in the state folder (MariaDB, Lambda execution
environments) is stopped too, so its ports are free.

The endpoint's port: the one given, else LAB_LOCAL_PORT, else the one this state folder's cloud used before
(`port` in the folder), else 24566 when it is free, else a free one below the ephemeral range; the choice is
remembered in the folder. Starts and stops of one folder take its lock, one at a time; two clouds of two
folders starting at the same moment claim their ports machine-wide (ports.PortClaim), so they get two.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import logs, processes, state
from .errors import LocalCloudError
from .ports import PortClaim, ensure_free, free_port, is_free
from .rds.mariadb import find_mariadbd

EXPORTED = ("LAB_STATE_DIR", "LAB_LOCAL_PORT")  # what names a cloud for child processes (notebook kernels)


def endpoint_port(port: int | None = None, root: Path | None = None) -> int:
    """The endpoint's port as it would be now, nothing claimed: the one given, else LAB_LOCAL_PORT, else the
    state folder's remembered one, else 24566."""
    given = port or os.environ.get("LAB_LOCAL_PORT")
    if given:
        return int(given)
    return state.remembered_port(Path(root or state.state_dir())) or state.DEFAULT_PORT


def claim_port(root: Path, port: int | None = None, default: int = state.DEFAULT_PORT) -> PortClaim:
    """The port this start of the cloud of `root` listens on, claimed (hold the claim until the endpoint is bound).

    Given (or LAB_LOCAL_PORT): that one, or an error when it is in use. Else the remembered one, else `default`,
    when free; else a free one below the ephemeral range; what is chosen is remembered (a remembered port that
    another program took meanwhile is replaced, and that is said on stderr)."""
    given = port or os.environ.get("LAB_LOCAL_PORT")
    if given:
        claim = PortClaim.take(int(given))
        if claim is None:
            raise LocalCloudError(f"port {given} on 127.0.0.1 (for the local cloud's endpoint) is being taken by "
                                  "another local cloud starting: set LAB_LOCAL_PORT to another port and try again.")
        if not is_free(int(given)):
            claim.release()
            ensure_free(int(given), "the local cloud's endpoint", "LAB_LOCAL_PORT")
        return claim
    remembered = state.remembered_port(root)
    candidates = list(dict.fromkeys(p for p in (remembered, default) if p))
    for attempt in range(50):
        candidate = candidates[attempt] if attempt < len(candidates) else free_port()
        claim = PortClaim.take(candidate)
        if claim is None:
            continue
        if is_free(candidate):
            if candidate != remembered:
                if remembered:
                    print(f"note: port {remembered}, which this local cloud used before, is in use by another program; "
                          f"it now uses port {candidate}", file=sys.stderr)
                state.remember_port(root, candidate)
            return claim
        claim.release()
    raise LocalCloudError("no free port for the local cloud's endpoint: stop some programs listening on "
                          "127.0.0.1, or set LAB_LOCAL_PORT to a free port, then try again.")


START_TIMEOUT = 300.0  # a start takes ~1 s once installed on a quiet machine, but ~18 s of CPU the first time
# (moto's IAM managed policies, the runtime layer, MariaDB's template; 17.7 s measured): eight learners' clouds
# starting at once on a busy 2-core machine did not start within the 60 s this was


def up(root: Path | None = None, port: int | None = None, timeout: float = START_TIMEOUT) -> dict[str, Any]:
    """Start the local cloud (or find it already running) and return its state record."""
    root = Path(root or state.state_dir()).resolve()
    existed = root.exists()
    state.prepare(root)
    with state.lock(root, timeout=timeout + 120):
        return _up(root, port, timeout, existed)


def _up(root: Path, port: int | None, timeout: float, existed: bool) -> dict[str, Any]:
    info = state.read(root)
    if info and processes.is_same_process(info.get("pid"), info.get("identity")):
        if state.health(info["endpoint"]):
            return info
        raise LocalCloudError(f"the local cloud (pid {info['pid']}) is not answering at {info['endpoint']}: "
                              "run `python -m lab_helpers.local down`, then `up` again.")
    if info:
        raise LocalCloudError(f"stale state in {root} from a local cloud that is no longer running: "
                              "run `python -m lab_helpers.local down` to clear it, then `up` again.")
    if orphan := _unrecorded_server(root, existed):
        raise LocalCloudError(orphan)
    find_mariadbd()  # says how to install MariaDB when it is missing
    with claim_port(root, port) as claim:
        port = claim.port
        logs.rotate_if_large(root / "cloud.log")
        log = open(root / "cloud.log", "ab")
        log_start = log.seek(0, os.SEEK_END)  # what this start writes comes after
        proc = subprocess.Popen([sys.executable, "-m", "lab_helpers.local", "serve", "--state-dir", str(root),
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=str(root), env=processes.server_environment())
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                why = _last_error(root / "cloud.log", log_start)
                raise LocalCloudError(f"the local cloud exited at start-up: {why}")
            info = state.read(root)
            if info and info.get("pid") == proc.pid and state.health(info["endpoint"], timeout=1):
                return info
            time.sleep(0.05)
        proc.terminate()
    raise LocalCloudError(f"the local cloud did not start within {timeout:.0f} s (is the machine very busy?); "
                          f"see {root / 'cloud.log'}")


def _last_error(log: Path, start: int = 0) -> str:
    """The line of this start's log (from byte `start`) that says why it failed: the last error one."""
    with open(log, "rb") as f:
        f.seek(start)
        lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    for line in reversed(lines):
        if "Error:" in line or " ERROR " in line or line.startswith("error:"):
            return line.split(" ERROR ", 1)[-1].split("Error: ", 1)[-1].strip()
    return lines[-1] if lines else f"no output; see {log}"


def _inside(path: str, root: Path) -> bool:
    """Whether `path` is the state folder or lies in it (a path, not text: .../cloud1 is not .../cloud10)."""
    return path == str(root) or path.startswith(str(root) + os.sep)


def _names_folder(args: list[str], root: Path) -> bool:
    """Whether a command line names a path in the state folder (as an argument, or an --option=value)."""
    return any(_inside(arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg, root) for arg in args)


def lab_processes(root: Path, servers_only: bool = False) -> list[int]:
    """PIDs of the lab's processes for this state folder: its cloud server, MariaDB and proxies (by a
    command-line argument that is a path in the folder) and its Lambda execution environments (by
    working directory; " (deleted)" follows a folder that was removed). `servers_only`: the cloud server."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            args = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
            cwd = os.readlink(entry / "cwd").removesuffix(" (deleted)")
        except OSError:
            continue
        program = " ".join(args[:3])
        if servers_only:
            ours = "lab_helpers.local" in program and "serve" in args and _names_folder(args, root)
        else:
            ours = ((("mariadbd" in program or "lab_helpers.local" in program) and _names_folder(args, root))
                    or _inside(cwd, root / "lambda"))
        if ours and processes.pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _unrecorded_server(root: Path, existed: bool | None = None) -> str | None:
    """What to say when a cloud of this state folder runs but its record is gone (the folder was deleted
    while it ran, or cloud.json was); None when there is no such cloud. `existed`: whether the folder was there
    before this call made it (default: whether it is there now)."""
    pids = lab_processes(root, servers_only=True)
    if not pids:
        return None
    existed = root.exists() if existed is None else existed
    what = "its state folder was deleted" if not existed else "its record (cloud.json) was deleted"
    return (f"a local cloud of {root} is still running (pid {pids[0]}) but {what}: run "
            "`python -m lab_helpers.local down` to stop it, then `up` again.")


def down(root: Path | None = None, timeout: float = 20.0) -> dict[str, Any]:
    """Stop the local cloud and everything it started, and only that. Harmless when nothing is running.

    The recorded PID is stopped only while it is still the recorded process (same start time and
    command line); other processes only when their command line names a path in the state folder.
    Returns what happened: {"stopped": the cloud was running and stopped, "stale_record": a record
    whose process was gone (or whose PID another process has now), "unrecorded": the cloud ran without
    its record (its state folder was deleted), "leftover_processes_stopped": N (not counting the cloud)}.
    """
    root = Path(root or state.state_dir()).resolve()
    if not root.is_dir():
        return _down(root, timeout)
    with state.lock(root, timeout=timeout + 180):
        return _down(root, timeout)


def _down(root: Path, timeout: float) -> dict[str, Any]:
    info = state.read(root)
    stopped = stale = False
    unrecorded = not info and bool(lab_processes(root, servers_only=True))
    if info:
        if processes.is_same_process(info.get("pid"), info.get("identity")):
            processes.stop_pids([info["pid"]], timeout)
            stopped = True
        else:
            stale = True  # the cloud is gone; its PID may belong to another program now: left alone
    leftovers = lab_processes(root)
    processes.stop_pids(leftovers, 5.0)
    state.cloud_file(root).unlink(missing_ok=True)
    return {"stopped": stopped or unrecorded, "stale_record": stale, "unrecorded": unrecorded,
            "leftover_processes_stopped": len(leftovers) - unrecorded}


def describe_down(result: dict[str, Any]) -> str:
    """What `down` did, in one true sentence."""
    left = result["leftover_processes_stopped"]
    leftovers = f"; stopped {left} leftover process{'es' if left != 1 else ''} of it" if left else ""
    if result.get("unrecorded"):
        return f"local cloud stopped (it ran without its record: its state folder had been deleted){leftovers}"
    if result["stopped"]:
        return f"local cloud stopped{leftovers}"
    if result.get("stale_record"):
        return f"the local cloud had already stopped (its record was stale and is removed){leftovers}"
    return f"the local cloud was not running{leftovers or '; nothing left behind'}"


def status(root: Path | None = None) -> dict[str, Any]:
    """Every component with its address and whether it is healthy."""
    root = Path(root or state.state_dir()).resolve()
    info = state.read(root)
    if not info:
        orphan = _unrecorded_server(root)
        return {"running": bool(orphan), "healthy": False, "message": orphan} if orphan else \
            {"running": False, "message": state.NOT_RUNNING}
    if not processes.is_same_process(info.get("pid"), info.get("identity")):
        return {"running": False, "message": f"stale state in {root}: run `python -m lab_helpers.local down`."}
    health = state.health(info["endpoint"])
    if health is None:
        return {"running": True, "healthy": False, "pid": info["pid"],
                "message": f"the endpoint {info['endpoint']} does not answer"}
    return {"running": True, "healthy": all(c.get("healthy", True) for c in health.values() if isinstance(c, dict)),
            "pid": info["pid"], **health}


@contextmanager
def fresh(prefix: str = "lab-cloud-", export: bool = False) -> Iterator[dict[str, Any]]:
    """A local cloud of its own, for tests, benchmarks and reference runs: a new state folder and a free
    port; stopped, and its folder removed, at the end. With `export`, LAB_STATE_DIR and LAB_LOCAL_PORT
    name it (for notebook kernels and `Lab.connect("local")`) while it runs, and are put back afterwards.

        with lifecycle.fresh() as cloud:
            lab = Lab.local(cloud["endpoint"])
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))  # private to this user (up() lets the engine's account reach it)
    port = free_port()
    saved = {name: os.environ.get(name) for name in EXPORTED}
    if export:
        os.environ.update(LAB_STATE_DIR=str(root), LAB_LOCAL_PORT=str(port))
    try:
        yield up(root, port)
    finally:
        down(root)
        if export:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)

"""One DB proxy in a process of its own, as RDS Proxy is a fleet apart from the database and the API.

The cloud writes the proxy's settings (secret, target, pool configuration, TLS) to a file the proxy
process reads again whenever it changes, starts the process (`python -m lab_helpers.local.rds.proxy`),
asks it for its counters over a loopback control port, and starts it again on the same port when
it dies. A slow or crashing proxy never stalls the control plane, Lambda or another proxy.
"""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ...errors import LocalCloudError
from ...logs import rotate_if_large
from ...ports import HOST, free_port
from ...processes import server_environment, terminate
from .settings import ProxySettings

START_TIMEOUT = 15.0


def write_settings(path: Path, settings: ProxySettings) -> None:
    """The settings as JSON, replaced atomically, readable by this user only (they hold passwords)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(dataclasses.asdict(settings), out)
    os.replace(tmp, path)


def read_settings(path: Path) -> ProxySettings:
    data = json.loads(path.read_text())
    for key in ("target", "tls", "role_credentials", "target_endpoint"):
        if data.get(key) is not None:
            data[key] = tuple(data[key])
    data["session_pinning_filters"] = tuple(data.get("session_pinning_filters") or ())
    data["iam_users"] = tuple(data.get("iam_users") or ())
    return ProxySettings(**data)


class SettingsFile:
    """The proxy's settings as the cloud last wrote them (read again when the file changes; the file is
    looked at no more often than every CHECK_INTERVAL seconds)."""

    CHECK_INTERVAL = 0.05

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: int | None = None
        self._settings: ProxySettings | None = None
        self._checked = 0.0

    def __call__(self) -> ProxySettings:
        now = time.monotonic()
        if self._settings is not None and now - self._checked < self.CHECK_INTERVAL:
            return self._settings
        self._checked = now
        try:
            stamp = self.path.stat().st_mtime_ns
            if stamp != self._stamp:
                self._settings, self._stamp = read_settings(self.path), stamp
        except (OSError, ValueError, TypeError):
            if self._settings is None:
                raise
        assert self._settings is not None  # read above, or the error raised
        return self._settings


class ProxyProcess:
    """The cloud's handle on one proxy process: its files, its ports, start, stop, counters."""

    def __init__(self, name: str, folder: Path, port: int | None = None):
        self.name = name
        self.folder = Path(folder)
        self.port = port or free_port()
        self.control_port = free_port()
        self.settings_path = self.folder / f"{name}.json"
        self.log_path = self.folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.last_restart: str | None = None  # why the watchdog last replaced it
        self.stalled_since: float | None = None  # when its event loop stopped answering (monotonic)
        self.tls: tuple[Path, Path] | None = None  # its certificate chain and key

    def write(self, settings: ProxySettings) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_settings(self.settings_path, settings)

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the process; return once it answers on its control port (LocalCloudError otherwise)."""
        rotate_if_large(self.log_path)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lab_helpers.local.rds.proxy", "--name", self.name,
                 "--settings", str(self.settings_path), "--port", str(self.port),
                 "--control-port", str(self.control_port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                env=server_environment())
        deadline = time.monotonic() + timeout
        while self.stats() is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
                raise LocalCloudError(f"RDS Proxy {self.name} did not start: {' | '.join(tail) or 'no output'}")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stats(self) -> dict[str, Any] | None:
        """The proxy's counters (pool, clients, pinned, ...), or None when it does not answer."""
        try:
            with socket.create_connection((HOST, self.control_port), timeout=2) as conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
            stats: dict[str, Any] = json.loads(data)
            return stats
        except (OSError, ValueError):
            return None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            terminate(self.proc, timeout)
        self.proc = None

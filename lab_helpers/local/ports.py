"""Loopback ports for the local cloud: everything binds to 127.0.0.1 only."""
from __future__ import annotations

import errno
import random
import socket
import sys

from .errors import LocalCloudError

HOST = "127.0.0.1"
LISTEN_RANGE_START = 20000  # listening ports come from below the kernel's ephemeral range


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free now, for a server of the local cloud to listen on.

    It comes from below the kernel's ephemeral range: a port from bind(0) can be taken by any
    outgoing connection before the server that was to listen on it binds it, which makes a
    start-up fail now and then; ports below the range are never handed to outgoing connections.
    """
    end = _ephemeral_start()
    if end - LISTEN_RANGE_START < 1000:  # an unusual range: fall back to what the kernel picks
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            return int(s.getsockname()[1])
    for _ in range(200):
        port = random.randrange(LISTEN_RANGE_START, end)
        if is_free(port):
            return port
    raise LocalCloudError(f"no free port between {LISTEN_RANGE_START} and {end} on {HOST}: stop some programs "
                          "listening there, then try again.")


def is_free(port: int) -> bool:
    """Whether a TCP port on 127.0.0.1 can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
        return True


def ensure_free(port: int, what: str, env_var: str | None = None) -> None:
    """A LocalCloudError that names the port and what to do, when it is in use."""
    if not is_free(port):
        hint = f", or set {env_var} to another port" if env_var else ""
        raise LocalCloudError(
            f"port {port} on {HOST} (for {what}) is in use by another program: stop that program{hint}, then try again."
        )


class PortClaim:
    """A machine-wide claim on a port by a local cloud that is starting, so that two clouds starting at the same
    moment (two learners, two state folders) never pick the same one: between choosing a free port and its server
    binding it (a second or more, MariaDB starts first), the port looks free to everyone else.

    On Linux it is a unix socket in the abstract namespace (`@optimize-serverless-lab/port/N`): any user can bind
    one, only one process at a time can, and it goes away with the process that held it. Elsewhere there is no
    such namespace and the claim always succeeds (the port is still checked free)."""

    PREFIX = "optimize-serverless-lab/port/"

    def __init__(self, sock: socket.socket | None, port: int):
        self._sock, self.port = sock, port

    @classmethod
    def take(cls, port: int) -> PortClaim | None:
        """The claim on `port`, or None when another process holds it."""
        if not hasattr(socket, "AF_UNIX") or not sys.platform.startswith("linux"):
            return cls(None, port)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0{cls.PREFIX}{port}")
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE:
                return None
            raise
        return cls(sock, port)

    def release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> PortClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

"""Loopback ports for the local cloud: everything binds to 127.0.0.1 only."""
from __future__ import annotations

import errno
import random
import socket

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
            return s.getsockname()[1]
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

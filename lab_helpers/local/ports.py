"""Loopback ports for the local cloud: everything binds to 127.0.0.1 only."""
from __future__ import annotations

import errno
import socket

from .errors import LocalCloudError

HOST = "127.0.0.1"


def free_port() -> int:
    """A port the kernel says is free now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


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

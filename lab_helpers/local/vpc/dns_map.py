"""Name resolution for the local cloud's endpoints, with no dependency beyond the standard library.

Loaded both by `vpc.dns` and, by path, by `lambda_site/sitecustomize.py` inside Lambda execution
environments (where the lab's package need not be importable).
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

Port = str | bytes | int | None  # what socket.getaddrinfo takes as a port


class DnsMap:
    """`dns.json` read again whenever it changes: {hostname: {"port": 3306, "local_port": N}}."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime: int | None = None
        self._entries: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def lookup(self, host: object, port: Port) -> tuple[str, int] | None:
        """(127.0.0.1, local_port) for a known endpoint on its own port, else None."""
        if not isinstance(host, str):
            return None
        host = host.lower().rstrip(".")  # DNS names: any case, with or without the root's dot
        if not host.endswith(".amazonaws.com"):
            return None
        with self._lock:
            try:
                mtime = os.stat(self.path).st_mtime_ns
            except OSError:
                return None
            if mtime != self._mtime:
                try:
                    with open(self.path) as f:
                        self._entries = json.load(f)
                except (OSError, ValueError):
                    return None
                self._mtime = mtime
            entry = self._entries.get(host)
        if entry is None:
            return None
        try:
            wanted = int(port) if port is not None else entry["port"]
        except (TypeError, ValueError):
            return None
        if wanted != entry["port"]:
            return None
        return "127.0.0.1", entry["local_port"]


class _GetAddrInfo:
    """socket.getaddrinfo that resolves the map's names first. `_lab_dns` and `_lab_original` mark it, also
    for a copy of this module loaded under another name (sitecustomize.py)."""

    def __init__(self, dns_map: DnsMap, original: Callable[..., Any]) -> None:
        self._lab_dns = dns_map
        self._lab_original = original

    def __call__(self, host: str | bytes | None, port: Port, family: int = 0, type: int = 0, proto: int = 0,
                 flags: int = 0) -> Any:
        found = self._lab_dns.lookup(host, port)
        if found is None:
            return self._lab_original(host, port, family, type, proto, flags)
        return self._lab_original(found[0], found[1], family, type, proto, flags)


def patch_getaddrinfo(socket_module: Any, dns_map: DnsMap) -> None:  # socket, or a stand-in
    """Make socket.getaddrinfo resolve the map's names first (idempotent)."""
    original = socket_module.getaddrinfo
    if getattr(original, "_lab_dns", None) is not None:
        original = original._lab_original
    socket_module.getaddrinfo = _GetAddrInfo(dns_map, original)

"""Name resolution for the local cloud's endpoints, with no dependency beyond the standard library.

Loaded both by `vpc.dns` and, by path, by `lambda_site/sitecustomize.py` inside Lambda execution
environments (where the lab's package need not be importable).
"""
import json
import os
import threading


class DnsMap:
    """`dns.json` read again whenever it changes: {hostname: {"port": 3306, "local_port": N}}."""

    def __init__(self, path):
        self.path = path
        self._mtime = None
        self._entries = {}
        self._lock = threading.Lock()

    def lookup(self, host, port):
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


def patch_getaddrinfo(socket_module, dns_map):
    """Make socket.getaddrinfo resolve the map's names first (idempotent)."""
    original = socket_module.getaddrinfo
    if getattr(original, "_lab_dns", None) is not None:
        original = original._lab_original

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        found = dns_map.lookup(host, port)
        if found is None:
            return original(host, port, family, type, proto, flags)
        return original(found[0], found[1], family, type, proto, flags)

    getaddrinfo._lab_dns = dns_map
    getaddrinfo._lab_original = original
    socket_module.getaddrinfo = getaddrinfo

"""The local cloud's "VPC DNS": RDS and RDS Proxy endpoint names resolve to the local servers.

On AWS, `serverless-app-rds.xxxx.ap-northeast-2.rds.amazonaws.com:3306` resolves inside the VPC.
Locally, the cloud writes a map `{hostname: {"port": 3306, "local_port": N}}` to `dns.json` in
its state folder; `install(path)` makes this process resolve those names (on that port) to
127.0.0.1:N, so code connects with the endpoint name and port exactly as on AWS.

Every Lambda execution environment gets it through `lambda_site/sitecustomize.py`, so the
handler never knows it is local. The lab's own processes (tests, benchmarks) may call it too.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from .dns_map import DnsMap, patch_getaddrinfo


def write_map(path: Path, entries: dict[str, dict[str, int]]) -> None:
    """Atomically replace the map file (readers never see half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))
    os.replace(tmp, path)


def install(path: str | os.PathLike[str]) -> None:
    """Resolve the local cloud's endpoint names in this process (idempotent)."""
    patch_getaddrinfo(socket, DnsMap(str(path)))

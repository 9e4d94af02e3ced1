"""HTTP GETs of the lab's URLs (the stage's invoke URL), as curl and browsers make them.

Names under `.localhost` (the local cloud's `http://<api-id>.execute-api.localhost:<port>/dev/`)
reach the loopback address in curl and browsers (RFC 6761); Python's resolver does not know that,
so a connection to such a name goes to 127.0.0.1 here, with the URL's own Host header.
"""
from __future__ import annotations

import http.client
from typing import NamedTuple
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


def connect_address(host: str) -> str:
    """Where a connection to `host` goes: the loopback for `localhost` and names under it."""
    name = host.lower().rstrip(".")
    return LOOPBACK if name == "localhost" or name.endswith(".localhost") else host


def connection(url: str, timeout: float = 30.0) -> tuple[http.client.HTTPConnection, str, str]:
    """(connection, Host header, path with query) for `url`; reuse the connection for more requests."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(connect_address(parts.hostname), parts.port, timeout=timeout)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return conn, host, path


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 30.0) -> Answer:
    """One request; the answer whatever its status (no exception for 4xx/5xx)."""
    conn, host, path = connection(url, timeout)
    try:
        conn.request(method, path, body=body,
                     headers={"Host": host, "User-Agent": "lab-helpers", "Accept": "*/*", **(headers or {})})
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def get(url: str, timeout: float = 30.0) -> Answer:
    """GET `url`, as `curl <url>` does."""
    return request("GET", url, timeout=timeout)

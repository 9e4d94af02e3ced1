"""Bounded logs: every log file the local cloud writes stays under a size, and old ones go.

- A log that a process starts appending to (cloud.log, the engine's, a proxy's) is rotated before the
  start when it is over `MAX_BYTES`: it becomes `<name>.1` (one generation kept).
- The cloud server's own output (its fds 1 and 2, where `up` points cloud.log) is rotated while it runs
  by `RotatingOutput`, a logging handler.
- A Lambda execution environment's log stream keeps its last `MAX_BYTES // 2` once it grows past
  `MAX_BYTES` (`trim`), and a function keeps the log streams of its `KEEP_STREAMS` newest environments
  (`prune`).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Set
from pathlib import Path
from typing import TextIO

MAX_BYTES = 2 * 1024 * 1024
KEEP_STREAMS = 20


def rotated(path: Path) -> Path:
    return path.with_name(path.name + ".1")


def rotate_if_large(path: Path, max_bytes: int = MAX_BYTES) -> bool:
    """Move `path` to `<path>.1` (replacing it) when it is over `max_bytes`; True when it did."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    os.replace(path, rotated(path))
    return True


def trim(path: Path, max_bytes: int = MAX_BYTES) -> bool:
    """Keep the last half of `path` (from a line start) when it is over `max_bytes`. Processes appending
    to it with O_APPEND go on writing at its new end. True when it trimmed."""
    try:
        with open(path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            if size <= max_bytes:
                return False
            f.seek(size - max_bytes // 2)
            tail = f.read()
            tail = tail[tail.find(b"\n") + 1:] if b"\n" in tail else tail
            f.seek(0)
            f.write(tail)
            f.truncate()
            return True
    except FileNotFoundError:
        return False


def prune(folder: Path, keep: int = KEEP_STREAMS, pattern: str = "*.log", busy: Set[Path] = frozenset()) -> int:
    """Delete all but the `keep` newest files matching `pattern` in `folder` (never one in `busy`);
    how many it deleted."""
    try:
        files = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    except FileNotFoundError:
        return 0
    gone = 0
    for old in files[keep:]:
        if old not in busy:
            old.unlink(missing_ok=True)
            gone += 1
    return gone


class RotatingOutput(logging.StreamHandler[TextIO]):
    """Logs to this process's stderr, which is `path` (cloud.log); past `max_bytes` the file becomes
    `<path>.1` and a new one takes over fds 1 and 2, so stray output and tracebacks follow too."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES):
        import sys

        super().__init__(sys.stderr)
        self.path = Path(path)
        self.max_bytes = max_bytes

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        try:
            if os.fstat(2).st_size > self.max_bytes and self.path.exists():
                os.replace(self.path, rotated(self.path))
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
        except OSError:
            pass  # logging must never fail the cloud

"""The memory figures of `python -m lab_helpers.classroom.memory` come from /proc: a process tree's RSS and PSS."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from lab_helpers.classroom.memory import by_kind, descendants, memory


def test_a_process_tree_is_found_and_measured():
    # a child that holds 64 MiB of its own, with a grandchild
    code = ("import subprocess, sys, time; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print(p.pid, flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    grandchild = None
    try:
        grandchild = int(child.stdout.readline())
        tree = descendants(os.getpid())
        assert {child.pid, grandchild} <= set(tree) and os.getpid() in tree
        mine = memory(child.pid)
        assert mine["rss_mib"] > 64 and 0 < mine["pss_mib"] <= mine["rss_mib"]
        kinds = by_kind(descendants(child.pid))
        assert sum(row["processes"] for row in kinds.values()) == 2
        assert sum(row["rss_mib"] for row in kinds.values()) > mine["rss_mib"]
    finally:
        for pid in (grandchild, child.pid):  # the processes this test started, by their PIDs
            if pid:
                os.kill(pid, signal.SIGKILL)
        child.wait()

"""Stopping processes (lab_helpers/local/processes.py): politely, then for good, never failing on one gone."""
from __future__ import annotations

import os
import subprocess
import sys

from lab_helpers.local import processes
from tests.polling import wait_until

IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); " \
                  "time.sleep(60)"


def _started(code: str, **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, **kwargs)
    assert proc.stdout.readline().strip().startswith("ready")  # its signal handler is in place
    return proc


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period():
    proc = _started(IGNORES_SIGTERM)
    processes.terminate(proc, timeout=0.2)
    assert proc.returncode == -9


def test_a_child_that_stops_on_sigterm_is_not_killed():
    proc = _started("import time; print('ready', flush=True); time.sleep(60)")
    processes.terminate(proc, timeout=5)
    assert proc.returncode == -15


def test_a_group_stop_takes_what_the_child_started_too():
    code = ("import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', " + repr(IGNORES_SIGTERM) +
            "], stdout=subprocess.PIPE, text=True); c.stdout.readline(); print('ready', c.pid, flush=True); "
            "time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    grandchild = int(proc.stdout.readline().split()[1])
    processes.terminate(proc, timeout=0.2, group=True)
    wait_until(lambda: not processes.pid_alive(grandchild))  # SIGKILL is delivered, not waited for


def test_stopping_pids_that_are_gone_is_no_error():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stubborn = _started(IGNORES_SIGTERM)
    processes.stop_pids([gone.pid, stubborn.pid], timeout=0.2)
    assert stubborn.wait(5) == -9
    processes.terminate(gone, timeout=1)  # already reaped: nothing to do


def test_a_process_is_told_from_a_later_one_with_its_pid():
    me = processes.process_identity(os.getpid())
    assert me and me["cmdline"]
    assert processes.is_same_process(os.getpid(), me)
    assert not processes.is_same_process(os.getpid(), {**me, "start_time": me["start_time"] + 1})
    assert not processes.pid_alive(None) and processes.process_identity(2**22 + 1) is None

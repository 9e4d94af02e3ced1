"""Processes (lab_helpers/local/processes.py): stopping them politely, then for good, never failing on one gone;
reading their memory."""
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


# ---------------------------------------------------------------- memory (the classroom's figures)

ROLLUP = ("55d8c6a3b000-7ffd6b7f6000 ---p 00000000 00:00 0                          [rollup]\n"
          "Rss:               51200 kB\nPss:               20480 kB\nPss_Anon:          10240 kB\n")


def _fake_process(root, pid: int, rollup: str | None, rss_kb: int = 51200) -> None:
    folder = root / str(pid)
    folder.mkdir()
    (folder / "status").write_text(f"Name:\tpython\nState:\tS (sleeping)\nVmRSS:\t {rss_kb} kB\n")
    if rollup is not None:
        (folder / "smaps_rollup").write_text(rollup)


def test_memory_of_this_process_is_its_rss_and_its_smaller_pss():
    found = processes.memory(os.getpid())
    assert found["pid"] == os.getpid()
    assert 0 < found["pss_kb"] <= found["rss_kb"] + 4  # PSS shares out what RSS counts whole
    assert processes.memory(2 ** 22 + 12345) is None  # no such process


def test_memory_reads_rss_and_pss_from_smaps_rollup_and_none_for_a_process_without_figures(tmp_path):
    _fake_process(tmp_path, 42, ROLLUP)
    assert processes.memory(42, tmp_path) == {"pid": 42, "rss_kb": 51200, "pss_kb": 20480}
    _fake_process(tmp_path, 43, "")  # a zombie's smaps_rollup has no figures
    assert processes.memory(43, tmp_path) is None
    assert processes.memory(44, tmp_path) is None  # gone


def test_memory_of_another_users_process_is_its_rss_without_pss(tmp_path, monkeypatch):
    _fake_process(tmp_path, 42, ROLLUP, rss_kb=12345)
    read_text = type(tmp_path).read_text

    def refused(path, *args, **kwargs):
        if path.name == "smaps_rollup":
            raise PermissionError(13, "Permission denied", str(path))  # as /proc answers for another user's process
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "read_text", refused)
    assert processes.memory(42, tmp_path) == {"pid": 42, "rss_kb": 12345, "pss_kb": None}

"""`make bench`'s classroom part: memory read from /proc, per-kind sums, failures counted, the verdicts."""
from __future__ import annotations

import subprocess
import sys

from lab_helpers.tools import classroom_bench


def test_mem_available_comes_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683520 kB\nMemFree:         1000 kB\nMemAvailable:   22597196 kB\n")
    assert classroom_bench.mem_available_kb(meminfo) == 22597196
    assert classroom_bench.mem_available_kb() > 0


def test_a_clouds_memory_sums_its_processes_by_kind(tmp_path):
    server = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(30 * 2**20); "
                               "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    lam = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert server.stdout.readline() == "ready\n"  # it holds its 30 MB now
        info = {"pid": server.pid, "mariadb": {}}
        health = {"proxies": [], "lambda": {"environments": [{"pid": lam.pid, "function": "f", "id": "abcdef123"}]}}
        memory = classroom_bench.cloud_memory(info, health, tmp_path / "state")
        assert set(memory["kinds"]) == {"cloud server", "Lambda environments"}
        assert memory["kinds"]["cloud server"]["rss_kb"] > 30 * 1024  # the 30 MB it holds
        assert memory["pss_kb"] == sum(row["pss_kb"] for row in memory["kinds"].values())
        assert memory["rss_kb"] == sum(p["rss_kb"] for p in memory["processes"].values())
    finally:
        for proc in (server, lam):
            proc.kill()
            proc.wait()


def test_a_failed_learner_run_is_counted_with_its_error(tmp_path):
    result = classroom_bench.at_once(2, ["no_such_notebook"], logs=tmp_path, echo=lambda *a, **k: None)
    assert result["failures"] == 2 and result["learners"] == 2
    assert all(not run["ok"] and run["exit_code"] == 2 for run in result["runs"])
    assert "not a notebook of the lesson" in (tmp_path / "learner1.log").read_text()
    part = {"learner_memory": {"pss_kb": 460_000, "rss_kb": 520_000, "processes": {"a": {}, "b": {}},
                               "kinds": {"MariaDB": {"processes": 1, "pss_kb": 75_000, "rss_kb": 90_000}},
                               "mem_available_kb": 22_000_000, "learners_fit": 48},
            "at_once": result, "learners_asked": 8}
    verdicts = {name: met for name, _, met in classroom_bench.targets(part)}
    assert verdicts["8 learners' make lab at once (or as many as the memory holds): 0 failures"] is False
    rows = dict(classroom_bench.table_rows(part))
    assert rows["2 learners' make lab at once"].startswith("2 failures")
    assert rows["learners this machine's memory holds"].startswith("48 ")

"""`python -m lab_helpers.local up | down | status`: starts, reports, stops cleanly, and says what to do
when it cannot."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from lab_helpers.local import LocalCloudError, lifecycle, processes, state
from lab_helpers.local.ports import HOST, free_port, is_free
from lab_helpers.local.rds import mariadb


def cli(*args: str, root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab_helpers.local", *args, "--state-dir", str(root)],
                          capture_output=True, text=True, timeout=120)


def test_up_status_down_leaves_nothing_behind(tmp_path):
    root, port = tmp_path / "state", free_port()
    up = cli("up", "--port", str(port), root=root)
    assert up.returncode == 0, up.stderr
    assert f"local cloud up at http://{HOST}:{port}" in up.stdout
    info = state.read(root)
    st = cli("status", root=root)
    assert st.returncode == 0
    assert "endpoint (moto + providers)" in st.stdout and "database (MariaDB)" in st.stdout
    assert "UNHEALTHY" not in st.stdout
    again = cli("up", "--port", str(port), root=root)  # already up: found, not started twice
    assert again.returncode == 0 and state.read(root)["pid"] == info["pid"]

    down = cli("down", root=root)
    assert down.returncode == 0 and "local cloud stopped" in down.stdout
    assert lifecycle.lab_processes(root) == []
    assert not processes.pid_alive(info["pid"]) and not processes.pid_alive(info["mariadb"]["pid"])
    assert is_free(port) and is_free(info["mariadb"]["port"])
    assert cli("down", root=root).returncode == 0  # stopping again is harmless
    status = cli("status", root=root)
    assert status.returncode == 1 and "not running" in status.stdout


def test_a_port_in_use_says_so(tmp_path):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("up", "--port", str(port), root=tmp_path / "state")
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "in use" in result.stderr and "LAB_LOCAL_PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_stale_state_folder_says_what_to_do(tmp_path):
    root = tmp_path / "state"
    root.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / "cloud.json").write_text(json.dumps({"pid": dead.pid, "endpoint": "http://127.0.0.1:1"}))
    with pytest.raises(LocalCloudError, match=r"stale state .* run `python -m lab_helpers.local down`"):
        lifecycle.up(root, free_port())
    assert lifecycle.down(root)["stopped"] is False
    assert not (root / "cloud.json").exists()


def test_missing_mariadb_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(mariadb, "SERVER_FOLDERS", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalCloudError, match=r"apt-get install -y mariadb-server fonts-noto-cjk"):
        lifecycle.up(tmp_path / "state", free_port())


def test_the_lab_is_told_how_to_start_the_cloud_when_it_is_not_running(tmp_path, monkeypatch):
    from lab_helpers.core.config import Lab

    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "nothing"))
    with pytest.raises(LocalCloudError, match=r"python -m lab_helpers.local up"):
        Lab.connect("local")


def bystander(*args: str) -> subprocess.Popen:
    """A process that is not the cloud's, whose command line says `args`."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])


def test_down_leaves_alone_a_process_that_only_looks_like_a_neighbour_cloud(tmp_path):
    root = tmp_path / "cloud1"
    root.mkdir()
    neighbour = bystander("-m", "lab_helpers.local", "serve", "--state-dir", str(tmp_path / "cloud10"),
                          f"--datadir={tmp_path / 'cloud10' / 'mariadb' / 'data'}")
    try:
        result = lifecycle.down(root)
        assert result == {"stopped": False, "stale_record": False, "unrecorded": False,
                          "leftover_processes_stopped": 0}
        assert neighbour.poll() is None  # .../cloud1 is not .../cloud10
        assert lifecycle.describe_down(result) == "the local cloud was not running; nothing left behind"
    finally:
        neighbour.kill()
        neighbour.wait()


def test_down_leaves_alone_a_process_that_got_the_recorded_pid(tmp_path):
    root = tmp_path / "state"
    root.mkdir()
    other = bystander()
    try:
        # the cloud died, and its PID now belongs to another program (another start time, another command)
        record = {"pid": other.pid, "endpoint": "http://127.0.0.1:1",
                  "identity": {"start_time": 1, "cmdline": [sys.executable, "-m", "lab_helpers.local", "serve"]}}
        (root / "cloud.json").write_text(json.dumps(record))
        assert lifecycle.status(root)["running"] is False
        result = lifecycle.down(root)
        assert result["stopped"] is False and result["stale_record"] is True
        assert other.poll() is None
        assert "already stopped" in lifecycle.describe_down(result)
        assert not (root / "cloud.json").exists()
    finally:
        other.kill()
        other.wait()


def test_down_says_when_it_stopped_leftovers(tmp_path):
    root = tmp_path / "state"
    (root / "lambda" / "code").mkdir(parents=True)
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=root / "lambda" / "code")
    try:
        result = lifecycle.down(root)
        assert result["leftover_processes_stopped"] == 1 and leftover.wait(5) is not None
        assert lifecycle.describe_down(result) == ("the local cloud was not running; stopped 1 leftover process "
                                                   "of it")
    finally:
        if leftover.poll() is None:
            leftover.kill()


def test_a_state_folder_deleted_while_the_cloud_runs_is_named_as_such(tmp_path):
    import shutil

    root = tmp_path / "state"
    info = lifecycle.up(root, free_port())
    try:
        shutil.rmtree(root)
        st = cli("status", root=root)
        assert st.returncode == 1
        assert f"still running (pid {info['pid']}) but its state folder was deleted" in st.stdout
        with pytest.raises(LocalCloudError, match=r"state folder was deleted: run `python -m lab_helpers.local down`"):
            lifecycle.up(root, free_port())
        down = cli("down", root=root)
        assert down.returncode == 0
        assert down.stdout.startswith("local cloud stopped (it ran without its record: its state folder had been "
                                      "deleted)")
        assert not processes.pid_alive(info["pid"]) and not processes.pid_alive(info["mariadb"]["pid"])
        assert lifecycle.lab_processes(root) == []
    finally:
        lifecycle.down(root)


def test_two_ups_of_one_state_folder_at_the_same_moment_make_one_cloud(tmp_path):
    root = tmp_path / "state"
    # default settings: not the port (or folder) of a cloud this test session exported for the notebooks' kernels
    env = {name: value for name, value in os.environ.items() if name not in lifecycle.EXPORTED}
    starts = [subprocess.Popen([sys.executable, "-m", "lab_helpers.local", "up", "--state-dir", str(root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    try:
        said = [start.communicate(timeout=180) for start in starts]
        assert [start.returncode for start in starts] == [0, 0], said
        endpoints = {out.split("local cloud up at ", 1)[1].split()[0] for out, _ in said}
        assert len(endpoints) == 1  # the second found the first's cloud (it waited for the folder's lock)
        assert len(lifecycle.lab_processes(root, servers_only=True)) == 1
        assert endpoints == {f"http://{HOST}:{state.remembered_port(root)}"}
        info = state.read(root)
        assert mariadb.admin_query(info["mariadb"]["socket"], "SELECT @@tmpdir")[0][0] == str(root / "mariadb" / "tmp")
    finally:
        lifecycle.down(root)
    assert lifecycle.lab_processes(root) == []

"""A JupyterLab that a hub or Binder spawned has no terminal: notebook 00 starts the learner's local cloud
itself, says whether it started it or found it running, and starts it again after the cloud was stopped
without `down` (a hub stopping the learner's server); a later notebook run first says, in one Korean
sentence, to run 00."""
from __future__ import annotations

import os
import signal

import pytest

from lab_helpers import notebook
from lab_helpers.local import lifecycle, processes, state
from lab_helpers.local.ports import free_port
from tests.polling import wait_until

RUN_00_FIRST = ("로컬 클라우드가 실행 중이 아니니 00_prerequisites 노트북을 먼저 실행하세요 "
                "(00 이 로컬 클라우드를 시작합니다).")


@pytest.fixture
def no_cloud(tmp_path, monkeypatch):
    """A learner's state folder and port with no cloud running; whatever runs there at the end is stopped."""
    root = tmp_path / "state"
    root.mkdir()
    root.chmod(0o755)  # as a checkout's .lab/: the database engine's own account can reach it
    tmp_path.chmod(0o755)
    port = free_port()
    monkeypatch.setenv("LAB_STATE_DIR", str(root))
    monkeypatch.setenv("LAB_LOCAL_PORT", str(port))
    try:
        yield {"root": root, "port": port}
    finally:
        lifecycle.down(root)


def test_a_later_notebook_without_the_cloud_says_to_run_00_first(no_cloud):
    with pytest.raises(RuntimeError) as raised:
        notebook.connect()
    assert str(raised.value) == RUN_00_FIRST
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None  # no English traceback under it


def test_00_starts_the_cloud_finds_it_running_and_starts_it_again_after_it_was_killed(no_cloud, capsys):
    endpoint = f"http://127.0.0.1:{no_cloud['port']}"
    lab = notebook.start("local")
    assert capsys.readouterr().out.splitlines() == [f"로컬 클라우드를 시작했습니다: {endpoint}"]
    assert lab.endpoint_url == endpoint and state.health(endpoint) is not None
    assert notebook.connect().endpoint_url == endpoint  # what 01 and later do

    notebook.start("local")
    assert capsys.readouterr().out.splitlines() == [f"로컬 클라우드 실행 중: {endpoint}"]

    old = state.read(no_cloud["root"])
    os.kill(old["pid"], signal.SIGKILL)  # as a hub stopping the learner's server leaves it: a stale cloud.json
    wait_until(lambda: not processes.pid_alive(old["pid"]), 10)
    with pytest.raises(RuntimeError, match="00_prerequisites 노트북을 먼저 실행하세요"):
        notebook.connect()

    notebook.start("local")  # no terminal needed: the stale record and what was left of the old cloud are cleared
    assert capsys.readouterr().out.splitlines() == [f"로컬 클라우드를 시작했습니다: {endpoint}"]
    new = state.read(no_cloud["root"])
    assert new["pid"] != old["pid"] and state.health(new["endpoint"]) is not None

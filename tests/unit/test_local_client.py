"""The typed client of the running local cloud (lab_helpers/local/client.py): its record and its health.

The integration tests read a real cloud through it (rotation, the measurements); these pin down what it makes of
a record and of a health answer, and what it says when there is no cloud."""
from __future__ import annotations

import json
import os

import pytest

from lab_helpers.local import Health, LocalCloudError, RunningCloud, processes
from lab_helpers.local.ports import free_port

HEALTH = {
    "database": {"healthy": True, "max_connections": 100, "threads_connected": 7},
    "proxies": [{"name": "serverless-app-proxy", "region": "ap-northeast-2", "port": 41001, "healthy": True,
                 "pool_size": 10, "backend_open": 2},
                {"name": "serverless-app-proxy", "region": "us-east-1", "port": 41002, "healthy": False}],
    "secretsmanager": {"healthy": True, "rotations": [
        {"secret": "lab/db", "token": "t-1", "step": "setSecret", "outcome": "failed", "error": "setSecret: boom"}]},
}


def _record(root, pid, identity, endpoint="http://127.0.0.1:24566"):
    root.mkdir(exist_ok=True)
    (root / "cloud.json").write_text(json.dumps({
        "pid": pid, "identity": identity, "endpoint": endpoint, "port": 24566, "region": "ap-northeast-2",
        "root": str(root), "mariadb": {"pid": 1, "port": 24567, "socket": str(root / "mysqld.sock")}}))


def test_health_reads_proxies_by_name_and_region_and_rotations_by_token():
    health = Health.from_json(HEALTH)
    assert (health.database_healthy, health.max_connections, health.threads_connected) == (True, 100, 7)
    assert health.proxy("serverless-app-proxy", "us-east-1").port == 41002
    assert health.proxy("serverless-app-proxy", "ap-northeast-2").figures["pool_size"] == 10
    assert health.proxy("other") is None
    failed = health.rotation("t-1")
    assert (failed.outcome, failed.error) == ("failed", "setSecret: boom") and health.rotation("t-2") is None


def test_no_cloud_says_how_to_start_one(tmp_path):
    with pytest.raises(LocalCloudError, match="python -m lab_helpers.local up"):
        RunningCloud.find(tmp_path)
    assert RunningCloud.recorded(tmp_path) == "none"


def test_a_record_whose_process_is_gone_is_stale(tmp_path):
    _record(tmp_path, 2**22 + 1, {"start_time": 1, "cmdline": ["gone"]})
    assert RunningCloud.recorded(tmp_path) == "stale"
    with pytest.raises(LocalCloudError):
        RunningCloud.find(tmp_path)


def test_a_running_cloud_is_found_with_its_record(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"  # where nothing listens
    _record(tmp_path, os.getpid(), processes.process_identity(os.getpid()), endpoint)  # this process plays the cloud
    cloud = RunningCloud.find(tmp_path)
    assert RunningCloud.recorded(tmp_path) == "running"
    assert (cloud.endpoint, cloud.record.database.port) == (endpoint, 24567)
    assert RunningCloud.serving(endpoint, tmp_path).record.region == "ap-northeast-2"
    with pytest.raises(LocalCloudError, match="LAB_STATE_DIR"):
        RunningCloud.serving("http://127.0.0.1:9", tmp_path)
    with pytest.raises(LocalCloudError, match="does not answer"):
        cloud.health(timeout=0.5)  # nothing listens on the recorded endpoint

"""A `make lab TARGET=aws` that fails half-way never leaves a silent bill. The local cloud plays AWS here
(boto3's AWS_ENDPOINT_URL): the lab runs with target "aws", as on a real account, and 03 fails the way a
learner meets it, on a role of the lab's name made by hand. The run then lists what bills with its hourly
cost and the one command that removes it; that command, run as printed, leaves nothing billing."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

from lab_helpers import baseline, network
from lab_helpers.core import choices, paths
from lab_helpers.core.config import Lab

pytestmark = pytest.mark.integration
ROOT = paths.CHECKOUT


@pytest.fixture
def aws_played_by_the_local_cloud(fresh_cloud, monkeypatch, tmp_path):
    """Every boto3 client, here and in the notebooks' kernels, sends target "aws"'s calls to the local cloud."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_cloud["endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lab")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lab")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("LAB_PROGRESS", "stderr")
    # the learner ran 00 on AWS with the costs accepted: the baseline is there
    choices.remember(choices.Choices("aws", "ap-northeast-2", costs_confirmed=True))
    lab = Lab.connect("aws", "ap-northeast-2")
    monkeypatch.setattr(network.zones, "_rds_zones", lambda lab: {"ap-northeast-2a", "ap-northeast-2c"})
    # (the local cloud keeps no orderable DB options: the zones are given); polled at the local cloud's pace
    baseline.ensure_baseline(dataclasses.replace(lab, poll_interval=0.2, _clients={}))
    yield lab
    choices.file().unlink(missing_ok=True)


def run_lab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab_helpers.tools.run_lab", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=os.environ.copy())


def test_a_run_failing_in_03_on_aws_says_what_bills_and_how_to_remove_it(aws_played_by_the_local_cloud, tmp_path):
    lab = aws_played_by_the_local_cloud
    # a role of the lab's name, made by hand (without the lab's tags): 03 refuses to adopt it and stops
    lab.client("iam").create_role(RoleName=lab.names.proxy_role, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))

    failed = run_lab("--target", "aws", "--confirm-costs", "--out", str(tmp_path / "run"),
                     "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy")
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "notebook 03_rds_proxy.ipynb failed" in failed.stderr
    said = failed.stderr[failed.stderr.index("⚠️ AWS 에 이 실습의 유료 리소스가 남아 있습니다"):]
    for resource in ("RDS DB 인스턴스", "VPC 인터페이스 엔드포인트", "Secrets Manager 보안 암호"):
        assert resource in said
    assert "RDS Proxy" not in said  # never created
    total = float(re.search(r"합계: 약 ([0-9.]+) USD/시간", said).group(1))
    assert total > 0.03
    command = re.search(r"`(make lab TARGET=aws CONFIRM_COSTS=1 LEVEL=all NB=99_cleanup)`", said).group(1)

    # the notebook itself says the same below the error
    outputs = [output.get("text", "") for cell in nbformat.read(tmp_path / "run" / "03_rds_proxy.ipynb", 4).cells
               if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert any("⚠️ AWS 에 이 실습의 유료 리소스가 남아 있습니다" in text and command in text for text in outputs)

    cleaned = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=600, cwd=ROOT,
                             env=os.environ.copy())
    assert cleaned.returncode == 0, cleaned.stderr[-3000:]
    executed = nbformat.read(paths.build_dir() / "notebooks" / "99_cleanup.ipynb", 4)
    closing = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert closing.startswith("✅ 정리 완료: level='all'") and "과금되는 이 실습의 리소스도 없습니다" in closing
    assert lab.client("iam").get_role(RoleName=lab.names.proxy_role)["Role"]  # the hand-made role is kept

"""The lab's choices (target, region, learner): made once in 00, followed by every later notebook, with
Korean messages that say what to do; and the learner's names."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lab_helpers import notebook
from lab_helpers.core import choices
from lab_helpers.core.config import DEFAULT_REGION, IAM_ROLES, LEARNER_PREFIXED, NAMES, names_for


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    return tmp_path


def test_no_learner_in_the_workshop_s_region_keeps_the_module_s_names_exactly():
    assert names_for("", DEFAULT_REGION) == NAMES
    assert NAMES.db_instance == "serverless-app-rds" and NAMES.lambda_role == "serverless-app-lambda-role"


def test_a_learner_prefixes_every_account_wide_name_and_iam_roles_carry_the_region():
    names = names_for("kim01", "us-east-1")
    for field in LEARNER_PREFIXED:
        assert getattr(names, field) == f"kim01-{getattr(NAMES, field)}"
    assert names.lambda_role == "kim01-serverless-app-lambda-role-us-east-1"
    assert names.proxy_role == "kim01-serverless-app-rds-proxy-role-us-east-1"
    assert names.lambda_sg == NAMES.lambda_sg and names.subnets == NAMES.subnets  # inside the learner's own VPC
    # another region without a learner: only the (global) IAM names change
    other = names_for("", "us-west-2")
    assert other.db_instance == NAMES.db_instance and other.lambda_role == "serverless-app-lambda-role-us-west-2"


def test_every_name_fits_aws_limits_with_the_longest_learner_and_region():
    longest_region = max(choices.known_regions(), key=len)
    names = names_for("a" * 12, longest_region)
    limits = {"db_instance": 63, "proxy": 60, "db_subnet_group": 255, "function": 64 - len("-printed"),
              "secret": 512, "api": 1024, "vpc": 255}
    for field, limit in limits.items():
        assert len(getattr(names, field)) <= limit, field
    for field in IAM_ROLES:
        assert len(getattr(names, field)) <= 64, field
    assert "--" not in names.db_instance and not names.db_instance.endswith("-")


@pytest.mark.parametrize("learner", ["Kim", "1abc", "kim_01", "kim-01", "a" * 13, " "])
def test_a_learner_name_aws_would_refuse_is_refused_in_korean(learner):
    with pytest.raises(choices.ChoiceError, match=r"learner .* 쓸 수 없습니다: 영문 소문자로 시작하는"):
        choices.choose("local", None, learner)


def test_unknown_target_and_region_are_refused_in_korean():
    with pytest.raises(choices.ChoiceError, match=r"target 은 'local'\(이 컴퓨터의 로컬 클라우드\) 또는 'aws'"):
        choices.choose("gcp", None, "")
    with pytest.raises(choices.ChoiceError, match=r"region 'seoul' 은 RDS 를 제공하는 AWS 리전이 아닙니다"):
        choices.choose("local", "seoul", "")


def test_notebook_01_with_target_gcp_says_so_in_korean():
    with pytest.raises(choices.ChoiceError, match=r"target 은 'local'.* 받은 값: 'gcp'"):
        notebook.connect("gcp", None, None)


def test_the_region_defaults_to_seoul_or_on_aws_to_the_learner_s_configuration(monkeypatch):
    assert choices.choose("local", None, "").region == DEFAULT_REGION
    assert choices.choose("aws", None, "").region == DEFAULT_REGION  # nothing configured
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert choices.choose("aws", None, "").region == "eu-central-1"
    assert choices.choose("local", None, "").region == DEFAULT_REGION  # the local lab is the workshop's
    assert choices.choose("aws", "us-east-1", "").region == "us-east-1"  # given wins


def test_later_notebooks_follow_what_00_chose_and_stop_on_a_different_choice(state_dir):
    chosen = choices.choose("aws", "us-east-1", "kim01")
    choices.remember(chosen)
    assert (state_dir / "choices.json").exists()
    assert choices.follow(None, None, None) == chosen
    assert choices.follow("aws", "us-east-1", "kim01") == chosen  # the same, said again
    with pytest.raises(choices.ChoiceError) as raised:
        choices.follow("local", None, None)  # 99_cleanup run with the old default: must not clean the wrong lab
    message = str(raised.value)
    assert "target='local'" in message and "target='aws', region='us-east-1', learner='kim01'" in message
    assert "아무것도 바꾸지 않고 멈춥니다" in message
    with pytest.raises(choices.ChoiceError, match=r"region='ap-northeast-2'"):
        choices.follow(None, "ap-northeast-2", None)


def test_without_00_the_defaults_are_used():
    assert choices.follow(None, None, None) == choices.Choices("local", DEFAULT_REGION, "")


def test_make_lab_on_aws_without_confirmation_prints_the_costs_and_creates_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LAB_STATE_DIR": str(tmp_path / "state"),
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run([sys.executable, "-m", "lab_helpers.tools.run_lab", "--target", "aws"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "AWS 에서 이 실습이 만드는 유료 리소스" in result.stdout and "합계" in result.stdout
    assert "CONFIRM_COSTS=1" in result.stderr and "아무것도 만들지 않았습니다" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "state" / "choices.json").exists()
    # confirmed, but no credentials: said in Korean, still nothing created
    result = subprocess.run([sys.executable, "-m", "lab_helpers.tools.run_lab", "--target", "aws", "--confirm-costs"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "AWS 자격 증명을 찾지 못했습니다" in result.stderr
    assert "Traceback" not in result.stderr



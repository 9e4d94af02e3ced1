"""The AWS API request behind a step (requests_shown): the creating requests a cell sent, next to the console fields,
the same on a re-run that sends none, and never a secret value."""
from __future__ import annotations

import re

import pytest

from lab_helpers import baseline, network, proxy, requests_shown, secrets


@pytest.fixture(autouse=True)
def state(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path / "state"))


def test_the_secret_s_request_is_shown_with_the_console_fields_and_no_password(lab, calls, capsys):
    lab.client("secretsmanager")  # a client made before the cell: its requests are recorded too
    baseline.ensure_baseline(lab)
    capsys.readouterr()
    with requests_shown.shown(lab, "secret"):
        secrets.ensure_secret(lab)
    first = capsys.readouterr().out
    assert "secretsmanager CreateSecret" in first
    assert "secretsmanager CreateSecret\n  [보안 암호 이름]" in first and lab.names.secret in first
    assert "JSON: username, password" in first and lab.names.db_master_password not in first
    assert "ClientRequestToken" not in first

    calls.clear()
    with requests_shown.shown(lab, "secret"):
        secrets.ensure_secret(lab)
    assert calls.mutating() == []  # found, nothing sent: the requests that made it are shown again
    assert capsys.readouterr().out == first


def test_a_step_whose_resources_were_made_before_any_record_says_so(lab, capsys):
    baseline.ensure_baseline(lab)
    capsys.readouterr()
    with requests_shown.shown(lab, "dns"):
        network.enable_dns_hostnames(lab)  # Module 2 turned them on already: nothing to send
    assert capsys.readouterr().out.startswith("AWS API 요청: 없음")


def test_the_proxy_s_requests_name_every_console_field_of_step_2(lab, capsys):
    baseline.ensure_baseline(lab)
    from lab_helpers import iam

    secret = secrets.ensure_secret(lab)
    network.allow_rds_sg_self(lab)
    iam.ensure_proxy_role(lab, secret["arn"])
    capsys.readouterr()
    with requests_shown.shown(lab, "proxy"):
        proxy.ensure_proxy(lab)
    out = capsys.readouterr().out
    assert "rds CreateDBProxy" in out and "rds RegisterDBProxyTargets" in out
    for field, parameter in (("[프록시 식별자]", "DBProxyName"), ("[엔진 패밀리]", "EngineFamily"),
                             ("[Secrets Manager 보안 암호]", "Auth"), ("[서브넷]", "VpcSubnetIds"),
                             ("[기존 VPC 보안 그룹]", "VpcSecurityGroupIds"), ("[전송 계층 보안 필요]", "RequireTLS"),
                             ("대상 그룹 구성: [데이터베이스]", "DBInstanceIdentifiers")):
        line = next(line for line in out.splitlines() if line.strip().startswith(field))
        assert line.split()[len(field.split())] == parameter, line
    assert "True" not in out and "False" not in out


def test_policy_documents_are_one_line_and_secrets_and_zips_are_never_shown():
    rows = requests_shown.rows([
        ("iam", "PutRolePolicy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument":
                                  '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                                  '"Action": "secretsmanager:GetSecretValue", "Resource": "arn:x"}]}'}),
        ("lambda", "UpdateFunctionCode", {"FunctionName": "f", "ZipFile": b"PK..."}),
        ("secretsmanager", "CreateSecret", {"Name": "s", "SecretString": '{"username": "admin", "password": "x1"}',
                                            "ClientRequestToken": "t"})])
    values = {(r["parameter"]): r["value"] for r in rows}
    assert values["PolicyDocument"] == "Allow secretsmanager:GetSecretValue on arn:x"
    assert values["ZipFile"] == "zip 파일 (함수 코드와 PyMySQL)"
    assert values["SecretString"] == "JSON: username, password (값은 보여 주지 않음)"
    assert "ClientRequestToken" not in values
    assert [r["request"] for r in rows if r["request"]] == ["iam PutRolePolicy", "lambda UpdateFunctionCode",
                                                             "secretsmanager CreateSecret"]


def test_the_deployments_show_update_function_code_and_the_environment_they_set(lab, capsys):
    """04 deploys the printed code (UpdateFunctionCode, no environment); 06 the improved one (its code, then
    SECRET_NAME and DB_HOST); the printed code deployed again over it also removes that environment."""
    from lab_helpers import iam, module3

    baseline.ensure_baseline(lab)
    secret = secrets.ensure_secret(lab)
    iam.ensure_proxy_role(lab, secret["arn"])
    proxy.ensure_proxy(lab)
    capsys.readouterr()

    def deployed(step, deploy):
        with requests_shown.shown(lab, step):
            deploy(lab)
        out = capsys.readouterr().out
        return out, [line for line in out.splitlines() if line.startswith("lambda ")]

    out, operations = deployed("deploy_printed", module3.deploy_printed_function)
    assert operations == ["lambda UpdateFunctionCode"]
    assert re.search(rf"^  함수 +FunctionName +{lab.names.function}$", out, re.MULTILINE), out
    assert re.search(r"^  코드 편집기의 코드, \[배포\] +ZipFile +zip 파일 \(함수 코드와 PyMySQL\)$", out,
                     re.MULTILINE), out

    out, operations = deployed("deploy_improved", module3.deploy_improved_function)
    assert operations == ["lambda UpdateFunctionCode", "lambda UpdateFunctionConfiguration"]
    environment = next(line for line in out.splitlines() if "Environment" in line)
    assert environment.split()[:4] == ["[구성]", "→", "환경", "변수"]
    assert f'"SECRET_NAME":"{lab.names.secret}"' in environment
    assert f'"DB_HOST":"{proxy.proxy_endpoint(lab)}"' in environment

    out, operations = deployed("deploy_printed", module3.deploy_printed_function)
    assert operations == ["lambda UpdateFunctionCode", "lambda UpdateFunctionConfiguration"]
    assert '{"Variables":{}}' in out

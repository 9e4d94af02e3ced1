"""What the notebooks print: tables in Korean (the term sheet in lab_helpers/korean.py), and 07's closing line
claiming only what it checked on each target."""
from __future__ import annotations

import json

import pytest

from lab_helpers import korean, notebook, rotation
from lab_helpers.core.config import Lab


def test_a_key_value_table_is_printed_in_korean(capsys):
    notebook.table({"name": "serverless-app", "dns_hostnames": True, "changed": False, "subnets": []},
                   columns=["name", "dns_hostnames", "changed", "subnets"])
    out = capsys.readouterr().out
    assert out.splitlines() == ["이름                             serverless-app",
                                "DNS 호스트 이름 (DNS hostnames)  예",
                                "이번에 바꿈                      아니오",
                                "서브넷                           없음"]


def test_a_list_table_has_korean_headers_and_values(capsys):
    notebook.table([{"subnet": "lambda-subnet-a", "route_to_internet": False},
                    {"subnet": "cloud9-subnet-a", "route_to_internet": True}])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("  ")[0] == "서브넷" and "인터넷 경로 (0.0.0.0/0)" in lines[0]
    assert lines[2].endswith("아니오") and lines[3].endswith("예")
    assert "True" not in "\n".join(lines) and "False" not in "\n".join(lines)


def test_a_key_missing_from_the_term_sheet_shows_as_it_is():
    assert korean.column("no_such_column") == "no_such_column"
    assert korean.value(0) == 0 and korean.value("") == "" and korean.value(None) is None


def demo_rows(printed=200, cached_code=1045, improved=200):
    rows = {"module3_printed": {"status": printed, "error_code": None},
            "cached": {"status": 500, "error_code": cached_code},
            "module3": {"status": improved, "error_code": None}}
    return [rows[key] for key, _, _ in rotation.DEMO]


@pytest.fixture
def rotated(monkeypatch):
    monkeypatch.setattr(rotation, "rotation_enabled", lambda lab: True)
    monkeypatch.setattr(rotation, "passwords_differ", lambda lab: True)
    checked = []
    monkeypatch.setattr(rotation, "database_checks",
                        lambda lab: checked.append(lab) or {"DB 가 새 비밀번호만 받음": True})
    return checked


OK_BODY = json.dumps({"statusCode": 200, "body": "\"2026-12-04T12:00:00\""})


def test_07_closes_on_the_local_cloud_with_what_the_database_and_proxy_accept(rotated, capsys):
    notebook.check_rotation(Lab(target="local"), demo_rows(), 200, OK_BODY)
    out = capsys.readouterr().out
    assert rotated and "DB 와 RDS Proxy 가 그것만 받습니다" in out and "다음은 08_iam_auth" in out


def test_07_closes_on_aws_without_claiming_what_only_the_local_cloud_checks(rotated, capsys):
    notebook.check_rotation(Lab(target="aws"), demo_rows(), 200, OK_BODY)
    out = capsys.readouterr().out
    assert not rotated  # the database was not asked
    assert out.startswith("✅ 로테이션 완료") and "DB 와 RDS Proxy" not in out


def test_07_names_what_failed(rotated):
    with pytest.raises(AssertionError, match="비밀번호를 계속 쓰는 함수는 1045"):
        notebook.check_rotation(Lab(target="local"), demo_rows(cached_code=None), 200, OK_BODY)

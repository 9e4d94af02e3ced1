"""The local cloud's endpoint when one of its own parts fails: AWS's error shape for the caller, no
traceback, and the fault shown in the cloud's health and `status` instead of a plausible answer."""
from __future__ import annotations

import io
import json

from moto import mock_aws

from lab_helpers.local.__main__ import _print_status
from lab_helpers.local.faults import Faults
from lab_helpers.local.gateway import Gateway, Request

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0")


class Broken:
    component = "lambda"

    def __init__(self, fail_route: bool):
        self.fail_route = fail_route
        self.after_calls: list[Request] = []

    def route(self, request: Request):
        if self.fail_route and request.path == "/broken":
            raise RuntimeError("boom in route")
        return None

    def after(self, request: Request) -> None:
        self.after_calls.append(request)
        raise KeyError("boom in after")


def call(app, method: str, path: str, body: bytes = b"", service: str | None = None) -> tuple[str, dict, bytes]:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "1", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": "application/x-www-form-urlencoded", "HTTP_HOST": "127.0.0.1:1",
               "wsgi.url_scheme": "http"}
    if service:
        environ["HTTP_AUTHORIZATION"] = AUTH.format(region="us-east-1", service=service)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))

    out = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], out


def test_a_failing_provider_gives_an_aws_error_and_an_unhealthy_status(capsys):
    faults = Faults()
    gateway = Gateway([Broken(fail_route=True)], [], lambda: {}, faults)
    status, headers, body = call(gateway, "GET", "/broken")
    assert status.startswith("500")
    answer = json.loads(body)
    assert answer["__type"] == "InternalFailure" and "status" in answer["message"]
    assert "Traceback" not in body.decode() and "boom" not in body.decode()
    health = faults.health("endpoint", address="http://127.0.0.1:1")
    assert health["healthy"] is False and health["faults"] == 1
    assert health["last_fault"] == "GET /broken: RuntimeError: boom in route"
    _print_status({"running": True, "endpoint": health, "database": {"address": "127.0.0.1:2"},
                   "rds": {}, "proxies": [], "lambda": {"environments": []}, "apigateway": {}})
    printed = capsys.readouterr().out
    assert "UNHEALTHY" in printed and "last fault: GET /broken: RuntimeError: boom in route" in printed
    assert "RDS Proxy: none yet" in printed


def test_a_data_plane_that_cannot_follow_keeps_moto_s_answer_and_shows_the_fault():
    faults, provider = Faults(), Broken(fail_route=False)
    gateway = Gateway([provider], [], lambda: {}, faults)
    with mock_aws():
        status, _, body = call(gateway, "POST", "/", b"Action=ListRoles&Version=2010-05-08", service="iam")
        assert status.startswith("200") and b"ListRolesResponse" in body
        assert provider.after_calls == []  # a read-only call changes nothing to follow
        trust = '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]}'
        status, _, body = call(gateway, "POST", "/", b"Action=CreateRole&Version=2010-05-08&RoleName=r"
                               b"&AssumeRolePolicyDocument=" + trust.encode(), service="iam")
        assert status.startswith("200") and b"CreateRoleResponse" in body
        assert len(provider.after_calls) == 1 and faults.of("lambda").last.endswith("KeyError: 'boom in after'")
    assert faults.health("lambda")["healthy"] is False
    assert faults.health("endpoint")["healthy"] is True  # the endpoint itself answered

"""The module's own test, on the local cloud: GET the `dev` stage URL, before and after Module 3."""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
import urllib.error
import urllib.request

import pytest

from lab_helpers import api, baseline, lambda_fn, module3, proxy
from lab_helpers.core import web
from tests.integration.conftest import DB_TIME_ZONE


def get(url: str) -> tuple[int, dict]:
    answer = web.get(url)
    return answer.status, json.loads(answer.body)


def database_time(body: dict) -> dt.datetime:
    """The time the handler returned, checked to be the database's (in DB_TIME_ZONE, not UTC)."""
    assert body["statusCode"] == 200, body
    returned = dt.datetime.fromisoformat(json.loads(body["body"]))
    sign, hours, minutes = DB_TIME_ZONE[0], int(DB_TIME_ZONE[1:3]), int(DB_TIME_ZONE[4:6])
    offset = dt.timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
    expected = dt.datetime.now(dt.UTC).replace(tzinfo=None) + offset
    assert abs(returned - expected) < dt.timedelta(seconds=60), (returned, expected)
    return returned


@pytest.fixture(scope="module")
def before_and_after(lab):
    """The stage URL's answer with Module 2, with the module's printed code (04), and with the improved function
    (06); the module's tests go on with the improved function deployed."""
    baseline.ensure_baseline(lab)
    url = api.invoke_url(lab)
    before = get(url)
    module3.ensure_module3(lab)
    printed = get(url)
    printed_function = lambda_fn.find_function(lab)
    module3.deploy_improved_function(lab)
    after = get(url)
    return url, before, after, printed, printed_function


def test_module2_baseline_answers_with_the_database_time(before_and_after):
    _, (status, body), *_ = before_and_after
    assert status == 200
    assert set(body) == {"statusCode", "body"}
    database_time(body)


def test_the_module_s_printed_code_answers_as_deployed_by_04(before_and_after, lab):
    _, _, _, (status, body), function = before_and_after
    assert status == 200 and set(body) == {"statusCode", "body"}
    database_time(body)
    # the printed code with only the proxy's endpoint written in, and no environment variables
    assert function["code_sha256"] == lambda_fn.code_sha256(module3.printed_package(lab))
    assert function["environment"] == {}


def test_module3_answers_through_api_gateway_lambda_proxy_and_secret(before_and_after, lab, cloud):
    url, _, (status, body), *_ = before_and_after
    assert status == 200
    assert set(body) == {"statusCode", "body"}
    database_time(body)
    # the function that answered is Module 3's, configured with the secret's name and the proxy's endpoint
    fn = lambda_fn.find_function(lab)
    assert fn["environment"] == {"SECRET_NAME": lab.names.secret, "DB_HOST": proxy.proxy_endpoint(lab)}
    # and the function's query reached the database through the proxy: one more call, one more statement
    assert get(url)[0] == 200
    before = proxy_statements(cloud, lab)
    assert get(url)[0] == 200
    assert proxy_statements(cloud, lab) == before + 1  # `select now()`; the rest of the session is tracked state


def proxy_statements(cloud, lab) -> int:
    health = json.loads(urllib.request.urlopen(cloud["endpoint"] + "/_lab/health").read())
    (pool,) = [p for p in health["proxies"] if p["name"] == lab.names.proxy]
    return pool["statements"]


def environments(cloud, function: str) -> list[dict]:
    health = json.loads(urllib.request.urlopen(cloud["endpoint"] + "/_lab/health").read())
    return [e for e in health["lambda"]["environments"] if e["function"] == function]


def test_warm_invocations_reuse_the_environment(before_and_after, lab, cloud):
    """Cloud level: the lesson's function, invoked through the Lambda API, stays in one environment and Invoke's
    LogResult carries the REPORT line; tests/test_lambda_runtime.py covers the environment itself (module state,
    Init Duration on the cold start, Duration's meaning)."""
    lam = lab.client("lambda")
    reports = []
    for _ in range(3):
        r = lam.invoke(FunctionName=lab.names.function, LogType="Tail")
        assert "FunctionError" not in r
        database_time(json.loads(r["Payload"].read()))
        reports.append(base64.b64decode(r["LogResult"]).decode())
    # warm: no Init Duration, one execution environment (module-scope secret and connection kept)
    assert all("Init Duration" not in rep for rep in reports), reports
    report = re.compile(r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms")
    assert all(report.search(rep) for rep in reports)
    (env,) = environments(cloud, lab.names.function)
    assert env["invocations"] >= 4  # the stage URL call, then these three


def test_the_stage_serves_its_deployment_until_the_next_one(before_and_after, lab):
    """A new method is not live until the API is deployed again, as on AWS."""
    url = before_and_after[0]
    client = lab.client("apigateway")
    api_id = api.find_api(lab)["id"]
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    get_integration = client.get_integration(restApiId=api_id, resourceId=root, httpMethod="GET")
    client.put_method(restApiId=api_id, resourceId=root, httpMethod="POST", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=root, httpMethod="POST", type="AWS",
                           integrationHttpMethod="POST", uri=get_integration["uri"])
    client.put_method_response(restApiId=api_id, resourceId=root, httpMethod="POST", statusCode="200")
    client.put_integration_response(restApiId=api_id, resourceId=root, httpMethod="POST", statusCode="200",
                                    selectionPattern="")
    try:
        before_deploy = web.request("POST", url, b"{}")
        assert before_deploy.status == 403  # not deployed yet: "Missing Authentication Token"
        client.create_deployment(restApiId=api_id, stageName=lab.names.stage)
        after_deploy = web.request("POST", url, b"{}")
        # deployed now, but the function's permission covers GET only (SourceArn .../*/GET/), as on AWS
        assert after_deploy.status == 500
        assert json.loads(after_deploy.body) == {"message": "Internal server error"}
    finally:
        client.delete_method(restApiId=api_id, resourceId=root, httpMethod="POST")
        client.create_deployment(restApiId=api_id, stageName=lab.names.stage)


def test_the_stage_answers_with_api_gateway_s_headers_and_limits(before_and_after, lab):
    url = before_and_after[0]
    answer = web.get(url)
    assert answer.headers["x-amzn-requestid"] and answer.headers["x-amz-apigw-id"]
    assert web.request("POST", url, b"x" * (10 * 1024 * 1024 + 1)).status == 413


def test_the_invoke_url_has_aws_s_shape_and_answers_curl(before_and_after, lab, cloud):
    """`http://<api-id>.execute-api.localhost:<port>/dev` with curl itself (which sends names under .localhost
    to the loopback), and a request naming AWS's own host for the API reaches the same stage."""
    import shutil
    import subprocess

    url = before_and_after[0]
    api_id = api.find_api(lab)["id"]
    assert url == f"http://{api_id}.execute-api.localhost:{cloud['port']}/{lab.names.stage}"
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "-i", url], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        head, _, body = out.stdout.replace("\r\n", "\n").partition("\n\n")
        assert head.startswith("HTTP/1.1 200") and "x-amzn-RequestId" in head
        assert set(json.loads(body)) == {"statusCode", "body"}
    aws_host = f"{api_id}.execute-api.{lab.region}.amazonaws.com"
    answer = web.request("GET", f"{cloud['endpoint']}/{lab.names.stage}", headers={"Host": aws_host})
    assert answer.status == 200 and set(json.loads(answer.body)) == {"statusCode", "body"}
    # the API's host with no stage, or another stage: API Gateway's 403
    assert web.get(url.rsplit("/", 1)[0] + "/").status == 403
    assert web.get(url.rsplit("/", 1)[0] + "/prod").status == 403

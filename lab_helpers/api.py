"""Module 2's REST API `serverless-app-api`: GET / runs the function; deployed to stage `dev`.

Built as the console builds integration type "Lambda Function" without proxy integration:
type AWS, POST to the function's invocation URI, plus method response 200 and integration
response 200 (the console adds these two by itself; without them the API has no response to
return), and a permission on the function that lets API Gateway invoke it. Because it is not a
proxy integration, the invoke URL returns the handler's whole dict as JSON, as in the module.
"""
from __future__ import annotations

import json
from typing import Any, TypedDict
from urllib.parse import urlsplit

from .core import ownership, partition
from .core.config import Lab
from .core.waiting import or_none, require, retry_while
from .lambda_fn import find_function

APIGATEWAY_SERVICE = partition.service_principal("apigateway")


class ApiView(TypedDict):
    """The REST API as `find_api` shows it."""
    name: str
    id: str
    endpoint_type: str  # REGIONAL
    method: str | None  # "GET /" once the method exists
    integration_type: str | None  # AWS: a Lambda integration without proxy
    stage: str | None  # dev once deployed
    deployment: str | None  # the stage's deployment id
    invoke_url: str | None  # None until the stage exists


def _apigw(lab: Lab) -> Any:  # a boto3 client
    return lab.client("apigateway")


def _raw_api(lab: Lab) -> dict[str, Any] | None:
    for page in _apigw(lab).get_paginator("get_rest_apis").paginate():
        apis: list[dict[str, Any]] = page["items"]
        for api in apis:
            if api["name"] == lab.names.api:
                return api
    return None


def _invocation_uri(lab: Lab, function_arn: str) -> str:
    """What a Lambda integration calls: API Gateway's path to the function's Invoke API, in the lab's partition."""
    return partition.arn(lab, "apigateway", f"path/2015-03-31/functions/{function_arn}/invocations",
                         region=lab.region, account="lambda")


def _url(lab: Lab, api_id: str) -> str:
    if lab.target == "aws":
        return f"https://{api_id}.execute-api.{lab.region}.{partition.dns_suffix(lab.region)}/{lab.names.stage}"
    port = urlsplit(lab.endpoint_url).port
    return f"http://{api_id}.execute-api.localhost:{port}/{lab.names.stage}"


def invoke_url(lab: Lab) -> str:
    """The stage's invoke URL (Module 3, the test step): `https://<id>.execute-api.<region>.amazonaws.com/dev`
    on AWS (the partition's DNS suffix: `.amazonaws.com.cn` in the China regions),
    `http://<id>.execute-api.localhost:<port>/dev` on the local cloud (curl and browsers send
    names under .localhost to the loopback; `web.get` does too)."""
    return _url(lab, require(_raw_api(lab), f"REST API {lab.names.api}")["id"])


def _root_get_method(api: dict[str, Any]) -> dict[str, str]:
    return {"restApiId": api["id"], "resourceId": api["rootResourceId"], "httpMethod": "GET"}


def find_api(lab: Lab) -> ApiView | None:
    """The REST API (by name) with its GET / method, its stage and the stage's invoke URL, or None.

        >>> api.find_api(lab)["invoke_url"]  # https://<id>.execute-api.ap-northeast-2.amazonaws.com/dev on AWS
    """
    api = _raw_api(lab)
    if api is None:
        return None
    apigw = _apigw(lab)
    method = or_none(lambda: apigw.get_method(**_root_get_method(api)), "NotFoundException") or {}
    stage = or_none(lambda: apigw.get_stage(restApiId=api["id"], stageName=lab.names.stage), "NotFoundException")
    return ApiView(name=api["name"], id=api["id"], endpoint_type=api["endpointConfiguration"]["types"][0],
                   method="GET /" if method else None,
                   integration_type=(method.get("methodIntegration") or {}).get("type"),
                   stage=stage["stageName"] if stage else None, deployment=stage["deploymentId"] if stage else None,
                   invoke_url=_url(lab, api["id"]) if stage else None)


def _ensure_get_method(lab: Lab, api: dict[str, Any], uri: str) -> bool:
    """GET / with its Lambda integration and both 200 responses; True when anything was (re)written."""
    apigw, where = _apigw(lab), _root_get_method(api)
    method = or_none(lambda: apigw.get_method(**where), "NotFoundException")
    changed = method is None
    if method is None:
        apigw.put_method(**where, authorizationType="NONE")
        method = {}
    if "200" not in (method.get("methodResponses") or {}):
        apigw.put_method_response(**where, statusCode="200", responseModels={"application/json": "Empty"})
        changed = True
    integration = method.get("methodIntegration") or {}
    if (integration.get("type"), integration.get("httpMethod"), integration.get("uri")) != ("AWS", "POST", uri):
        apigw.put_integration(**where, type="AWS", integrationHttpMethod="POST", uri=uri,
                              passthroughBehavior="WHEN_NO_MATCH")
        integration, changed = {}, True
    if "200" not in (integration.get("integrationResponses") or {}):
        apigw.put_integration_response(**where, statusCode="200")
        changed = True
    return changed


def _permission_id(lab: Lab) -> str:
    return f"{lab.names.api}-invoke"


def _ensure_permission(lab: Lab, api_id: str, function_arn: str) -> None:
    """Let API Gateway invoke the function, for GET / of this API only (any stage)."""
    account = function_arn.split(":")[4]
    source_arn = partition.arn(lab, "execute-api", f"{api_id}/*/GET/", region=lab.region, account=account)
    lam, function = lab.client("lambda"), lab.names.function
    policy = or_none(lambda: lam.get_policy(FunctionName=function), "ResourceNotFoundException")
    statements = json.loads(policy["Policy"])["Statement"] if policy else []
    current = next((s for s in statements if s.get("Sid") == _permission_id(lab)), None)
    if current and current.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == source_arn:
        return
    if current:  # left from an API that was deleted and created again
        lam.remove_permission(FunctionName=function, StatementId=_permission_id(lab))
    lam.add_permission(FunctionName=function, StatementId=_permission_id(lab), Action="lambda:InvokeFunction",
                       Principal=APIGATEWAY_SERVICE, SourceArn=source_arn)


def _ensure_stage(lab: Lab, api_id: str, changed: bool) -> None:
    """Deploy to the stage when it is missing, or when the method or its integration changed."""
    apigw, stage = _apigw(lab), lab.names.stage
    if or_none(lambda: apigw.get_stage(restApiId=api_id, stageName=stage), "NotFoundException") is None:
        deployment = apigw.create_deployment(restApiId=api_id, description="serverless-app")["id"]
        apigw.create_stage(restApiId=api_id, stageName=stage, deploymentId=deployment, tags=lab.tag_map(2))
    elif changed:
        apigw.create_deployment(restApiId=api_id, stageName=stage, description="serverless-app")


def ensure_api(lab: Lab) -> ApiView:
    """The Regional REST API with GET / -> the function (non-proxy), deployed to stage `dev`."""
    function = require(find_function(lab), f"Lambda function {lab.names.function}")
    found = _raw_api(lab)
    if found is not None:
        ownership.require_lab("REST API", lab.names.api, ownership.api_tagged(lab, found))
    api = found or _apigw(lab).create_rest_api(
        name=lab.names.api, description=f"Module 2: GET / runs {lab.names.function}",
        endpointConfiguration={"types": ["REGIONAL"]}, tags=lab.tag_map(2))
    uri = _invocation_uri(lab, function["arn"])
    changed = _ensure_get_method(lab, api, uri)
    _ensure_permission(lab, api["id"], function["arn"])
    _ensure_stage(lab, api["id"], changed)
    return require(find_api(lab), f"REST API {lab.names.api}")


def delete_api(lab: Lab) -> bool:
    """Delete the API (its stage and deployments go with it) and its permission on the function."""
    api = _raw_api(lab)
    if api is None:
        return False
    or_none(lambda: lab.client("lambda").remove_permission(FunctionName=lab.names.function,
                                                           StatementId=_permission_id(lab)),
            "ResourceNotFoundException")
    # AWS allows one DeleteRestApi per account every 30 seconds.
    retry_while(lab, lambda: _apigw(lab).delete_rest_api(restApiId=api["id"]), "TooManyRequestsException")
    return True


# ---------------------------------------------------------------- calling the stage

ACCESS_DENIED_RETRY_S = 90.0  # how long a denial right after a policy change may last on AWS (IAM propagation)


def _denied(body: str) -> bool:
    """The function could not read the secret: its role's new policy has not reached Secrets Manager yet."""
    return "AccessDenied" in body


def call_stage(lab: Lab, url: str) -> tuple[int, str]:
    """GET the invoke URL as curl does: (HTTP status, body). On AWS, an answer saying access was denied is
    retried for a while (with progress): right after 04 changes the role's policies, IAM may take a minute to
    apply them everywhere, so the function's first calls can still be refused."""
    from .core import waiting, web

    def get() -> tuple[int, str]:
        status, _, data = web.get(url)
        return status, data.decode(errors="replace")

    status, body = get()
    if lab.target != "aws" or not _denied(body):
        return status, body
    progress = waiting.Progress(lab, "Invoke URL 호출 (IAM 정책 전파 대기)", "1분 이내")
    started = waiting.now()
    while _denied(body) and waiting.now() - started < ACCESS_DENIED_RETRY_S:
        progress.update("AccessDenied", waiting.now() - started, "함수 역할의 새 정책이 퍼지기를 기다리는 중")
        waiting.pause(lab.poll_interval)
        status, body = get()
    (progress.fail if _denied(body) else progress.finish)(str(status), waiting.now() - started)
    return status, body

import dataclasses
import json

from lab_helpers import api


def test_api_runs_the_function_through_a_non_proxy_integration(lab, function_ready, calls, rerun, has_lab_tags):
    created = api.ensure_api(lab)
    assert {key: created[key] for key in ("name", "endpoint_type", "method", "integration_type", "stage")} == {
        "name": "serverless-app-api", "endpoint_type": "REGIONAL", "method": "GET /", "integration_type": "AWS",
        "stage": "dev"}
    create = calls.one("CreateRestApi")
    assert create["endpointConfiguration"] == {"types": ["REGIONAL"]}
    assert has_lab_tags(create["tags"], 2)
    assert calls.one("PutMethod")["httpMethod"] == "GET"
    integration = calls.one("PutIntegration")
    assert (integration["type"], integration["integrationHttpMethod"]) == ("AWS", "POST")
    assert integration["uri"] == ("arn:aws:apigateway:ap-northeast-2:lambda:path/2015-03-31/functions/"
                                  f"{function_ready['arn']}/invocations")
    assert calls.one("PutMethodResponse")["statusCode"] == "200"
    assert calls.one("PutIntegrationResponse")["statusCode"] == "200"
    permission = calls.one("AddPermission")
    assert (permission["Principal"], permission["Action"]) == ("apigateway.amazonaws.com", "lambda:InvokeFunction")
    assert permission["SourceArn"] == f"arn:aws:execute-api:ap-northeast-2:123456789012:{created['id']}/*/GET/"
    stage = calls.one("CreateStage")
    assert stage["stageName"] == "dev" and has_lab_tags(stage["tags"], 2)
    assert api.find_api(lab) == created
    rerun(created, api.ensure_api)


def test_a_changed_integration_is_deployed_again(lab, function_ready, calls):
    created = api.ensure_api(lab)
    lab.client("apigateway").delete_integration(restApiId=created["id"], resourceId=_root(lab, created["id"]),
                                                httpMethod="GET")
    calls.clear()
    again = api.ensure_api(lab)
    assert calls.mutating() == ["PutIntegration", "PutIntegrationResponse", "CreateDeployment"]
    assert calls.one("CreateDeployment")["stageName"] == "dev"
    assert again["deployment"] != created["deployment"]


def test_a_permission_for_an_old_api_is_replaced(lab, function_ready, calls):
    api.ensure_api(lab)
    api.delete_api(lab)
    lab.client("lambda").add_permission(FunctionName="serverless-app-lambda", StatementId="serverless-app-api-invoke",
                                        Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                                        SourceArn="arn:aws:execute-api:ap-northeast-2:123456789012:old/*/GET/")
    created = api.ensure_api(lab)
    policy = json.loads(lab.client("lambda").get_policy(FunctionName="serverless-app-lambda")["Policy"])
    assert [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]] == [
        f"arn:aws:execute-api:ap-northeast-2:123456789012:{created['id']}/*/GET/"]


def test_invoke_url_on_aws_and_on_the_local_cloud(lab, function_ready):
    api_id = api.ensure_api(lab)["id"]
    on_aws = dataclasses.replace(lab, target="aws")
    assert api.invoke_url(on_aws) == f"https://{api_id}.execute-api.ap-northeast-2.amazonaws.com/dev"
    local = dataclasses.replace(lab, endpoint_url="http://127.0.0.1:4566")
    assert api.invoke_url(local) == f"http://{api_id}.execute-api.localhost:4566/dev"
    assert api.find_api(local)["invoke_url"] == api.invoke_url(local)


def test_delete_api_removes_its_permission(lab, function_ready, calls):
    api.ensure_api(lab)
    assert api.delete_api(lab) is True
    assert calls.params("RemovePermission")[0]["StatementId"] == "serverless-app-api-invoke"
    assert api.find_api(lab) is None
    assert api.delete_api(lab) is False


def _root(lab, api_id: str) -> str:
    return next(r["id"] for r in lab.client("apigateway").get_resources(restApiId=api_id)["items"] if r["path"] == "/")

import pytest

from lab_helpers import iam, network, proxy


def test_proxy_reads_the_secret_and_targets_the_database(lab, secret_ready, calls, rerun, has_lab_tags):
    created = proxy.ensure_proxy(lab)
    assert {key: created[key] for key in ("name", "state", "engine_family", "require_tls", "auth", "targets")} == {
        "name": "serverless-app-rds-proxy", "state": "available", "engine_family": "MYSQL", "require_tls": True,
        "auth": "SECRETS (IAM auth DISABLED)",
        "targets": [{"db": "serverless-app-rds", "type": "RDS_INSTANCE", "state": "AVAILABLE", "reason": None}]}
    create = calls.one("CreateDBProxy")
    assert create["EngineFamily"] == "MYSQL"
    assert create["Auth"] == [{"AuthScheme": "SECRETS", "SecretArn": secret_ready["arn"], "IAMAuth": "DISABLED",
                               "ClientPasswordAuthType": "MYSQL_NATIVE_PASSWORD"}]
    assert create["RoleArn"] == iam.find_proxy_role(lab)["arn"]
    assert create["VpcSubnetIds"] == network.subnet_ids(lab, "rds")
    assert create["VpcSecurityGroupIds"] == [network.security_group_id(lab, "rds-sg")]
    assert create["RequireTLS"] is True  # AWS's recommendation; the lesson explains it in 03
    assert has_lab_tags(create["Tags"], 3)
    assert calls.one("RegisterDBProxyTargets") == {"DBProxyName": "serverless-app-rds-proxy",
                                                    "DBInstanceIdentifiers": ["serverless-app-rds"]}
    assert proxy.find_proxy(lab) == created
    assert proxy.proxy_endpoint(lab) == created["endpoint"]
    assert created["endpoint"].startswith("serverless-app-rds-proxy.")
    rerun(created, proxy.ensure_proxy)


def test_delete_proxy_deregisters_the_database_first(lab, secret_ready, calls):
    proxy.ensure_proxy(lab)
    calls.clear()
    assert proxy.delete_proxy(lab) is True
    assert calls.mutating() == ["DeregisterDBProxyTargets", "DeleteDBProxy"]
    assert proxy.find_proxy(lab) is None
    assert proxy.delete_proxy(lab) is False


def test_wait_for_proxy_reports_an_unhealthy_target(lab, secret_ready, monkeypatch):
    proxy.ensure_proxy(lab)
    lab.poll_timeout = 0
    monkeypatch.setattr(proxy, "_targets", lambda _: [{"db": "serverless-app-rds", "type": "RDS_INSTANCE",
                                                       "state": "UNAVAILABLE", "reason": "AUTH_FAILURE"}])
    with pytest.raises(TimeoutError, match="AUTH_FAILURE"):
        proxy.wait_for_proxy(lab)


def test_on_aws_a_proxy_follows_a_new_secret_with_modify_db_proxy(lab, secret_ready):
    """The AWS-only path: ModifyDBProxy with the new secret's ARN (botocore's Stubber stands in for RDS)."""
    import dataclasses

    from botocore.stub import Stubber

    from lab_helpers import secrets

    old_arn = secret_ready["arn"]
    secrets.delete_secret(lab)
    new_arn = secrets.ensure_secret(lab)["arn"]
    on_aws = dataclasses.replace(lab, target="aws", _clients={})  # IAM and Secrets Manager on moto; RDS stubbed
    names = on_aws.names
    by_name = {"DBProxyName": names.proxy}

    def described(arn):
        arn_of_proxy = "arn:aws:rds:ap-northeast-2:123456789012:db-proxy:prx-1"
        return {"DBProxies": [{"DBProxyName": names.proxy, "DBProxyArn": arn_of_proxy,
                               "Status": "available", "EngineFamily": "MYSQL", "RequireTLS": True,
                               "Endpoint": f"{names.proxy}.proxy-x.ap-northeast-2.rds.amazonaws.com",
                               "Auth": [{"AuthScheme": "SECRETS", "SecretArn": arn, "IAMAuth": "DISABLED"}]}]}

    targets = {"Targets": [{"RdsResourceId": names.db_instance, "Type": "RDS_INSTANCE",
                            "TargetHealth": {"State": "AVAILABLE"}}]}
    stubber = Stubber(on_aws.client("rds"))
    stubber.add_response("describe_db_proxies", described(old_arn), by_name)
    stubber.add_response("list_tags_for_resource", {"TagList": on_aws.tags(3)},  # the lab's proxy: changed
                         {"ResourceName": "arn:aws:rds:ap-northeast-2:123456789012:db-proxy:prx-1"})
    stubber.add_response("modify_db_proxy", {"DBProxy": described(new_arn)["DBProxies"][0]},
                         {"DBProxyName": names.proxy, "Auth": [{"AuthScheme": "SECRETS", "SecretArn": new_arn,
                                                                "IAMAuth": "DISABLED",
                                                                "ClientPasswordAuthType": "MYSQL_NATIVE_PASSWORD"}],
                          "RequireTLS": True})
    stubber.add_response("describe_db_proxies", described(new_arn), by_name)  # available again
    stubber.add_response("describe_db_proxy_targets", targets, by_name)  # the database is registered
    stubber.add_response("describe_db_proxies", described(new_arn), by_name)  # wait_for_proxy
    stubber.add_response("describe_db_proxy_targets", targets, by_name)
    with stubber:
        ready = proxy.ensure_proxy(on_aws)
    stubber.assert_no_pending_responses()
    assert ready["state"] == "available" and ready["targets"][0]["state"] == "AVAILABLE"

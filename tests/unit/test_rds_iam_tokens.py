"""IAM authentication tokens as the local RDS Proxy checks them: what the proxy sees in a token (this
proxy, this user, 15 minutes on a fake clock), and what the local cloud checks (credentials it issued, the
signature, rds-db:connect in the signer's policies, moto's evaluator)."""
from __future__ import annotations

import json

import boto3
import pytest

from lab_helpers.local import LEARNER_ACCESS_KEY, LEARNER_SECRET_KEY, moto
from lab_helpers.local.rds.db_auth import DbAuthService
from lab_helpers.local.rds.proxy import ProxySettings, iam_auth
from lab_helpers.local.vpc.function_access import FunctionAccess

REGION = "ap-northeast-2"
ENDPOINT = "lab-proxy.proxy-abcdefghijkl.ap-northeast-2.rds.amazonaws.com"
RESOURCE_ID = "prx-0123456789abcdef0"
SETTINGS = ProxySettings(credentials={"admin": "pw"}, target=None, db_max_connections=10, iam_users=("admin",),
                         endpoint=ENDPOINT, region=REGION, account=moto.ACCOUNT, resource_id=RESOURCE_ID)
RESOURCE = iam_auth.resource_arn(SETTINGS, "admin")


def token(key: str = LEARNER_ACCESS_KEY, secret: str = LEARNER_SECRET_KEY, session_token: str | None = None,
          user: str = "admin", host: str = ENDPOINT, port: int = 3306) -> str:
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=session_token,
                            region_name=REGION)
    return session.client("rds").generate_db_auth_token(host, port, user)


def refusal(text: str, user: str = "admin", now: float | None = None) -> str | None:
    parsed = iam_auth.parse(text)
    try:
        iam_auth.check(parsed, user, SETTINGS, parsed.signed_at + 1 if now is None else now)
    except iam_auth.Refused as e:
        return str(e)
    return None


def test_the_resource_is_the_proxys_dbuser_arn():
    assert RESOURCE == f"arn:aws:rds-db:{REGION}:{moto.ACCOUNT}:dbuser:{RESOURCE_ID}/admin"


def test_a_token_is_good_for_fifteen_minutes_on_the_proxys_clock():
    text = token()
    signed_at = iam_auth.parse(text).signed_at
    assert refusal(text, now=signed_at + 899) is None
    assert refusal(text, now=signed_at + 900) is None
    assert "expired" in refusal(text, now=signed_at + 901)
    assert "future" in refusal(text, now=signed_at - 3600)


def test_a_token_for_another_user_host_or_port_is_refused():
    assert "user 'reader', not 'admin'" in refusal(token(user="reader"))
    assert "not " + ENDPOINT in refusal(token(host="other.proxy-abcdefghijkl.ap-northeast-2.rds.amazonaws.com"))
    assert "not " + ENDPOINT in refusal(token(port=3307))


def test_a_password_is_not_a_token():
    with pytest.raises(iam_auth.Refused, match="not a presigned"):
        iam_auth.parse("Passw0rd")
    for rotated in ("ab[c]d:e", "x:99999999/?y", "h:port/"):  # what urlsplit itself refuses is refused too
        with pytest.raises(iam_auth.Refused):
            iam_auth.parse(rotated)


@pytest.fixture
def function_role(lab):
    """A role Lambda may assume, with no policy yet, and the role session the cloud issued to a function."""
    iam = lab.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = iam.create_role(RoleName="lab-fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    access = FunctionAccess()
    fn = moto.awslambda.DeployedFunction(REGION, "fn", f"arn:aws:lambda:{REGION}:{moto.ACCOUNT}:function:fn",
                                       "", b"", "h.h", "python3.12", 3.0, 128, {}, role["Arn"], (), ())
    issued = access.credentials_for(fn)
    return iam, DbAuthService(access), issued


def grant(iam, resource: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
                                                      "Resource": resource}]}
    iam.put_role_policy(RoleName="lab-fn-role", PolicyName="connect", PolicyDocument=json.dumps(policy))


def function_token(issued: dict[str, str], **kwargs) -> str:
    return token(issued["AWS_ACCESS_KEY_ID"], issued["AWS_SECRET_ACCESS_KEY"], issued["AWS_SESSION_TOKEN"], **kwargs)


def test_a_function_role_needs_rds_db_connect_on_the_dbuser(function_role):
    iam, service, issued = function_role
    allowed, why = service.verify(function_token(issued), RESOURCE)
    assert not allowed and "no identity-based policy" in why and "rds-db:connect" in why
    grant(iam, RESOURCE)
    assert service.verify(function_token(issued), RESOURCE)[0]
    other = iam_auth.resource_arn(SETTINGS, "reader")
    assert not service.verify(function_token(issued, user="reader"), other)[0]


def test_a_wildcard_grant_for_the_proxy_covers_its_users(function_role):
    iam, service, issued = function_role
    grant(iam, f"arn:aws:rds-db:{REGION}:{moto.ACCOUNT}:dbuser:{RESOURCE_ID}/*")
    assert service.verify(function_token(issued), RESOURCE)[0]
    assert not service.verify(function_token(issued), RESOURCE.replace(RESOURCE_ID, "prx-another"))[0]


def test_credentials_the_cloud_never_issued_are_refused(function_role):
    """Unit level: each reason the verifier refuses, named; the integration test
    test_a_token_signed_with_keys_the_cloud_never_issued_is_access_denied covers the proxy asking it and the 1045."""
    iam, service, issued = function_role
    grant(iam, RESOURCE)
    allowed, why = service.verify(token("AKIANEVERISSUED00000", "whatever"), RESOURCE)
    assert not allowed and "never issued" in why
    forged = token(issued["AWS_ACCESS_KEY_ID"], "not-the-secret-key", issued["AWS_SESSION_TOKEN"])
    allowed, why = service.verify(forged, RESOURCE)
    assert not allowed and "signature does not match" in why
    allowed, why = service.verify(token(issued["AWS_ACCESS_KEY_ID"], issued["AWS_SECRET_ACCESS_KEY"], "stolen"),
                                  RESOURCE)
    assert not allowed and "security token" in why
    assert not service.verify(token(LEARNER_ACCESS_KEY, "not-lab"), RESOURCE)[0]


def test_a_token_changed_after_signing_is_refused(function_role):
    iam, service, issued = function_role
    grant(iam, f"arn:aws:rds-db:{REGION}:{moto.ACCOUNT}:dbuser:{RESOURCE_ID}/*")
    changed = function_token(issued).replace("DBUser=admin", "DBUser=reader")
    allowed, why = service.verify(changed, iam_auth.resource_arn(SETTINGS, "reader"))
    assert not allowed and "signature does not match" in why


def test_the_learners_keys_are_the_accounts_administrator(lab):
    service = DbAuthService(FunctionAccess())
    assert service.verify(token(), RESOURCE) == (True, "signed with the learner's keys (the account's administrator)")

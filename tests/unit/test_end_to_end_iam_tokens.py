"""End-to-end IAM authentication (DefaultAuthScheme IAM_AUTH), the database's half, on in-process moto: the token a
proxy signs with its role's session, and each check the database's side makes before it lets the proxy in (the
release of the user's password itself needs MariaDB: tests/integration/test_rds_end_to_end_iam.py)."""
from __future__ import annotations

import json

import boto3
import pytest

from lab_helpers.local import LEARNER_ACCESS_KEY, moto
from lab_helpers.local.rds import iam_db_login
from lab_helpers.local.rds.db_auth import DbAuthService
from lab_helpers.local.rds.iam_db_login import IamDbLogin
from lab_helpers.local.rds.proxy import end_to_end, iam_auth
from lab_helpers.local.rds.proxy_role import ProxyRoleSessions
from lab_helpers.local.vpc.function_access import FunctionAccess

REGION = "ap-northeast-2"
USER = "jane"


@pytest.fixture
def side(lab, db_ready):
    """The DB instance (its own resource id), the proxy's role (trusting RDS, no policy yet), that role's session as
    the cloud issues it to a proxy, and the database's side."""
    iam = lab.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "rds.amazonaws.com"}}]}
    role = iam.create_role(RoleName="lab-proxy-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    moto.rds.give_resource_id(moto.ACCOUNT, REGION, lab.names.db_instance)
    (db,) = moto.rds.db_instances()
    sessions = ProxyRoleSessions()
    credentials = sessions.credentials_for(moto.ACCOUNT, REGION, "lab-e2e", role["Arn"])
    service = IamDbLogin(mariadb=None, iam=DbAuthService(FunctionAccess(), sessions))
    return {"db": db, "iam": iam, "role": role, "credentials": credentials, "service": service}


def enable_iam(lab) -> None:
    lab.client("rds").modify_db_instance(DBInstanceIdentifier=lab.names.db_instance,
                                         EnableIAMDatabaseAuthentication=True, ApplyImmediately=True)


def dbuser_arn(db, user: str = USER) -> str:
    return f"arn:aws:rds-db:{REGION}:{moto.ACCOUNT}:dbuser:{db.resource_id}/{user}"


def proxy_token(side, user: str = USER, endpoint: tuple[str, int] | None = None) -> str:
    return end_to_end.sign(side["credentials"], endpoint or (side["db"].address, side["db"].port), user, REGION)


def test_each_instance_gets_its_own_resource_id_once(side, lab):
    rid = side["db"].resource_id
    assert rid.startswith("db-") and len(rid) == 29 and rid != "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"  # moto's, for all
    moto.rds.give_resource_id(moto.ACCOUNT, REGION, lab.names.db_instance)
    (described,) = lab.client("rds").describe_db_instances(DBInstanceIdentifier=lab.names.db_instance)["DBInstances"]
    assert described["DbiResourceId"] == rid


def test_the_proxys_token_is_what_generate_db_auth_token_makes(side):
    db, (key, secret, session_token) = side["db"], side["credentials"]
    ours = iam_auth.parse(proxy_token(side))
    made = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=session_token,
                         region_name=REGION).client("rds").generate_db_auth_token(db.address, db.port, USER)
    theirs = iam_auth.parse(made)
    assert (ours.host, ours.port, ours.user, ours.access_key, ours.region, ours.service, ours.expires) == (
        theirs.host, theirs.port, theirs.user, theirs.access_key, theirs.region, theirs.service, theirs.expires)
    assert (ours.host, ours.port, ours.service, ours.expires) == (db.address.lower(), 3306, "rds-db", 900)


def test_an_instance_without_iam_database_authentication_refuses(side, lab):
    """Unit level: the reason named; the integration test
    test_an_instance_without_iam_database_authentication_is_refused covers ModifyDBInstance turning it off and on and
    the client's 1045."""
    password, why = side["service"].login(proxy_token(side), USER)
    assert password is None
    assert why == f"IAM database authentication is not enabled on DB instance {lab.names.db_instance}"


def test_the_proxys_role_needs_rds_db_connect_on_the_instances_dbuser(side, lab):
    """Unit level: the policy named in the refusal, and the proxy's own dbuser ARN not enough; the integration test
    test_the_proxys_role_without_rds_db_connect_on_the_user_is_refused covers the client's 1045 and the grant's fix."""
    enable_iam(lab)
    password, why = side["service"].login(proxy_token(side), USER)
    assert password is None  # the signature was good: IAM's refusal is the policy's
    assert why == f"no identity-based policy of {side['role']['Arn']} allows rds-db:connect on {dbuser_arn(side['db'])}"
    prx_arn = f"arn:aws:rds-db:{REGION}:{moto.ACCOUNT}:dbuser:prx-0123456789abcdef0/{USER}"  # the proxy's, not the DB's
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
                                                      "Resource": prx_arn}]}
    side["iam"].put_role_policy(RoleName="lab-proxy-role", PolicyName="connect", PolicyDocument=json.dumps(policy))
    assert "no identity-based policy" in side["service"].login(proxy_token(side), USER)[1]


def test_a_token_past_fifteen_minutes_or_for_another_name_is_refused(side, lab, monkeypatch):
    enable_iam(lab)
    token = proxy_token(side)
    monkeypatch.setattr(iam_db_login, "clock", lambda: iam_auth.parse(token).signed_at + 901)
    assert "expired" in side["service"].login(token, USER)[1]
    monkeypatch.undo()
    assert "not 'kim'" in side["service"].login(proxy_token(side), "kim")[1]  # the login's user, not the token's
    other = proxy_token(side, endpoint=("lab-proxy.proxy-abcdefghijkl.ap-northeast-2.rds.amazonaws.com", 3306))
    assert "no DB instance answers" in side["service"].login(other, USER)[1]
    assert "no DB instance answers" in side["service"].login(proxy_token(side, endpoint=(side["db"].address, 3307)),
                                                             USER)[1]
    assert "not a presigned" in side["service"].login("the-master-password", USER)[1]


def test_keys_the_cloud_never_issued_or_a_wrong_secret_are_refused(side, lab):
    enable_iam(lab)
    key, _, session_token = side["credentials"]
    db = side["db"]
    forged = end_to_end.sign((key, "not-the-secret-key", session_token), (db.address, db.port), USER, REGION)
    assert "signature does not match" in side["service"].login(forged, USER)[1]
    stranger = end_to_end.sign(("ASIANEVERISSUED00000", "x", "y"), (db.address, db.port), USER, REGION)
    assert "never issued" in side["service"].login(stranger, USER)[1]
    learner = boto3.Session(aws_access_key_id=LEARNER_ACCESS_KEY, aws_secret_access_key="not-the-learners",
                            region_name=REGION).client("rds").generate_db_auth_token(db.address, db.port, USER)
    assert "signature does not match" in side["service"].login(learner, USER)[1]

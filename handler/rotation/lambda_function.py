"""Secrets Manager rotation function for the lab's database secret: MySQL, single-user strategy.

Secrets Manager calls it four times per rotation, with the secret's ARN, the new version's id
(ClientRequestToken) and the step, in this order (each step may be retried, so each is idempotent):

  createSecret  a new password, stored as the new version with the AWSPENDING label
  setSecret     the database user's password changed to it (logged in with the current one)
  testSecret    a login with the pending password, and a query
  finishSecret  AWSCURRENT moved to the new version (Secrets Manager moves AWSPREVIOUS to the old one)

The secret is the lab's JSON (username, password, host, port, engine). The function runs in the lab's
VPC: it reaches Secrets Manager through the interface endpoint and the database directly (the
instance's endpoint from the secret), with a role that may read and write only this secret.
"""
import json

import boto3
import pymysql

PASSWORD_LENGTH = 32
# characters RDS refuses in a master password (/, ", @, space) and the quote, to keep SQL and shells simple
EXCLUDE_CHARACTERS = "/@\"' \\`"
CONNECT_TIMEOUT_S = 5

secrets = boto3.client("secretsmanager")


def lambda_handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    metadata = secrets.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    versions = metadata.get("VersionIdsToStages", {})
    if token not in versions:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}")
    if "AWSCURRENT" in versions[token]:
        print(f"Secret version {token} is already AWSCURRENT for secret {arn}: nothing to do")
        return
    if "AWSPENDING" not in versions[token]:
        raise ValueError(f"Secret version {token} is not AWSPENDING for rotation of secret {arn}")
    steps = {"createSecret": create_secret, "setSecret": set_secret, "testSecret": test_secret,
             "finishSecret": finish_secret}
    if step not in steps:
        raise ValueError(f"Invalid step parameter {step!r}")
    steps[step](arn, token)


def secret_dict(arn, stage, token=None):
    """The secret's JSON at `stage` (and version `token`), checked for the fields a MySQL secret needs."""
    kwargs = {"SecretId": arn, "VersionStage": stage}
    if token:
        kwargs["VersionId"] = token
    value = json.loads(secrets.get_secret_value(**kwargs)["SecretString"])
    missing = [key for key in ("username", "password", "host") if key not in value]
    if missing:
        raise KeyError(f"the secret has no {', '.join(missing)}")
    return value


def create_secret(arn, token):
    current = secret_dict(arn, "AWSCURRENT")
    try:
        secret_dict(arn, "AWSPENDING", token)
        print(f"createSecret: the pending version {token} has its value already")
        return
    except secrets.exceptions.ResourceNotFoundException:
        pass
    password = secrets.get_random_password(PasswordLength=PASSWORD_LENGTH,
                                           ExcludeCharacters=EXCLUDE_CHARACTERS)["RandomPassword"]
    secrets.put_secret_value(SecretId=arn, ClientRequestToken=token,
                             SecretString=json.dumps({**current, "password": password}),
                             VersionStages=["AWSPENDING"])
    print(f"createSecret: stored the new version {token} as AWSPENDING")


def connect(secret):
    """A connection as the secret's user, or None when the database refuses the password."""
    try:
        # PyMySQL's default: TLS when the database offers it (RDS does), its certificate not checked
        # (RDS's own CA bundle is not in the runtime's trust store; the lab does not ship it)
        return pymysql.connect(host=secret["host"], port=int(secret.get("port", 3306)), user=secret["username"],
                               password=secret["password"], connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)
    except pymysql.err.OperationalError as e:
        if e.args and e.args[0] == 1045:  # access denied: not this password
            return None
        raise


def set_secret(arn, token):
    pending = secret_dict(arn, "AWSPENDING", token)
    conn = connect(pending)
    if conn:  # a retry of this step: the database has the new password already
        conn.close()
        print("setSecret: the database accepts the pending password already")
        return
    current = secret_dict(arn, "AWSCURRENT")
    conn = connect(current)
    if conn is None:
        try:  # the last rotation may have stopped between setSecret and finishSecret
            conn = connect(secret_dict(arn, "AWSPREVIOUS"))
        except secrets.exceptions.ResourceNotFoundException:
            conn = None
    if conn is None:
        raise ValueError("setSecret: the database refuses the current, pending and previous passwords")
    try:
        with conn.cursor() as cursor:
            # the user as RDS makes its master user ('name'@'%'), as AWS's single-user template does
            cursor.execute("ALTER USER %s IDENTIFIED BY %s", (pending["username"], pending["password"]))
    finally:
        conn.close()
    print(f"setSecret: the password of {pending['username']} is now the pending one")


def test_secret(arn, token):
    conn = connect(secret_dict(arn, "AWSPENDING", token))
    if conn is None:
        raise ValueError("testSecret: the database refuses the pending password")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT NOW()")
            cursor.fetchone()
    finally:
        conn.close()
    print("testSecret: logged in with the pending password")


def finish_secret(arn, token):
    versions = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current == token:
        print(f"finishSecret: {token} is AWSCURRENT already")
        return
    secrets.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                        RemoveFromVersionId=current)
    print(f"finishSecret: AWSCURRENT moved from {current} to {token}")

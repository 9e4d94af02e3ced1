"""Module 3 Step 1: the database credentials in AWS Secrets Manager.

The secret has the shape the console's "Credential for RDS database" type stores (username,
password, engine, host, port, dbInstanceIdentifier), so RDS Proxy and the function can both read
it. Rotation stays off, as in the module. Nothing here ever returns the secret's value.
"""
from __future__ import annotations

import json
from typing import Any, TypedDict

from . import rds
from .core import ownership
from .core.config import Lab
from .core.waiting import or_none, require, wait_until


class SecretView(TypedDict):
    """The secret as `find_secret` shows it (never its value)."""
    name: str
    arn: str  # ends in a random suffix: a secret stored again under the same name gets a new ARN
    description: str
    rotation_enabled: bool
    rotation_function: str  # the rotation function's name ("" without one)


def _sm(lab: Lab) -> Any:  # a boto3 client
    return lab.client("secretsmanager")


def _describe(lab: Lab) -> dict[str, Any] | None:
    return or_none(lambda: _sm(lab).describe_secret(SecretId=lab.names.secret), "ResourceNotFoundException")


def find_secret(lab: Lab) -> SecretView | None:
    """Name, ARN and rotation state of the secret (never its value).

        >>> secrets.find_secret(lab)["rotation_enabled"]  # False: rotation stays off, as in the module
    """
    secret = _describe(lab)
    if secret is None:
        return None
    return SecretView(name=secret["Name"], arn=secret["ARN"], description=secret.get("Description", ""),
                      rotation_enabled=bool(secret.get("RotationEnabled")),
                      rotation_function=(secret.get("RotationLambdaARN") or "").rsplit(":", 1)[-1])


def _credentials(lab: Lab) -> str:
    """The secret's JSON, from the database instance and its master credentials."""
    # One DescribeDBInstances for the host and the rest (rds.db_host would describe the instance again).
    db = require(rds.find_db_instance(lab), f"DB instance {lab.names.db_instance}")
    host = require(db["host"], f"endpoint of DB instance {lab.names.db_instance}")
    names = lab.names
    return json.dumps({"username": names.db_master_user, "password": names.db_master_password,
                       "engine": db["engine"], "host": host, "port": db["port"], "dbInstanceIdentifier": db["name"]})


def ensure_secret(lab: Lab) -> SecretView:
    """Step 1.2-6: store the database's credentials (no rotation)."""
    found = _describe(lab)
    if found is not None:
        ownership.require_lab("Secrets Manager 보안 암호", lab.names.secret, ownership.secret_tagged(lab, found))
    else:
        _sm(lab).create_secret(Name=lab.names.secret, SecretString=_credentials(lab),
                               Description=f"Credentials for RDS database {lab.names.db_instance}",
                               Tags=lab.tags(3))
    return require(find_secret(lab), f"secret {lab.names.secret}")


def database_password(lab: Lab) -> str:
    """The database master user's password now: the secret's current one when the secret exists for that user
    (it changes with every rotation, notebook 07), else the module's."""
    found = or_none(lambda: _sm(lab).get_secret_value(SecretId=lab.names.secret, VersionStage="AWSCURRENT"),
                    "ResourceNotFoundException", "InvalidRequestException")
    try:
        secret = json.loads(found["SecretString"]) if found else {}
    except (ValueError, TypeError):
        secret = {}
    if secret.get("username") == lab.names.db_master_user and secret.get("password"):
        return str(secret["password"])
    return lab.names.db_master_password


def delete_secret(lab: Lab) -> bool:
    """Delete at once, without the recovery window, and wait until the name is free for a re-run. When the
    secret holds a rotated password (notebook 07), the database's master password is first set back to the
    module's: the secret is its only copy, and Module 2's function has the module's in its code."""
    if _describe(lab) is None:
        return False
    if database_password(lab) != lab.names.db_master_password:
        rds.reset_master_password(lab)
    _sm(lab).delete_secret(SecretId=lab.names.secret, ForceDeleteWithoutRecovery=True)
    wait_until(lab, f"secret {lab.names.secret} deleted", lambda: _describe(lab), lambda s: s is None)
    return True

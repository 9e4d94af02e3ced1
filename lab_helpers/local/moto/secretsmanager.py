"""Secrets Manager in moto: a secret's value, versions and labels, what RotateSecret stores, and the patch that
makes GetSecretValue follow AWSCURRENT.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contract import ACCOUNT, assumption
from .patches import register


def secret_string(account: str, region: str, secret_id: str) -> str | None:
    """The secret's current SecretString, or None when it is missing, deleted or has no string."""
    from moto.secretsmanager.exceptions import SecretsManagerClientError
    from moto.secretsmanager.models import secretsmanager_backends

    with assumption("secretsmanager_backends[account][region].get_secret_value(id, version, stage) -> dict"):
        backend = secretsmanager_backends[account][region]
    try:
        with assumption("get_secret_value(secret_id, version_id, version_stage) returns {'SecretString': ...}"):
            value = backend.get_secret_value(secret_id, None, "AWSCURRENT")  # type: ignore[arg-type]  # moto types it str, passes None
            return value.get("SecretString")
    except SecretsManagerClientError:  # not found, deleted, no value
        return None


@dataclass(frozen=True)
class SecretVersions:
    arn: str
    name: str
    versions: dict[str, tuple[str, ...]]  # version id -> its staging labels
    rotation_lambda_arn: str


def _secret(region: str, secret_id: str) -> Any:  # moto's FakeSecret, or None
    from moto.secretsmanager.models import secretsmanager_backends

    with assumption("SecretsManagerBackend.secrets maps names to FakeSecret; _is_valid_identifier takes a name or ARN"):
        backend = secretsmanager_backends[ACCOUNT][region]
        if not backend._is_valid_identifier(secret_id):
            return None
        secret = backend.secrets[secret_id]
    return None if secret.is_deleted() else secret


def secret_versions(region: str, secret_id: str) -> SecretVersions | None:
    """A secret's versions and their staging labels, and its rotation function; None when missing or deleted."""
    secret = _secret(region, secret_id)
    if secret is None:
        return None
    with assumption("FakeSecret has arn, name, versions {id: {'version_stages': [...]}}, rotation_lambda_arn"):
        return SecretVersions(secret.arn, secret.name,
                              {v: tuple(data.get("version_stages", ())) for v, data in secret.versions.items()},
                              secret.rotation_lambda_arn or "")


def start_rotation(region: str, secret_id: str, token: str, lambda_arn: str, days: int | None,
                   pending: bool = True) -> None:
    """WRITES MOTO'S STATE: what RotateSecret stores before the rotation function runs: the rotation (function,
    schedule, enabled) and, with `pending`, a new empty version `token` with AWSPENDING (moved off others)."""
    import time

    secret = _secret(region, secret_id)
    if secret is None:
        raise LookupError(f"no secret {secret_id} in {region}")
    with assumption("FakeSecret.rotation_lambda_arn/auto_rotate_after_days/rotation_enabled/versions are attributes; "
                    "remove_version_stages_from_old_versions(stages)"):
        secret.rotation_lambda_arn = lambda_arn
        if days:
            secret.auto_rotate_after_days = int(days)
            secret.next_rotation_date = int(time.time()) + int(days) * 86400
        secret.rotation_enabled = True
        secret.rotation_requested = True
        if pending:
            secret.remove_version_stages_from_old_versions(["AWSPENDING"])
            version = secret.versions.setdefault(token, {"createdate": int(time.time()), "version_id": token,
                                                         "version_stages": []})
            version["version_stages"].append("AWSPENDING")
            secret.last_rotation_date = int(time.time())


@register("secretsmanager current stage", "moto.secretsmanager.models:SecretsManagerBackend",
          ("update_secret_version_stage",),
          "SecretsManagerBackend.update_secret_version_stage(secret_id, version_stage, remove_from, move_to); "
          "FakeSecret.versions, set_default_version_id, secret_string")
def current_stage_follows(originals: dict[str, Any]) -> dict[str, Any]:
    """Moving AWSCURRENT with UpdateSecretVersionStage makes that version the one GetSecretValue returns by
    default (moto keeps answering the old default version)."""
    original = originals["update_secret_version_stage"]

    def update_secret_version_stage(backend: Any, secret_id: str, version_stage: str,
                                    remove_from_version_id: str | None, move_to_version_id: str | None) -> Any:
        answer = original(backend, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            secret = backend.secrets[secret_id]
            secret.set_default_version_id(move_to_version_id)
            version = secret.versions[move_to_version_id]
            if "secret_string" in version:
                secret.secret_string = version["secret_string"]
        return answer

    return {"update_secret_version_stage": update_secret_version_stage}


def secret_arn(region: str, secret_id: str) -> str:
    """The ARN for a secret name or ARN (the name's would-be ARN when no such secret exists)."""
    from moto.secretsmanager.models import secretsmanager_backends

    if secret_id.startswith("arn:"):
        return secret_id
    with assumption("SecretsManagerBackend.secrets maps names to secrets with .arn"):
        secrets = secretsmanager_backends[ACCOUNT][region].secrets
        if secret_id in secrets:
            return secrets[secret_id].arn
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret_id}"



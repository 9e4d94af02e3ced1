"""Beyond the module (notebook 08): Lambda Duration with an IAM authentication token against the secret.

With the secret (the project's Module 3 function) a cold start reads the secret from Secrets Manager, then logs in
with its password over TLS; with a token (handler/iam_auth) it signs a token locally (SigV4, no AWS call), then logs
in with the token in clear text over TLS, and RDS Proxy checks it (on the local cloud: a call to the cloud's
endpoint, as RDS Proxy asks IAM). Warm invocations reuse the module-scope connection in both.

The two cannot take turns: the database user logs in with a token only while its secret's IAMAuth is REQUIRED, and
with the password only while it is DISABLED. So the secret is measured first, then the token, then IAMAuth and the
role's rds-db:connect policy are put back as they were.
"""
from __future__ import annotations

import statistics
from typing import Any

from .. import iam, iam_db_auth, lambda_fn
from ..core.config import Lab
from .cloud import require_local
from .functions import (
    FUNCTION_TIMEOUT_S,
    checked,
    delete_measurement_function,
    deploy_variant,
    invoke,
    lambda_client,
    measured_ms,
)
from .invoke_durations import percentile

AUTH_VARIANTS = (
    ("module3", "the secret: read from Secrets Manager at a cold start, the password over TLS"),
    ("iam_auth", "an IAM token: signed locally at a cold start, checked by RDS Proxy, over TLS"),
)


def token_function(lab: Lab) -> str:
    """The token variant's name (only `make bench` deploys it, on a cloud of its own, and deletes it after)."""
    return f"{lab.names.function}-iam"


def _deploy_token_function(lab: Lab) -> str:
    return lambda_fn.ensure_function(lab, lambda_fn.build_package("iam_auth"), iam_db_auth.iam_environment(lab),
                                     name=token_function(lab), timeout_s=FUNCTION_TIMEOUT_S, module=3)["name"]


def _measured(lab: Lab, key: str, name: str, description: str, warm: int) -> dict[str, Any]:
    client = lambda_client(lab)
    cold = checked(invoke(client, name), name)
    values = [measured_ms(invoke(client, name), name) for _ in range(warm)]
    return {"variant": key, "function": name, "description": description, "cold_ms": cold["duration_ms"],
            "init_ms": cold["init_ms"], "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 95), 2)}


def token_vs_secret(lab: Lab, warm: int = 20) -> list[dict[str, Any]]:
    """Cold and warm Duration (Lambda's REPORT lines) with the secret, then with a token; one row each:
    {"variant", "function", "description", "cold_ms", "init_ms", "median_ms", "p95_ms"}. New functions each time,
    so that the first invocation is a cold start; IAMAuth and the connect policy are put back as they were."""
    require_local(lab)
    delete_measurement_function(lab, "module3")
    lambda_fn.delete_function(lab, token_function(lab))
    descriptions = dict(AUTH_VARIANTS)
    rows = [_measured(lab, "module3", deploy_variant(lab, "module3"), descriptions["module3"], warm)]
    had_policy = iam.find_function_connect_policy(lab) is not None
    mode = iam_db_auth.iam_auth_mode(lab)
    try:
        iam_db_auth.require_iam_auth(lab)
        iam_db_auth.ensure_connect_policy(lab)
        rows.append(_measured(lab, "iam_auth", _deploy_token_function(lab), descriptions["iam_auth"], warm))
    finally:
        if mode != "REQUIRED":
            iam_db_auth.set_iam_auth(lab, mode or "DISABLED")
        if not had_policy:
            iam.delete_function_connect_policy(lab)
        delete_measurement_function(lab, "module3")
        lambda_fn.delete_function(lab, token_function(lab))
    return rows

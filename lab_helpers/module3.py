"""Module 3 in one call: every step of the module, in order, on top of the Module 2 baseline.

The notebooks take these steps one cell at a time; tests, benchmarks and a learner who wants
to catch up use `ensure_module3(lab)`.
"""
from __future__ import annotations

from typing import Any

from . import iam, lambda_fn, network, proxy, secrets


def function_environment(lab) -> dict[str, str]:
    """What Module 3's function is told: which secret to read, and the proxy's read/write endpoint."""
    return {"SECRET_NAME": lab.names.secret, "DB_HOST": proxy.proxy_endpoint(lab)}


def deploy_function(lab) -> dict[str, Any]:
    """Step 3.4-6: Module 3's code, with the secret name and proxy endpoint as environment variables."""
    return lambda_fn.ensure_function(lab, lambda_fn.build_package("module3"), function_environment(lab))


def ensure_module3(lab) -> dict[str, Any]:
    secret = secrets.ensure_secret(lab)  # Step 1.1-6
    summary: dict[str, Any] = {
        "secret": secret,
        "dns_hostnames": network.enable_dns_hostnames(lab),  # Step 1.8-9
        "secret_sg": network.ensure_secret_sg(lab),  # Step 1.10-12
        "secrets_endpoint": network.ensure_secrets_endpoint(lab),  # Step 1.13-17
        "rds_sg_self": network.allow_rds_sg_self(lab),  # Step 2.7: the rule the proxy needs
        "proxy": proxy.ensure_proxy(lab),  # Step 2.2-9 (with its IAM role)
        "function_policy": iam.ensure_function_secret_policy(lab, secret["arn"]),  # Step 3.2-3, least privilege
    }
    iam.detach_secrets_manager_read_write(lab)
    summary["function"] = deploy_function(lab)
    return summary

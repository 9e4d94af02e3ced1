"""The gateway's guard that refuses, before moto sees it, a call AWS would refuse.

Every signed call to one of the lab's services is read back into its operation and parameters (moto's
model-driven router and parsers; a JSON-protocol body as sent, so its value types are checked too), then:
1. its parameters against botocore's model (`constraints.py`);
2. the IAM policies and principals it carries (`policies.py`);
3. the cross-resource rule of its service for that operation, if any (given by the cloud: `rds/rules.py`,
   `awslambda/rules.py`, `vpc/rules.py`).
The first refusal is answered in the service's wire format; a call that passes goes on to the providers and moto.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .. import moto
from ..gateway import Request, Response
from . import constraints, policies, wire
from .refusal import Refusal

log = logging.getLogger(__name__)
# signing name (the SigV4 scope's service) -> botocore's service name, for the services the lab calls
SERVICES = {"iam": "iam", "sts": "sts", "ec2": "ec2", "rds": "rds", "secretsmanager": "secretsmanager",
            "lambda": "lambda", "apigateway": "apigateway", "logs": "logs", "servicequotas": "service-quotas"}

Rule = Callable[[str, dict[str, Any]], None]  # (region, parameters) -> None, or raises Refusal
Rules = Mapping[str, Mapping[str, Rule]]  # botocore service name -> operation name -> rule


class Strict:
    """Guard (see gateway.py): a refusal in the service's wire format, or None to let the call through."""

    def __init__(self, rules: Rules | None = None, default_region: str = ""):
        self.rules = rules or {}
        self.default_region = default_region  # for a rule of a call signed without a region (IAM's global scope)

    def check(self, request: Request) -> Response | None:
        service = SERVICES.get(request.service or "")
        if service is None:
            return None
        parsed = moto.requests.parse_request(service, request.method, request.path, request.query, request.headers,
                                            request.body)
        if parsed is None:
            return None
        operation = parsed.operation
        sent = _json_body(request.body) if parsed.protocol == "json" else None
        params = sent if sent is not None else parsed.params
        try:
            constraints.check(service, parsed.protocol, operation, params)
            policies.check(service, operation.name, params)
            rule = self.rules.get(service, {}).get(operation.name)
            if rule is not None:
                rule(request.region or self.default_region, params)
        except Refusal as refusal:
            log.info("refused %s %s as AWS would: %s", service, operation.name, refusal)
            return wire.answer(service, parsed.protocol, operation.service_model.metadata, refusal)
        return None

    def warm_up(self) -> None:
        """Load each service's model and router now (the first call of each otherwise takes up to ~0.5 s)."""
        for service in SERVICES.values():
            moto.requests.parse_request(service, "POST", "/", "", {}, b"")


def _json_body(raw: bytes) -> dict[str, Any] | None:
    """A JSON-protocol call's body as sent (its values' JSON types unconverted), or None."""
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

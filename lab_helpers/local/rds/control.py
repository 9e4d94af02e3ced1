"""RDS API calls moto does not answer, answered here in AWS's wire format:

- DescribeDBProxyEndpoints: each proxy's default read/write endpoint (Step 2, item 9 of the module
  looks at exactly this screen);
- ModifyDBProxy: the secret(s) and each one's IAMAuth (auth_config.py), DefaultAuthScheme, RequireTLS,
  IdleClientTimeout, debug logging, security groups, so that the lab's helpers have one code path for both targets.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from xml.sax.saxutils import escape

from .. import moto
from ..gateway import Response
from . import auth_config

ENDPOINT_NAME = "default"  # the name of the endpoint RDS makes with every proxy


def _error(status: int, code: str, message: str) -> Response:
    body = (f'<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body.encode()


def _members(form: dict[str, list[str]], prefix: str) -> list[dict[str, str]]:
    """Query-protocol lists of structures: Auth.member.1.SecretArn=... -> [{"SecretArn": ...}, ...]."""
    found: dict[int, dict[str, str]] = {}
    for key, values in form.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[0] == prefix and parts[1] == "member" and parts[2].isdigit():
            found.setdefault(int(parts[2]), {})[parts[3]] = values[0]
    return [found[i] for i in sorted(found)]


def _strings(form: dict[str, list[str]], prefix: str) -> list[str] | None:
    values = [(int(k.split(".")[2]), v[0]) for k, v in form.items()
              if k.startswith(prefix + ".member.") and k.split(".")[2].isdigit()]
    return [v for _, v in sorted(values)] if values else None


def _first(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _boolean(form: dict[str, list[str]], name: str) -> bool | None:
    return form[name][0].lower() == "true" if name in form else None


def describe_db_proxy_endpoints(region: str, form: dict[str, list[str]]) -> Response:
    wanted = _first(form, "DBProxyName")
    endpoint_name = _first(form, "DBProxyEndpointName")
    proxies = [p for p in moto.rds.db_proxies() if p.region == region and wanted in (None, p.name)]
    if wanted and not proxies:
        return _error(404, "DBProxyNotFoundFault", f"The specified proxy name {wanted} doesn't correspond to a "
                                                   f"proxy owned by your Amazon Web Services account in the "
                                                   f"specified Amazon Web Services Region.")
    if endpoint_name not in (None, ENDPOINT_NAME):
        return _error(404, "DBProxyEndpointNotFoundFault", f"The DB proxy endpoint {endpoint_name} doesn't exist.")
    endpoints = [{"DBProxyEndpointName": ENDPOINT_NAME, "DBProxyName": p.name, "Endpoint": p.endpoint,
                  "Status": "available", "VpcId": p.vpc_id, "VpcSubnetIds": list(p.vpc_subnet_ids),
                  "VpcSecurityGroupIds": list(p.vpc_security_group_ids), "TargetRole": "READ_WRITE",
                  "IsDefault": True} for p in proxies]
    return moto.aws_response("rds", "DescribeDBProxyEndpoints", {"DBProxyEndpoints": endpoints})


def modify_db_proxy(region: str, form: dict[str, list[str]]) -> Response:
    name = (form.get("DBProxyName") or [""])[0]
    if "NewDBProxyName" in form:
        return _error(400, "InvalidParameterValue", "Renaming a DB proxy is not supported by the local cloud.")
    timeout = form.get("IdleClientTimeout")
    proxy = moto.rds.db_proxy(moto.ACCOUNT, region, name)
    try:  # the whole list is replaced, with RDS's defaults in each entry
        auth = auth_config.normalized(_members(form, "Auth"), proxy.engine_family if proxy else "MYSQL") or None
    except auth_config.InvalidAuth as e:
        return _error(400, "InvalidParameterValue", str(e))
    scheme = _first(form, "DefaultAuthScheme")
    if proxy is not None:
        try:
            auth_config.check_scheme(scheme or proxy.default_auth_scheme, list(proxy.auth) if auth is None else auth)
        except auth_config.InvalidAuth as e:
            return _error(400, "InvalidParameterValue", str(e))
    changed = moto.rds.modify_db_proxy(
        moto.ACCOUNT, region, name, auth=auth, default_auth_scheme=scheme,
        require_tls=_boolean(form, "RequireTLS"), idle_client_timeout=int(timeout[0]) if timeout else None,
        debug_logging=_boolean(form, "DebugLogging"), security_groups=_strings(form, "SecurityGroups"))
    if changed is None:
        return _error(404, "DBProxyNotFoundFault", f"The specified proxy name {name} doesn't correspond to a proxy "
                                                   "owned by your Amazon Web Services account in the specified "
                                                   "Amazon Web Services Region.")
    return moto.aws_response("rds", "ModifyDBProxy", {"DBProxy": changed})


# action -> (handler, whether it changes something the data plane follows)
HANDLED: dict[str, tuple[Callable[[str, dict[str, list[str]]], Response], bool]] = {
    "DescribeDBProxyEndpoints": (describe_db_proxy_endpoints, False),
    "ModifyDBProxy": (modify_db_proxy, True),
}

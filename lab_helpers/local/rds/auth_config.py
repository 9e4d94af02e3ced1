"""A proxy's Auth list (UserAuthConfig) as RDS keeps and reports it.

RDS fills what a request leaves out of each entry (AuthScheme SECRETS, IAMAuth DISABLED), so
DescribeDBProxies shows every secret's IAMAuth; moto keeps the entries as they were sent. IAMAuth is
DISABLED (the secret's password) or REQUIRED (an IAM authentication token, never the password); ENABLED
(either) is valid only for RDS for SQL Server proxies. ModifyDBProxy's Auth replaces the whole list.
"""
from __future__ import annotations

from .. import moto

IAM_AUTH_MODES = ("DISABLED", "REQUIRED", "ENABLED")
ENABLED_ONLY_FOR = "SQLSERVER"


class InvalidAuth(ValueError):
    """An Auth entry RDS refuses (InvalidParameterValue): the message is RDS's."""


def normalized(auth: list[dict[str, str]], engine_family: str) -> list[dict[str, str]]:
    """The entries with RDS's defaults filled in; InvalidAuth for an IAMAuth the engine does not take."""
    out = []
    for entry in auth:
        mode = entry.get("IAMAuth") or "DISABLED"
        if mode == "ENABLED" and engine_family != ENABLED_ONLY_FOR:
            raise InvalidAuth("The ENABLED value for IAMAuth is valid only for proxies with RDS for Microsoft SQL "
                              "Server. Specify DISABLED or REQUIRED.")
        out.append({"AuthScheme": "SECRETS", **entry, "IAMAuth": mode})
    return out


def fill_defaults(account: str, region: str, name: str) -> None:
    """After CreateDBProxy: the new proxy's entries as RDS reports them."""
    proxy = moto.rds.db_proxy(account, region, name)
    if proxy is None:
        return
    moto.rds.modify_db_proxy(account, region, name, auth=normalized(list(proxy.auth), proxy.engine_family))

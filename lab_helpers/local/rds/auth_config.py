"""A proxy's Auth list (UserAuthConfig) as RDS keeps and reports it.

RDS fills what a request leaves out of each entry (AuthScheme SECRETS, IAMAuth DISABLED), so
DescribeDBProxies shows every secret's IAMAuth; moto keeps the entries as they were sent. IAMAuth is
DISABLED (the secret's password) or REQUIRED (an IAM authentication token, never the password); ENABLED
(either) is valid only for RDS for SQL Server proxies. ModifyDBProxy's Auth replaces the whole list.

DefaultAuthScheme IAM_AUTH (end-to-end IAM authentication) needs no Auth at all: clients log in with tokens and the
proxy logs in to the database with tokens of its own role. NONE (the default) needs at least one Auth entry.
"""
from __future__ import annotations

from .. import moto

IAM_AUTH_MODES = ("DISABLED", "REQUIRED", "ENABLED")
ENABLED_ONLY_FOR = "SQLSERVER"
END_TO_END = "IAM_AUTH"  # DefaultAuthScheme of end-to-end IAM authentication (the other value: NONE)


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


def check_scheme(scheme: str | None, auth: list[dict[str, str]]) -> None:
    """InvalidAuth when the proxy would have no way to log in: DefaultAuthScheme NONE (or none) without Auth."""
    if scheme != END_TO_END and not auth:
        raise InvalidAuth("You must specify the Auth option when DefaultAuthScheme is NONE or isn't specified: "
                          "give Auth (a Secrets Manager secret), or set DefaultAuthScheme to IAM_AUTH.")


def fill_defaults(account: str, region: str, name: str) -> None:
    """After CreateDBProxy: the new proxy's entries as RDS reports them."""
    proxy = moto.rds.db_proxy(account, region, name)
    if proxy is None:
        return
    moto.rds.modify_db_proxy(account, region, name, auth=normalized(list(proxy.auth), proxy.engine_family))

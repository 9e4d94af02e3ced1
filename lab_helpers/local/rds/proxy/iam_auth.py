"""IAM database authentication at the proxy, as RDS Proxy does it for a secret whose IAMAuth is REQUIRED.

The client logs in as the secret's user with an authentication token instead of the password: the
`mysql_clear_password` plugin, which sends the token as it is, so only over TLS (without TLS: 3159). A
token is what botocore's `generate_db_auth_token` makes, a SigV4-presigned `connect` request:

    <endpoint>:3306/?Action=connect&DBUser=<user>&X-Amz-Algorithm=AWS4-HMAC-SHA256
        &X-Amz-Credential=<key>/<date>/<region>/rds-db/aws4_request&X-Amz-Date=...&X-Amz-Expires=900
        &X-Amz-SignedHeaders=host[&X-Amz-Security-Token=...]&X-Amz-Signature=...

Here the proxy checks what it can see itself: the token names this proxy's endpoint and port, the user
who logs in, this region and the rds-db service, and it is at most 15 minutes old (`clock`, a fake one
in tests). Then the local cloud, which issued the credentials, checks the signature and whether the
signer's policies allow `rds-db:connect` on `arn:aws:rds-db:<region>:<account>:dbuser:<prx-id>/<user>`
(`settings.iam_verifier`, served by `local/rds/db_auth.py`), as RDS Proxy asks IAM. Any failure is
MySQL's 1045 "Access denied", as RDS Proxy answers; the reason goes to the proxy's log only.
"""
from __future__ import annotations

import asyncio
import calendar
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import protocol as p
from .channel import Channel
from .protocol import HandshakeResponse, MysqlError
from .settings import ProxySettings

logger = logging.getLogger(__name__)

CLEAR_PASSWORD = "mysql_clear_password"
TOKEN_LIFETIME_S = 900  # an authentication token is valid for 15 minutes
CLOCK_SKEW_S = 300  # a token dated this much in the future is still taken (clocks differ), as SigV4 allows
PROXY_PORT = 3306  # the port a MySQL proxy endpoint listens on (what the token names)
TLS_REQUIRED = 3159
ASK_TIMEOUT_S = 5.0  # seconds the local cloud has to answer a token check
clock = time.time  # seconds since the epoch; tests replace it with a fake clock


class Refused(Exception):
    """The token does not let this user in; the message says why (for the proxy's log)."""


@dataclass(frozen=True)
class Token:
    host: str
    port: int
    user: str
    access_key: str
    region: str
    service: str
    signed_at: float  # X-Amz-Date, seconds since the epoch
    expires: int  # X-Amz-Expires, seconds


def parse(token: str) -> Token:
    """The token's parts, or Refused when it is not a presigned `connect` request."""
    try:  # a password is no URL: urlsplit itself may refuse it ("[" reads as an IPv6 address)
        parts = urlsplit("https://" + token.strip())
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if query.get("Action") != "connect" or query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise Refused("not a presigned rds-db connect request")
        if not query.get("X-Amz-Signature") or "host" not in query.get("X-Amz-SignedHeaders", "").split(";"):
            raise Refused("the token carries no signature over the host")
        key, _date, region, service, terminator = query["X-Amz-Credential"].split("/")
        signed_at = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
        return Token(host=(parts.hostname or "").lower(), port=parts.port or 443, user=query["DBUser"],
                     access_key=key, region=region, service=service if terminator == "aws4_request" else "",
                     signed_at=float(signed_at), expires=int(query["X-Amz-Expires"]))
    except (KeyError, ValueError) as e:
        raise Refused(f"the token is malformed ({type(e).__name__}: {e})") from e


def check(token: Token, user: str, settings: ProxySettings, now: float) -> None:
    """What the proxy checks itself (Refused if any fails): this proxy, this user, this region, 15 minutes."""
    check_names(token, user, (settings.endpoint, PROXY_PORT), settings.region, now)


def check_names(token: Token, user: str, endpoint: tuple[str, int], region: str, now: float) -> None:
    """Refused unless the token names this endpoint and port (a proxy's, or a DB instance's), this user and this
    region, and is at most 15 minutes old."""
    if token.host != endpoint[0].lower() or token.port != endpoint[1]:
        raise Refused(f"the token is for {token.host}:{token.port}, not {endpoint[0]}:{endpoint[1]}")
    if token.user != user:
        raise Refused(f"the token is for user {token.user!r}, not {user!r}")
    if token.service != "rds-db" or token.region != region:
        raise Refused(f"the token is signed for {token.service} in {token.region}, not rds-db in {region}")
    if not 0 < token.expires <= TOKEN_LIFETIME_S:
        raise Refused(f"X-Amz-Expires {token.expires} is not within 1..{TOKEN_LIFETIME_S} seconds")
    if now > token.signed_at + token.expires:
        raise Refused(f"the token expired {now - token.signed_at - token.expires:.0f} s ago")
    if token.signed_at > now + CLOCK_SKEW_S:
        raise Refused("the token is dated in the future")


def resource_arn(settings: ProxySettings, user: str) -> str:
    """The resource `rds-db:connect` must be allowed on to log in as `user` through this proxy."""
    return f"arn:aws:rds-db:{settings.region}:{settings.account}:dbuser:{settings.resource_id}/{user}"


def ask_cloud(url: str, question: dict[str, str]) -> dict[str, Any]:
    """The local cloud's JSON answer to a question POSTed to one of its token checks (OSError, or ValueError for
    an answer that is not JSON, when it does not answer)."""
    request = urllib.request.Request(url, data=json.dumps(question).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=ASK_TIMEOUT_S) as answer:
        verdict: dict[str, Any] = json.loads(answer.read())
    return verdict


def verify(url: str, token: str, resource: str) -> tuple[bool, str]:
    """(allowed, why) from the local cloud: the signature with the credentials it issued, then the policies."""
    try:
        verdict = ask_cloud(url, {"token": token, "resource": resource})
    except (OSError, ValueError) as e:  # urllib's URLError is an OSError
        return False, f"the local cloud did not answer the token check ({e})"
    return bool(verdict.get("allowed")), str(verdict.get("reason", ""))


def access_denied(user: str, host: str) -> MysqlError:
    return MysqlError(p.ACCESS_DENIED, f"Access denied for user '{user}'@'{host}' (using password: YES)", "28000")


async def login(client: Channel, response: HandshakeResponse, settings: ProxySettings, tls: bool,
                host: str, proxy_name: str) -> MysqlError | None:
    """Log `response.user` in with a token: None when it may, else the error to answer."""
    if not tls:
        return MysqlError(TLS_REQUIRED, "This RDS Proxy requires TLS connections.", "HY000")
    token = response.auth
    if response.plugin != CLEAR_PASSWORD:  # ask for the token as it is (clients send it only over TLS)
        client.write(p.auth_switch_request(CLEAR_PASSWORD, b""))
        await client.flush()
        token = await client.read()
    text = token.rstrip(b"\0").decode(errors="replace")
    try:
        parsed = parse(text)
        check(parsed, response.user, settings, clock())
        if not settings.iam_verifier:
            raise Refused("this proxy has no way to check signatures")
        allowed, why = await asyncio.get_running_loop().run_in_executor(
            None, verify, settings.iam_verifier, text, resource_arn(settings, response.user))
        if not allowed:
            raise Refused(why)
    except Refused as e:
        logger.info("RDS Proxy %s refused an IAM login of %s: %s", proxy_name, response.user, e)
        return access_denied(response.user, host)
    return None

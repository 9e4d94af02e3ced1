"""The proxy's own login to the database with end-to-end IAM authentication (DefaultAuthScheme IAM_AUTH).

RDS Proxy then reads no secret: for each new database connection it signs an authentication token with its IAM
role's credentials, for the DB instance's endpoint and port and the client's user (what `generate_db_auth_token`
makes), and logs in with it; the database (RDS for MySQL's AWSAuthenticationPlugin) lets it in only when IAM
says the role may `rds-db:connect` on `arn:aws:rds-db:<region>:<account>:dbuser:<db-resource-id>/<user>`.

MariaDB has no such plugin, so the database's side of the local cloud (`local/rds/iam_db_login.py`) checks the
token in its place and, for a good one only, gives back the user's internal password, with which the proxy logs
in to MariaDB. For a token it refuses, the proxy logs in with the token itself, and MariaDB answers what RDS
answers: 1045 Access denied. With DefaultAuthScheme NONE the password is the secret's, as before.
"""
from __future__ import annotations

import asyncio
import logging

from .iam_auth import ask_cloud
from .settings import ProxySettings

logger = logging.getLogger(__name__)

END_TO_END = "IAM_AUTH"
TOKEN_LIFETIME_S = 900


def sign(credentials: tuple[str, str, str], endpoint: tuple[str, int], user: str, region: str) -> str:
    """An authentication token for `user` at `endpoint`, signed now with `credentials` (the proxy's role session):
    the presigned `connect` request botocore's generate_db_auth_token makes, without its scheme."""
    from botocore.auth import SigV4QueryAuth  # (imported only by proxies with end-to-end IAM)
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = SigV4QueryAuth(Credentials(*credentials), "rds-db", region, expires=TOKEN_LIFETIME_S)
    request = AWSRequest(method="GET", url=f"https://{endpoint[0]}:{endpoint[1]}/",
                         data={"Action": "connect", "DBUser": user})
    auth.add_auth(request)  # moves Action and DBUser into the query, then adds the X-Amz-* parameters
    return request.prepare().url[len("https://"):]


def exchange(url: str, token: str, user: str) -> tuple[str | None, str]:
    """(the user's internal password, or None; why) from the database's side of the local cloud."""
    try:
        verdict = ask_cloud(url, {"token": token, "user": user})
    except (OSError, ValueError) as e:  # urllib's URLError is an OSError
        return None, f"the database's side of the local cloud did not answer ({e})"
    password = verdict.get("password")
    return (str(password) if password else None), str(verdict.get("reason", ""))


async def password(settings: ProxySettings, user: str, proxy_name: str) -> str:
    """What the proxy logs in to the database with as `user`: the secret's password, or (end-to-end IAM) what its
    own token releases; a refused token itself, which the database refuses (1045)."""
    if settings.default_auth_scheme != END_TO_END:
        return settings.credentials.get(user, "")
    if not (settings.role_credentials and settings.target_endpoint and settings.db_login):
        logger.warning("RDS Proxy %s has no role credentials or target to sign a token for %s", proxy_name, user)
        return ""
    token = sign(settings.role_credentials, settings.target_endpoint, user, settings.region)
    released, why = await asyncio.get_running_loop().run_in_executor(None, exchange, settings.db_login, token, user)
    if released is None:
        logger.info("RDS Proxy %s: the database refused its IAM token for %s: %s", proxy_name, user, why)
        return token
    return released

"""RDS Proxy's own IAM role session, which the local cloud issues as AWS issues one when RDS Proxy assumes the
proxy's role (rds.amazonaws.com): with end-to-end IAM authentication the proxy signs its tokens for the database
with these credentials (proxy/end_to_end.py), and db_auth.py checks the signature and the role's policies.

One session per proxy and role; the secret key is this cloud process's own and reaches only the proxy's settings
file (readable by this user only, as the secrets' passwords in it).
"""
from __future__ import annotations

import hashlib
import secrets


class ProxyRoleSessions:
    def __init__(self) -> None:
        self._secret_key = secrets.token_urlsafe(30)
        self._sessions: dict[str, tuple[str, str]] = {}  # access key -> (role ARN, session token)

    def credentials_for(self, account: str, region: str, proxy: str, role_arn: str) -> tuple[str, str, str]:
        """(access key, secret key, session token) of the proxy's session of `role_arn`."""
        key = "ASIA" + hashlib.sha256(f"{account}:{region}:{proxy}:{role_arn}".encode()).hexdigest()[:16].upper()
        token = f"lab-proxy-session-{proxy}-{key[-6:]}"
        self._sessions[key] = (role_arn, token)
        return key, self._secret_key, token

    def issued(self, access_key: str) -> tuple[str, str, str] | None:
        """(role ARN, secret key, session token) of the proxy session with this access key; None when the cloud
        never issued it to a proxy."""
        found = self._sessions.get(access_key)
        return (found[0], self._secret_key, found[1]) if found else None

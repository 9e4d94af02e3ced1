"""One DB proxy's settings as the control plane has them: secret, target, pool, client limits."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProxySettings:
    credentials: dict[str, str]  # username -> password, from the proxy's Secrets Manager secret(s)
    target: tuple[str, int] | None  # (host, port) of the registered DB instance; None while none is registered
    db_max_connections: int  # the database's max_connections
    max_connections_percent: int = 100  # target group ConnectionPoolConfig.MaxConnectionsPercent
    max_idle_connections_percent: int = 50  # ConnectionPoolConfig.MaxIdleConnectionsPercent
    connection_borrow_timeout: float = 120.0  # seconds, ConnectionPoolConfig.ConnectionBorrowTimeout (0: no limit)
    server_version: str = "8.4.6"  # what the proxy announces to clients (the engine version of its target)
    session_pinning_filters: tuple[str, ...] = ()  # ("EXCLUDE_VARIABLE_SETS",): a SET of any variable does not pin
    idle_client_timeout: float = 1800.0  # seconds a client may stay idle before the proxy closes its connection
    require_tls: bool = False  # RequireTLS: a client that does not start TLS is refused (3159)
    tls: tuple[str, str] | None = None  # (certificate chain, key) files of the proxy's endpoints; None: no TLS
    max_client_connections: int = 1000  # clients at once; the next one gets "Too many connections" (1040)
    handshake_timeout: float = 10.0  # seconds a new client has to log in
    init_query: str | None = None  # ConnectionPoolConfig.InitQuery: run on every new database connection
    # IAM database authentication (iam_auth.py): the users whose secret has IAMAuth REQUIRED log in with a token
    iam_users: tuple[str, ...] = ()
    endpoint: str = ""  # the proxy's endpoint name, which a token must name (with port 3306)
    region: str = ""
    account: str = ""
    resource_id: str = ""  # prx-...: the dbuser ARNs of rds-db:connect name it
    iam_verifier: str | None = None  # the URL where the local cloud checks a token's signature and permission
    # End-to-end IAM authentication (DefaultAuthScheme IAM_AUTH, end_to_end.py): every user logs in with a token, and
    # the proxy logs in to the database with a token it signs with its role's credentials
    default_auth_scheme: str = "NONE"
    role_credentials: tuple[str, str, str] | None = None  # the proxy's role session: access key, secret key, token
    target_endpoint: tuple[str, int] | None = None  # the DB instance's endpoint and port, which its tokens name
    db_login: str | None = None  # the URL where the database's side of the local cloud takes such a token

    def token_login(self, user: str) -> bool:
        """Does `user` log in to the proxy with an IAM token (IAMAuth REQUIRED, or end-to-end IAM)?"""
        return self.default_auth_scheme == "IAM_AUTH" or user in self.iam_users

    @property
    def pool_size(self) -> int:
        return max(1, self.db_max_connections * self.max_connections_percent // 100)

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
    server_version: str = "8.0.40"  # what the proxy announces to clients (the engine version of its target)

    @property
    def pool_size(self) -> int:
        return max(1, self.db_max_connections * self.max_connections_percent // 100)

"""One DB proxy's settings as the control plane has them: secret, target, pool size, borrow timeout."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProxySettings:
    credentials: dict[str, str]  # username -> password, from the proxy's Secrets Manager secret(s)
    target: tuple[str, int] | None  # (host, port) of the registered DB instance; None while none is registered
    db_max_connections: int  # the database's max_connections
    max_connections_percent: int = 100  # target group ConnectionPoolConfig.MaxConnectionsPercent
    connection_borrow_timeout: float = 120.0  # seconds, ConnectionPoolConfig.ConnectionBorrowTimeout (0: no limit)

    @property
    def pool_size(self) -> int:
        return max(1, self.db_max_connections * self.max_connections_percent // 100)

"""The local cloud's RDS Proxy data plane (MySQL engine family): a pooling MySQL proxy.

Clients speak the MySQL protocol to it (mysql-mimic serves that side) and log in with a user and
password from the proxy's Secrets Manager secret. It runs their statements on a bounded pool of
PyMySQL connections to the registered DB instance, opened as the same user with the password from
the secret, as RDS Proxy does: connections are shared at transaction boundaries, tracked session
state follows the client, pinning keeps a connection for one client, and a client that leaves
inside a transaction is rolled back.

- `settings`: ProxySettings, what the control plane says (secret, target, pool size, borrow timeout).
- `statements`: SQL classification: transaction boundaries, tracked variables, pinning triggers.
- `pool`: the bounded pool of backend connections, the borrow timeout (error 9501).
- `session`: one client: login, multiplexing at transaction boundaries, pinning, rollback on leave.
- `server`: RdsProxy, one proxy's endpoint: its asyncio loop thread, start/stop/stats.
"""
from .server import RdsProxy
from .settings import ProxySettings

__all__ = ["ProxySettings", "RdsProxy"]

"""The local cloud's RDS Proxy data plane (MySQL engine family): a pooling proxy that relays packets.

Clients speak the MySQL protocol to it and log in with a user and password from the proxy's Secrets
Manager secret. Their commands go to a bounded pool of connections to the registered DB instance,
opened as the same user with the password from the secret, as RDS Proxy does; the database's answers
come back byte for byte (types, binary-protocol prepared statements, multi-statements and multiple
results pass through unchanged). Connections are shared at transaction boundaries (the database's
status flags say where), tracked session state follows the client, pinning keeps a connection for
one client, and a client that leaves inside a transaction is rolled back.

- `protocol`: the MySQL protocol's messages, handshakes and packets, as much as a relay needs.
- `statements`: a linear scan of a client's SQL: USE, SET and what pins.
- `backend`: a connection to the database, its session state, and the relay of one response.
- `pool`: the bounded pool of backend connections, the borrow timeout (error 9501), idle trimming.
- `session`: one client: login, commands, multiplexing at transaction boundaries, pinning.
- `server`: RdsProxy, one proxy's endpoint: its asyncio loop thread, start/stop/stats.
- `settings`: ProxySettings, what the control plane says (secret, target, pool configuration, IAMAuth).
- `iam_auth`: IAM database authentication: a token instead of the password, checked as RDS Proxy does.
"""
from . import iam_auth
from .server import RdsProxy
from .settings import ProxySettings

__all__ = ["ProxySettings", "RdsProxy", "iam_auth"]

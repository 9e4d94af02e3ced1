"""RDS's data plane in the local cloud: what moto's RDS control plane describes, made real.

After every successful mutating RDS call, `reconcile()` makes the data plane match moto's state:
- each MySQL/MariaDB DB instance is served by the local MariaDB server, with the instance's master
  user and password as an account there, and its endpoint name in the VPC DNS map;
- `max_connections` from the instance's DB parameter group is applied to the server;
- each DB proxy runs an `RdsProxy` listener, with its endpoint name in the VPC DNS map, reading its
  secret(s), target and pool configuration from moto live (so a changed secret or target group
  applies at once, as on AWS);
- registered proxy targets report the real endpoint, port and health.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from functools import partial
from pathlib import Path

import pymysql

from . import vpc_dns
from .mariadb import MariaDB
from .rds_proxy import ProxySettings, RdsProxy

log = logging.getLogger(__name__)
MYSQL_ENGINES = {"mysql", "mariadb", "aurora-mysql"}
PROXY_PORT = 3306  # the port clients use on a MySQL proxy endpoint


def _backends():
    """(account, region, backend) for every RDS backend moto has created so far."""
    from moto.rds.models import rds_backends  # moto's models load on first use (~1 s each)

    for account, regions in list(rds_backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def secret_credentials(account: str, region: str, secret_arn: str) -> tuple[str, str] | None:
    """(username, password) from a Secrets Manager secret of the RDS credentials shape."""
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        value = secretsmanager_backends[account][region].get_secret_value(secret_arn, None, None)
        secret = json.loads(value["SecretString"])
        return str(secret["username"]), str(secret["password"])
    except Exception:  # missing, deleted, not JSON, no username/password: the proxy has no login for it
        return None


class RdsDataPlane:
    def __init__(self, mariadb: MariaDB, dns_file: Path):
        self.mariadb = mariadb
        self.dns_file = dns_file
        self.proxies: dict[tuple[str, str, str], RdsProxy] = {}
        self._users: dict[str, str] = {}  # master user -> password applied to MariaDB
        # the server's max_connections, changed only through DB parameter groups (reconcile); kept here so
        # a proxy login does not open an admin connection the database would count
        self.max_connections = mariadb.get_max_connections()
        self._lock = threading.RLock()
        self._health_cache: dict[int, tuple[float, dict]] = {}  # id(target) -> (when, health)
        self._patched = False
        vpc_dns.write_map(dns_file, {})

    # -- reconcile ---------------------------------------------------------------------------
    def after(self, action: str) -> None:
        """After a successful mutating RDS call."""
        if action == "RebootDBInstance":  # the server really restarts: clients see their connections drop
            with self._lock:
                self.mariadb.restart()
                self.max_connections = self.mariadb.get_max_connections()  # back to the server's default
        self.reconcile()  # and the parameter group's value applied again

    def reconcile(self) -> None:
        with self._lock:
            if not self._patched:
                self._patch_target_health()
                self._patched = True
            entries: dict[str, dict[str, int]] = {}
            live: set[tuple[str, str, str]] = set()
            for account, region, backend in _backends():
                for db in list(backend.databases.values()):
                    if db.engine not in MYSQL_ENGINES:
                        continue
                    self._apply_instance(backend, db)
                    entries[db.address.lower()] = {"port": int(db.port), "local_port": self.mariadb.port}
                for name, proxy in list(backend.db_proxies.items()):
                    key = (account, region, name)
                    live.add(key)
                    if key not in self.proxies:
                        rp = RdsProxy(name, partial(self.proxy_settings, account, region, name))
                        rp.start()
                        self.proxies[key] = rp
                        log.info("proxy %s listening on 127.0.0.1:%s", name, rp.port)
                    entries[proxy.endpoint.lower()] = {"port": PROXY_PORT, "local_port": self.proxies[key].port}
                    self._fix_targets(backend, proxy)
            for key in set(self.proxies) - live:
                self.proxies.pop(key).stop()
            vpc_dns.write_map(self.dns_file, entries)

    def _apply_instance(self, backend, db) -> None:
        # moto keeps the password but will not return it through its public property
        user, password = db.master_username, getattr(db, "_master_user_password", "") or ""
        if user and self._users.get(user) != password:
            self.mariadb.ensure_user(user, password)
            self._users[user] = password
        group = backend.db_parameter_groups.get(db.db_parameter_group_name or "")
        if group is not None:
            value = group.parameters.get("max_connections", {}).get("ParameterValue")
            if value and str(value).isdigit() and int(value) != self.max_connections:
                self.mariadb.set_max_connections(int(value))
                self.max_connections = self.mariadb.get_max_connections()

    @staticmethod
    def _fix_targets(backend, proxy) -> None:
        """moto registers instance targets without endpoint and with port 5432: use the instance's."""
        for group in proxy.proxy_target_groups.values():
            for target in group.targets:
                db = backend.databases.get(target.rds_resource_id)
                if target.type == "RDS_INSTANCE" and db is not None:
                    target.endpoint, target.port = db.address, int(db.port)

    # -- what a proxy reads ------------------------------------------------------------------
    def proxy_settings(self, account: str, region: str, name: str) -> ProxySettings:
        from moto.rds.models import rds_backends

        backend = rds_backends[account][region]
        proxy = backend.db_proxies.get(name)
        max_connections = self.max_connections
        if proxy is None:
            return ProxySettings(credentials={}, target=None, db_max_connections=max_connections)
        credentials = {}
        for auth in proxy.auth or []:
            found = secret_credentials(account, region, auth.get("SecretArn", ""))
            if found:
                credentials[found[0]] = found[1]
        group = proxy.proxy_target_groups["default"]
        target = None
        if any(backend.databases.get(t.rds_resource_id) is not None for t in group.targets):
            target = ("127.0.0.1", self.mariadb.port)
        return ProxySettings(credentials=credentials, target=target, db_max_connections=max_connections,
                             max_connections_percent=int(group.max_connections),
                             connection_borrow_timeout=float(group.borrow_timeout))

    def target_health(self, target) -> dict[str, str]:
        """Health as RDS Proxy reports it: can the proxy log in to the database with its secret?"""
        backend = target.backend
        proxy = next((p for p in backend.db_proxies.values()
                      if any(target in g.targets for g in p.proxy_target_groups.values())), None)
        if proxy is None or backend.databases.get(target.rds_resource_id) is None:
            return {"State": "UNAVAILABLE", "Reason": "CONNECTION_FAILED",
                    "Description": "The target DB instance does not exist."}
        key = id(target)
        cached = self._health_cache.get(key)
        if cached and time.monotonic() - cached[0] < 1.0:
            return cached[1]
        logins = [c for c in (secret_credentials(backend.account_id, backend.region_name, a.get("SecretArn", ""))
                              for a in proxy.auth or []) if c]
        if not logins:
            health = {"State": "UNAVAILABLE", "Reason": "AUTH_FAILURE",
                      "Description": "The proxy could not read a username and password from its secret."}
        else:
            health = {"State": "AVAILABLE"}
            try:
                pymysql.connect(host="127.0.0.1", port=self.mariadb.port, user=logins[0][0], password=logins[0][1],
                                connect_timeout=2).close()
            except pymysql.err.OperationalError as e:
                reason = "AUTH_FAILURE" if e.args and e.args[0] == 1045 else "CONNECTION_FAILED"
                health = {"State": "UNAVAILABLE", "Reason": reason, "Description": str(e.args[-1])}
        self._health_cache[key] = (time.monotonic(), health)
        return health

    def _patch_target_health(self) -> None:
        from moto.rds.models import DBProxyTarget

        plane = self

        def target_health(target) -> dict[str, str]:
            if target.registering:
                return {"State": "REGISTERING"}
            return plane.target_health(target)

        DBProxyTarget.target_health = property(target_health)

    # -- status / shutdown -------------------------------------------------------------------
    def status(self) -> list[dict]:
        with self._lock:
            return [{"name": key[2], "region": key[1], "port": rp.port, **rp.stats()}
                    for key, rp in sorted(self.proxies.items())]

    def stop(self) -> None:
        with self._lock:
            for rp in self.proxies.values():
                rp.stop()
            self.proxies.clear()

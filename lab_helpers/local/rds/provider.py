"""RDS's data plane in the local cloud: what moto's RDS control plane describes, made real.

After every successful mutating RDS call, `reconcile()` makes the data plane match moto's state:
- each MySQL/MariaDB DB instance is served by the local MariaDB server, with the instance's master
  user and password as an account there, and its endpoint name in the VPC DNS map;
- `max_connections` from the instance's DB parameter group is applied to the server;
- each DB proxy runs in a process of its own (`proxy.process`), restarted when it dies, with its
  endpoint name in the VPC DNS map and a certificate for it signed by the local CA; its secret(s),
  target, pool configuration, TLS setting and IAM authentication (each secret's IAMAuth) are written to
  its settings file after every RDS and Secrets Manager change (so a changed secret or target group
  applies at once, as on AWS); with DefaultAuthScheme IAM_AUTH (end-to-end IAM) no secret but a session of the
  proxy's role (proxy_role.py), with which it signs its tokens for the database (iam_db_login.py checks them);
- registered proxy targets report the real endpoint, port and health;
- RebootDBInstance answers `rebooting` at once; the engine restarts meanwhile, and the instance is
  `available` again when it is back. An engine that crashed is restarted the same way, as RDS
  does. DeleteDBInstance removes the instance's account, and its data with the last instance.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pymysql

from .. import moto
from ..errors import LocalCloudError
from ..faults import Faults
from ..gateway import Request, Response
from ..vpc import dns
from . import auth_config, control
from .db_auth import VERIFY_PATH
from .iam_db_login import LOGIN_PATH
from .mariadb import MariaDB
from .proxy import ProxySettings
from .proxy.certificates import CertificateAuthority
from .proxy.process import ProxyProcess
from .proxy_role import ProxyRoleSessions

log = logging.getLogger(__name__)
MYSQL_ENGINES = {"mysql", "mariadb", "aurora-mysql"}
PROXY_PORT = 3306  # the port clients use on a MySQL proxy endpoint
# The version a proxy announces for its target's EngineVersion (RDS picks the newest minor version).
MINOR_VERSIONS = {"5.7": "5.7.44", "8.0": "8.0.43", "8.4": "8.4.6"}
HEALTH_CACHE_S = 1.0  # DescribeDBProxyTargets polls: one login check per target per second is enough
WATCH_INTERVAL = 0.5  # seconds between checks that every proxy process is alive and its event loop answers
STALLED_AFTER = 3.0  # seconds a proxy's event loop may not answer before its process is replaced
STALLED_STOP_TIMEOUT = 2.0  # a stalled process gets this long to stop, then SIGKILL
FOLLOWED_SERVICES = ("rds", "secretsmanager")  # a change in either may change what a proxy reads


def secret_credentials(account: str, region: str, secret_arn: str) -> tuple[str, str] | None:
    """(username, password) from a Secrets Manager secret of the RDS credentials shape, or None
    when the secret is missing or deleted, is not JSON, or has no username or password."""
    text = moto.secretsmanager.secret_string(account, region, secret_arn)
    try:
        secret = json.loads(text or "")
        return str(secret["username"]), str(secret["password"])
    except (ValueError, KeyError, TypeError):
        return None


class RdsDataPlane:
    component = "rds"

    def __init__(self, mariadb: MariaDB, root: Path, faults: Faults, endpoint: str = ""):
        self.mariadb = mariadb
        self.endpoint = endpoint  # the cloud's endpoint, where a proxy checks IAM tokens (db_auth.py)
        self.dns_file = root / "dns.json"
        self.proxy_folder = root / "proxies"
        self.ca = CertificateAuthority(root / "ca").ensure()
        self.faults = faults
        self.proxies: dict[tuple[str, str, str], ProxyProcess] = {}
        self.proxy_roles = ProxyRoleSessions()  # what proxies with end-to-end IAM sign their tokens with
        self._users: dict[str, str] = {}  # master user -> password applied to MariaDB
        # the server's max_connections, changed only through DB parameter groups (reconcile); kept here so
        # a proxy login does not open an admin connection the database would count
        self.max_connections = mariadb.get_max_connections()
        self._lock = threading.RLock()
        self._health_cache: dict[tuple[str, str, str | None, str], tuple[float, dict[str, Any]]] = {}
        self._stopping = threading.Event()
        self.engine_restarts = 0
        self._instances: set[tuple[str, str, str]] = set()  # the MySQL DB instances served now
        dns.write_map(self.dns_file, {})
        threading.Thread(target=self._watch, name="rds-proxy-watchdog", daemon=True).start()

    # -- the gateway's hooks -----------------------------------------------------------------
    def route(self, request: Request) -> Response | None:
        """Every RDS API call is moto's; a reboot first marks the instance `rebooting` (moto answers with it)
        and restarts the engine in the background."""
        if request.service == "rds" and request.region:
            form, action = request.form, request.operation
            if action in control.HANDLED:  # what moto does not answer
                handler, changes = control.HANDLED[action]
                answer = handler(request.region, form)
                if changes and 200 <= answer[0] < 300:
                    self.reconcile()
                return answer
            if action == "RebootDBInstance":
                identifier = (form.get("DBInstanceIdentifier") or [""])[0]
                if moto.rds.set_db_instance_status(moto.ACCOUNT, request.region, identifier,
                                                       "rebooting"):
                    threading.Thread(target=self._restart_engine, args=("RebootDBInstance",),
                                     name="rds-reboot", daemon=True).start()
        return None

    def after(self, request: Request) -> None:
        """After a successful mutating RDS or Secrets Manager call."""
        if request.service not in FOLLOWED_SERVICES:
            return
        form = request.form
        if request.service == "rds" and request.operation == "ModifyDBInstance" and "MasterUserPassword" in form:
            self._users.clear()  # set it again, whatever the lab last applied (a rotation changed it meanwhile)
        if request.service == "rds" and request.operation == "CreateDBProxy" and request.region:
            auth_config.fill_defaults(moto.ACCOUNT, request.region, form["DBProxyName"][0])
        if request.service == "rds" and request.operation == "ModifyDBProxyTargetGroup" and request.region:
            if "ConnectionPoolConfig.InitQuery" in form:  # moto drops it: the data plane keeps it
                moto.rds.set_init_query(moto.ACCOUNT, request.region, form["DBProxyName"][0],
                                            form["ConnectionPoolConfig.InitQuery"][0])
        self.reconcile()

    def _restart_engine(self, why: str) -> None:
        """Restart the engine (the server really restarts: direct clients lose their connections), every
        MySQL instance `rebooting` meanwhile and `available` again after; the parameter group applied again."""
        with self._lock:
            instances = [db for db in moto.rds.db_instances() if db.engine in MYSQL_ENGINES]
            for db in instances:
                moto.rds.set_db_instance_status(db.account, db.region, db.identifier, "rebooting")
            try:
                self.mariadb.restart()
                self.max_connections = self.mariadb.get_max_connections()  # the server's default, until...
                self.engine_restarts += 1
                log.info("database engine restarted (%s)", why)
            except (LocalCloudError, pymysql.MySQLError) as e:
                self.faults.report("database", f"restarting the database engine ({why})", e)
                return
            finally:
                for db in instances:
                    moto.rds.set_db_instance_status(db.account, db.region, db.identifier, "available")
        try:
            self.reconcile()  # ...the parameter group's value is applied again
        except (LocalCloudError, pymysql.MySQLError) as e:
            self.faults.report("rds", "following the database engine's restart", e)

    # -- reconcile ---------------------------------------------------------------------------
    def reconcile(self) -> None:
        with self._lock:
            moto.rds.correct_proxy_targets()  # (and the endpoints' names, before certificates name them)
            entries: dict[str, dict[str, int]] = {}
            instances = [db for db in moto.rds.db_instances() if db.engine in MYSQL_ENGINES]
            self._forget_deleted(instances)
            for db in instances:
                self._apply_instance(db)
                entries[db.address.lower()] = {"port": db.port, "local_port": self.mariadb.bound_port}
            live: set[tuple[str, str, str]] = set()
            for proxy in moto.rds.db_proxies():
                key = (proxy.account, proxy.region, proxy.name)
                live.add(key)
                process = self.proxies.get(key)
                if process is None:
                    process = ProxyProcess(proxy.name, self.proxy_folder / proxy.region)
                    process.tls = self.ca.issue(proxy.name, [proxy.endpoint.lower()], process.folder / "tls")
                    process.write(self.proxy_settings(*key, tls=process.tls))
                    process.start()
                    self.proxies[key] = process
                    log.info("proxy %s listening on 127.0.0.1:%s (process %s)", proxy.name, process.port,
                             process.proc.pid if process.proc else None)
                else:
                    process.write(self.proxy_settings(*key, tls=process.tls))
                entries[proxy.endpoint.lower()] = {"port": PROXY_PORT, "local_port": process.port}
            for key in set(self.proxies) - live:
                self.proxies.pop(key).stop()
            dns.write_map(self.dns_file, entries)

    def _forget_deleted(self, instances: list[moto.rds.DbInstance]) -> None:
        """A deleted instance takes its account with it; the last one, all the data (a new instance of
        the same name starts empty, as on RDS)."""
        now = {(db.account, db.region, db.identifier) for db in instances}
        if self._instances - now:
            if not instances:
                self.mariadb.reset()
                self.max_connections = self.mariadb.get_max_connections()
                self._users.clear()
            else:
                for user in set(self._users) - {db.master_username for db in instances}:
                    self.mariadb.drop_user(user)
                    self._users.pop(user)
        self._instances = now

    def _apply_instance(self, db: moto.rds.DbInstance) -> None:
        moto.rds.give_resource_id(db.account, db.region, db.identifier)
        if db.engine_version in MINOR_VERSIONS:  # a major version asked for: RDS creates its newest minor one
            moto.rds.set_engine_version(db.account, db.region, db.identifier, MINOR_VERSIONS[db.engine_version])
        if db.master_username and self._users.get(db.master_username) != db.master_password:
            self.mariadb.ensure_user(db.master_username, db.master_password)
            self._users[db.master_username] = db.master_password
        value = moto.rds.parameter_value(db.account, db.region, db.parameter_group, "max_connections")
        if value and str(value).isdigit() and int(value) != self.max_connections:
            self.mariadb.set_max_connections(int(value))
            self.max_connections = self.mariadb.get_max_connections()

    # -- what a proxy reads ------------------------------------------------------------------
    def proxy_settings(self, account: str, region: str, name: str,
                       tls: tuple[Path, Path] | None = None) -> ProxySettings:
        """What one proxy reads: its secret(s)' logins, its target, its pool and client settings, TLS."""
        proxy = moto.rds.db_proxy(account, region, name)
        if proxy is None:
            return ProxySettings(credentials={}, target=None, db_max_connections=self.max_connections)
        end_to_end = proxy.default_auth_scheme == auth_config.END_TO_END  # no secret is read then
        credentials = {} if end_to_end else dict(
            found for found in (secret_credentials(account, region, arn) for arn in proxy.secret_arns) if found)
        targets = [db for db in moto.rds.db_instances()
                   if (db.account, db.region) == (account, region) and db.identifier in proxy.target_instances]
        target = ("127.0.0.1", self.mariadb.bound_port) if targets else None
        version = (MINOR_VERSIONS.get(targets[0].engine_version, targets[0].engine_version) if targets
                   else MINOR_VERSIONS["8.4"])
        iam_users = tuple(found[0] for arn, mode in zip(proxy.secret_arns, proxy.iam_auth, strict=True)
                          if mode == "REQUIRED" and (found := secret_credentials(account, region, arn)))
        return ProxySettings(credentials=credentials, target=target, db_max_connections=self.max_connections,
                             max_connections_percent=proxy.max_connections_percent,
                             max_idle_connections_percent=proxy.max_idle_connections_percent,
                             connection_borrow_timeout=float(proxy.connection_borrow_timeout),
                             server_version=version, session_pinning_filters=proxy.session_pinning_filters,
                             idle_client_timeout=float(proxy.idle_client_timeout), require_tls=proxy.require_tls,
                             tls=(str(tls[0]), str(tls[1])) if tls else None, init_query=proxy.init_query,
                             iam_users=iam_users, endpoint=proxy.endpoint, region=region, account=account,
                             resource_id=proxy.resource_id,
                             iam_verifier=self.endpoint + VERIFY_PATH if self.endpoint else None,
                             default_auth_scheme=proxy.default_auth_scheme,
                             role_credentials=(self.proxy_roles.credentials_for(account, region, name, proxy.role_arn)
                                               if end_to_end else None),
                             target_endpoint=(targets[0].address, targets[0].port) if targets else None,
                             db_login=self.endpoint + LOGIN_PATH if self.endpoint else None)

    def target_health(self, target: moto.rds.ProxyTarget) -> dict[str, str]:
        """Health as RDS Proxy reports it: can the proxy log in to the database with its secret (end-to-end IAM: reach
        it; its tokens are checked at each login)?"""
        proxy = moto.rds.db_proxy(target.account, target.region, target.proxy) if target.proxy else None
        if proxy is None or not target.instance_exists:
            return {"State": "UNAVAILABLE", "Reason": "CONNECTION_FAILED",
                    "Description": "The target DB instance does not exist."}
        key = (target.account, target.region, target.proxy, target.instance)
        cached = self._health_cache.get(key)
        if cached and time.monotonic() - cached[0] < HEALTH_CACHE_S:
            return cached[1]
        logins = [c for c in (secret_credentials(target.account, target.region, arn) for arn in proxy.secret_arns)
                  if c]
        if proxy.default_auth_scheme == auth_config.END_TO_END:  # no secret: is the database there? (no half-open
            # connection to ask: the engine counts those against max_connect_errors)
            health = {"State": "AVAILABLE"} if self.mariadb.alive() else {
                "State": "UNAVAILABLE", "Reason": "CONNECTION_FAILED", "Description": "The database is not running."}
        elif not logins:
            health = {"State": "UNAVAILABLE", "Reason": "AUTH_FAILURE",
                      "Description": "The proxy could not read a username and password from its secret."}
        else:
            health = {"State": "AVAILABLE"}
            try:
                pymysql.connect(host="127.0.0.1", port=self.mariadb.bound_port, user=logins[0][0],
                                password=logins[0][1], connect_timeout=2).close()
            except pymysql.err.OperationalError as e:
                reason = "AUTH_FAILURE" if e.args and e.args[0] == 1045 else "CONNECTION_FAILED"
                health = {"State": "UNAVAILABLE", "Reason": reason, "Description": str(e.args[-1])}
        self._health_cache[key] = (time.monotonic(), health)
        return health

    # -- status / shutdown -------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        """Each proxy: name, region, address, process, restarts, health and its counters."""
        with self._lock:
            proxies = sorted(self.proxies.items())
        out = []
        for key, process in proxies:
            stats = process.stats()
            out.append({"name": key[2], "region": key[1], "port": process.port, "address": f"127.0.0.1:{process.port}",
                        "pid": process.proc.pid if process.proc else None, "restarts": process.restarts,
                        "last_restart": process.last_restart,
                        "healthy": bool(stats and stats.get("loop_answering")), **(stats or {})})
        return out

    def _watch(self) -> None:
        """Start again, on the same port, a proxy process that died (RDS Proxy's fleet replaces a failed
        node), and a database engine that crashed (RDS restarts it)."""
        while not self._stopping.wait(WATCH_INTERVAL):
            with self._lock:  # (a reboot holds it while the engine is down on purpose)
                if not self.mariadb.alive() and not self._stopping.is_set():
                    log.warning("the database engine exited (code %s): restarting it", self.mariadb.returncode)
                    self._restart_engine("the engine had exited")
            with self._lock:
                for key, process in list(self.proxies.items()):
                    why = self._replace_why(process)
                    if why is None:
                        continue
                    try:
                        process.stop(STALLED_STOP_TIMEOUT)
                        process.start()
                        process.restarts += 1
                        process.last_restart = why
                        log.warning("RDS Proxy %s %s; started again", key[2], why)
                    except LocalCloudError as e:
                        self.faults.report("rds", f"restarting RDS Proxy {key[2]}", e)

    def _replace_why(self, process: ProxyProcess) -> str | None:
        """Why a proxy process must be replaced (it exited; its event loop has not answered for STALLED_AFTER
        seconds), or None while it serves."""
        if not process.alive():
            return f"had exited (code {process.proc.returncode if process.proc else None})"
        if (process.stats() or {}).get("loop_answering", False):
            process.stalled_since = None
            return None
        now = time.monotonic()
        process.stalled_since = process.stalled_since or now
        if now - process.stalled_since < STALLED_AFTER:
            return None
        process.stalled_since = None
        return f"stopped answering (its event loop stalled for {STALLED_AFTER:.0f} s)"

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for process in self.proxies.values():
                process.stop()
            self.proxies.clear()

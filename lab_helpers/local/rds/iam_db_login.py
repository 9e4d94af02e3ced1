"""The database's side of IAM database authentication, for RDS Proxy's end-to-end IAM authentication.

On RDS for MySQL, a database user who logs in with IAM is created `IDENTIFIED WITH AWSAuthenticationPlugin AS
'RDS'`, the DB instance has IAM database authentication enabled, and the plugin lets a token in only when IAM says
its signer may `rds-db:connect` on `arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>`. MariaDB has
no such plugin (it refuses that statement: 1524 "Plugin 'AWSAuthenticationPlugin' is not loaded"), so the local
cloud does the plugin's work here:

- `identify_with_aws_plugin` is that statement for the local database's operator (its admin account): the account
  gets the method `AWSAuthenticationPlugin USING 'RDS'`, which MariaDB keeps but skips at login, OR
  mysql_native_password with an internal password nobody is told (`SHOW CREATE USER` shows both).
- A proxy posts the token it signed (proxy/end_to_end.py) to LOGIN_PATH. The token must name a DB instance's
  endpoint and port, the user and the region, and be at most 15 minutes old; the instance must have
  IAMDatabaseAuthenticationEnabled; the signature and `rds-db:connect` are IAM's to check (db_auth.py: credentials
  this cloud issued, here the proxy's role session); the user must be identified with the plugin. Only then is
  the internal password (derived from a key this cloud process keeps) put on the account when it is not there yet,
  and given back. A refusal gives none: the proxy's login is then refused by MariaDB with 1045, the error RDS
  gives; the reason goes to the cloud's log.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time

from .. import moto
from ..gateway import Request, Response
from .db_auth import DbAuthService
from .mariadb import MariaDB, admin_query
from .proxy.iam_auth import Refused, check_names, parse

log = logging.getLogger(__name__)
LOGIN_PATH = "/_lab/rds-db-login"  # where a proxy process asks (proxy settings' db_login)
PLUGIN = "AWSAuthenticationPlugin"
clock = time.time  # tests replace it with a fake clock


def native_hash(password: str) -> str:
    """mysql_native_password's stored form of `password`."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def identify_with_aws_plugin(socket: str, user: str) -> None:
    """What `CREATE USER <user> IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'` (or ALTER USER) does on RDS for
    MySQL, done over the local database's admin socket: from now on only IAM logs in as `user`."""
    admin_query(socket, "CREATE USER IF NOT EXISTS %s@'%%'", (user,))
    admin_query(socket, "ALTER USER %s@'%%' IDENTIFIED BY %s", (user, secrets.token_urlsafe(24)))  # no password left
    admin_query(socket, "UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.auth_or', JSON_ARRAY("
                        "JSON_OBJECT('plugin', %s, 'authentication_string', 'RDS'), JSON_OBJECT())) "
                        "WHERE User = %s AND Host = '%%'", (PLUGIN, user))
    admin_query(socket, "FLUSH PRIVILEGES")


class IamDbLogin:
    """The gateway's provider of LOGIN_PATH (only proxies ask it)."""

    component = "rds-db-login"

    def __init__(self, mariadb: MariaDB, iam: DbAuthService):
        self.mariadb = mariadb
        self.iam = iam
        self._key = secrets.token_bytes(32)  # the internal passwords derive from it; it never leaves this process
        self._lock = threading.Lock()

    def route(self, request: Request) -> Response | None:
        if request.path != LOGIN_PATH or request.method != "POST":
            return None
        try:
            asked = json.loads(request.body)
            password, reason = self.login(str(asked["token"]), str(asked["user"]))
        except (ValueError, KeyError, TypeError) as e:
            password, reason = None, f"the request cannot be read ({type(e).__name__}: {e})"
        if password is None:
            log.info("the database refused an IAM login: %s", reason)
        return 200, {"Content-Type": "application/json"}, json.dumps({"password": password, "reason": reason}).encode()

    def after(self, request: Request) -> None:
        """Nothing to follow."""

    def login(self, token: str, user: str) -> tuple[str | None, str]:
        """(the internal password of `user`, or None; why): the checks of the module's docstring, in order."""
        try:
            parsed = parse(token)
        except Refused as e:
            return None, str(e)
        instance = next((db for db in moto.rds.db_instances() if db.region == parsed.region
                         and db.address.lower() == parsed.host and db.port == parsed.port), None)
        if instance is None:
            return None, f"no DB instance answers at {parsed.host}:{parsed.port} in {parsed.region}"
        try:
            check_names(parsed, user, (instance.address, instance.port), instance.region, clock())
        except Refused as e:
            return None, str(e)
        if not instance.iam_database_authentication:
            return None, f"IAM database authentication is not enabled on DB instance {instance.identifier}"
        resource = (f"arn:aws:rds-db:{instance.region}:{instance.account}:dbuser:"
                    f"{instance.resource_id}/{user}")
        allowed, why = self.iam.verify(token, resource)
        if not allowed:
            return None, why
        with self._lock:
            return self._release(user)

    def _release(self, user: str) -> tuple[str | None, str]:
        rows = self.mariadb.execute("SELECT Priv FROM mysql.global_priv WHERE User = %s AND Host = '%%'", (user,))
        if not rows:
            return None, f"the database has no user {user!r}"
        priv = json.loads(rows[0][0])
        if not any(method.get("plugin") == PLUGIN for method in priv.get("auth_or", [])):
            return None, f"the database user {user!r} is not identified with {PLUGIN}"
        password = hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()
        if priv.get("plugin") != "mysql_native_password" or priv.get("authentication_string") != native_hash(password):
            priv.update(plugin="mysql_native_password", authentication_string=native_hash(password))
            self.mariadb.execute("UPDATE mysql.global_priv SET Priv = %s WHERE User = %s AND Host = '%%'",
                                 (json.dumps(priv), user))
            self.mariadb.execute("FLUSH PRIVILEGES")
        return password, f"{user} logged in with IAM"

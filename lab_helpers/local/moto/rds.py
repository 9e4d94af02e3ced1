"""RDS in moto: DB instances and proxies as plain views, the state the local cloud writes back (an instance's
status, engine version and resource id, proxy targets, ModifyDBProxy, InitQuery), and the patches for target
health, InitQuery and a proxy's DefaultAuthScheme.
"""
from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .contract import assumption
from .patches import register


@dataclass(frozen=True)
class DbInstance:
    account: str
    region: str
    identifier: str
    engine: str
    engine_version: str
    address: str
    port: int
    master_username: str
    master_password: str  # moto keeps it but does not return it
    parameter_group: str | None
    iam_database_authentication: bool  # IAMDatabaseAuthenticationEnabled
    resource_id: str  # DbiResourceId, db-...: what the dbuser ARNs of rds-db:connect on the instance name


@dataclass(frozen=True)
class DbProxy:
    account: str
    region: str
    name: str
    endpoint: str
    secret_arns: tuple[str, ...]
    auth: tuple[dict[str, str], ...]  # the Auth entries (copies), in the order of secret_arns
    iam_auth: tuple[str, ...]  # each secret's IAMAuth (DISABLED, REQUIRED), in the order of secret_arns
    resource_id: str  # prx-...: what the dbuser ARNs of rds-db:connect name
    engine_family: str
    default_auth_scheme: str  # NONE (the secrets), IAM_AUTH (end-to-end IAM authentication)
    role_arn: str
    require_tls: bool
    idle_client_timeout: int
    target_instances: tuple[str, ...]  # DB instance identifiers registered in the default target group
    max_connections_percent: int
    max_idle_connections_percent: int
    connection_borrow_timeout: int
    session_pinning_filters: tuple[str, ...]
    init_query: str | None
    vpc_id: str
    vpc_subnet_ids: tuple[str, ...]
    vpc_security_group_ids: tuple[str, ...]


def _rds_backends() -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for every RDS backend moto has created so far."""
    from moto.rds.models import rds_backends

    with assumption("rds_backends maps account -> region -> RDSBackend"):
        items = [(account, region, backend) for account, regions in list(rds_backends.items())
                 for region, backend in list(regions.items())]
    yield from items


def db_instances() -> list[DbInstance]:
    """Every DB instance of every region."""
    out = []
    for account, region, backend in _rds_backends():
        with assumption("RDSBackend.databases holds DBInstance with address, port, _master_user_password, "
                        "enable_iam_database_authentication and dbi_resource_id"):
            for db in list(backend.databases.values()):
                out.append(DbInstance(account, region, db.db_instance_identifier, db.engine, db.engine_version,
                                      db.address, int(db.port),
                                      db.master_username or "", getattr(db, "_master_user_password", "") or "",
                                      db.db_parameter_group_name, bool(db.enable_iam_database_authentication),
                                      db.dbi_resource_id))
    return out


def parameter_value(account: str, region: str, group: str | None, name: str) -> str | None:
    """A DB parameter group's value for `name` (as modified), or None."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.db_parameter_groups[name].parameters[param]['ParameterValue']"):
        found = rds_backends[account][region].db_parameter_groups.get(group or "")
        if found is None:
            return None
        return (found.parameters.get(name) or {}).get("ParameterValue")


def set_db_instance_status(account: str, region: str, identifier: str, status: str) -> bool:
    """WRITES MOTO'S STATE: the status DescribeDBInstances reports (e.g. "rebooting" while the engine restarts);
    False when there is no such instance."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.databases[identifier].status is the DBInstanceStatus moto reports"):
        db = rds_backends[account][region].databases.get(identifier)
        if db is None:
            return False
        db.status = status
        return True


def set_engine_version(account: str, region: str, identifier: str, version: str) -> None:
    """WRITES MOTO'S STATE: the EngineVersion DescribeDBInstances reports (RDS resolves a major version such as
    "8.0" to the minor version it created; moto echoes the request)."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.databases[identifier].engine_version is the EngineVersion moto reports"):
        db = rds_backends[account][region].databases.get(identifier)
        if db is not None:
            db.engine_version = version


def give_resource_id(account: str, region: str, identifier: str) -> None:
    """WRITES MOTO'S STATE: the instance's own DbiResourceId, once (moto gives every instance the same one, so a
    policy's dbuser ARN for one instance would name them all); RDS makes one per instance, never reused."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.databases[identifier].dbi_resource_id is the DbiResourceId moto reports"):
        db: Any = rds_backends[account][region].databases.get(identifier)  # moto's, with an attribute of the lab's
        if db is not None and not getattr(db, "lab_own_resource_id", False):
            db.dbi_resource_id = "db-" + base64.b32encode(secrets.token_bytes(16)).decode()[:26]
            db.lab_own_resource_id = True


# moto keeps a created proxy's Auth entries with snake_case keys (CreateDBProxy), a modified one's as sent
AUTH_KEYS = {"auth_scheme": "AuthScheme", "secret_arn": "SecretArn", "iam_auth": "IAMAuth", "user_name": "UserName",
             "client_password_auth_type": "ClientPasswordAuthType", "description": "Description"}


def _auth_entry(entry: dict[str, str]) -> dict[str, str]:
    """One Auth entry with AWS's keys."""
    return {AUTH_KEYS.get(key, key): value for key, value in entry.items()}


def _proxy_view(account: str, region: str, proxy: Any) -> DbProxy:  # proxy: moto's DBProxy
    with assumption("DBProxy has endpoint, auth, resource_id, engine_family, role_arn, require_tls, "
                    "idle_client_timeout and proxy_target_groups['default']"):
        group = proxy.proxy_target_groups["default"]
        auth = tuple(_auth_entry(a) for a in proxy.auth or [])
        return DbProxy(
            account=account, region=region, name=proxy.db_proxy_name, endpoint=proxy.endpoint,
            secret_arns=tuple(a.get("SecretArn", "") for a in auth), auth=auth,
            iam_auth=tuple(a.get("IAMAuth") or "DISABLED" for a in auth),
            resource_id=proxy.resource_id, engine_family=proxy.engine_family,
            default_auth_scheme=getattr(proxy, "default_auth_scheme", None) or "NONE", role_arn=proxy.role_arn,
            require_tls=bool(proxy.require_tls), idle_client_timeout=int(proxy.idle_client_timeout),
            target_instances=tuple(t.rds_resource_id for t in group.targets if t.type == "RDS_INSTANCE"),
            max_connections_percent=int(group.max_connections),
            max_idle_connections_percent=int(group.max_idle_connections),
            connection_borrow_timeout=int(group.borrow_timeout),
            session_pinning_filters=tuple(group.session_pinning_filters),
            init_query=getattr(group, "lab_init_query", None), vpc_id=proxy.vpc_id,
            vpc_subnet_ids=tuple(proxy.vpc_subnet_ids), vpc_security_group_ids=tuple(proxy.vpc_security_group_ids))


def db_proxies() -> list[DbProxy]:
    """Every DB proxy of every region."""
    out: list[DbProxy] = []
    for account, region, backend in _rds_backends():
        with assumption("RDSBackend.db_proxies maps names to DBProxy"):
            proxies = list(backend.db_proxies.values())
        out.extend(_proxy_view(account, region, p) for p in proxies)
    return out


def db_proxy(account: str, region: str, name: str) -> DbProxy | None:
    """One DB proxy by name, or None."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.db_proxies maps names to DBProxy"):
        proxy = rds_backends[account][region].db_proxies.get(name)
    return _proxy_view(account, region, proxy) if proxy is not None else None


def correct_proxy_targets() -> None:
    """WRITES MOTO'S STATE: moto registers instance targets with port 5432, no endpoint and no role; give
    them the instance's endpoint and port and the READ_WRITE role, as RDS reports them. And a proxy's
    endpoint has RDS's shape, <name>.proxy-<id>.<region>.rds.amazonaws.com (moto: .db-proxy-)."""
    for _, _, backend in _rds_backends():
        with assumption("DBProxyTarget has rds_resource_id, type, endpoint, port and role; DBProxy.endpoint"):
            for proxy in list(backend.db_proxies.values()):
                proxy.endpoint = proxy.endpoint.replace(".db-proxy-", ".proxy-", 1)
                for group in proxy.proxy_target_groups.values():
                    for target in group.targets:
                        db = backend.databases.get(target.rds_resource_id)
                        if target.type == "RDS_INSTANCE" and db is not None:
                            target.endpoint, target.port, target.role = db.address, int(db.port), "READ_WRITE"


def modify_db_proxy(account: str, region: str, name: str, auth: list[dict[str, str]] | None = None,
                    require_tls: bool | None = None, idle_client_timeout: int | None = None,
                    debug_logging: bool | None = None, security_groups: list[str] | None = None,
                    default_auth_scheme: str | None = None) -> object | None:
    """WRITES MOTO'S STATE: what ModifyDBProxy changes (moto has no ModifyDBProxy); moto's DBProxy, or None."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.db_proxies[name] has auth, require_tls, idle_client_timeout, debug_logging, "
                    "vpc_security_group_ids and updated_date"):
        proxy: Any = rds_backends[account][region].db_proxies.get(name)  # moto's, with an attribute of the lab's
        if proxy is None:
            return None
        if auth is not None:
            proxy.auth = auth
        if require_tls is not None:
            proxy.require_tls = require_tls
        if idle_client_timeout is not None:
            proxy.idle_client_timeout = max(1, min(28800, int(idle_client_timeout)))
        if debug_logging is not None:
            proxy.debug_logging = debug_logging
        if security_groups is not None:
            proxy.vpc_security_group_ids = list(security_groups)
        if default_auth_scheme is not None:
            proxy.default_auth_scheme = default_auth_scheme  # DescribeDBProxies reports it (moto's serializer)
        from moto.core.utils import utcnow

        proxy.updated_date = utcnow()
        modified: object = proxy
        return modified


def set_init_query(account: str, region: str, proxy: str, query: str | None) -> None:
    """WRITES MOTO'S STATE: keep a target group's ConnectionPoolConfig.InitQuery (moto drops it), reported by
    DescribeDBProxyTargetGroups (the patch "rds init query")."""
    from moto.rds.models import rds_backends

    with assumption("DBProxy.proxy_target_groups['default'] is a DBProxyTargetGroup"):
        group: Any = rds_backends[account][region].db_proxies[proxy].proxy_target_groups["default"]
        group.lab_init_query = query or None  # an attribute of the lab's on moto's object


@register("rds init query", "moto.rds.models:DBProxyTargetGroup", ("connection_pool_config",),
          "DBProxyTargetGroup.connection_pool_config is a property returning a dict")
def init_query_reporting(originals: dict[str, Any]) -> dict[str, Any]:
    """DescribeDBProxyTargetGroups' ConnectionPoolConfig includes InitQuery when one was set (`set_init_query`)."""
    original = originals["connection_pool_config"].fget

    def connection_pool_config(group: Any) -> dict[str, Any]:
        config: dict[str, Any] = original(group)
        if getattr(group, "lab_init_query", None):
            config["InitQuery"] = group.lab_init_query
        return config

    return {"connection_pool_config": property(connection_pool_config)}


@register("rds proxy default auth scheme", "moto.rds.responses:RDSResponse", ("create_db_proxy",),
          "RDSResponse.create_db_proxy reads self.params['Auth'] and creates self.backend.db_proxies[DBProxyName]")
def default_auth_scheme(originals: dict[str, Any]) -> dict[str, Any]:
    """CreateDBProxy takes DefaultAuthScheme (NONE, IAM_AUTH) and, with IAM_AUTH, no Auth at all (moto requires Auth
    and drops DefaultAuthScheme); DescribeDBProxies then reports it, NONE when none was given, as RDS does."""
    original = originals["create_db_proxy"]

    def create_db_proxy(response: Any) -> Any:  # moto's RDSResponse
        with assumption("RDSResponse.params is the request's parameters as a dict"):
            params = response.params
            params.setdefault("Auth", [])
        answer = original(response)
        with assumption("RDSBackend.db_proxies maps names to DBProxy"):
            created = response.backend.db_proxies[params["DBProxyName"]]
        created.default_auth_scheme = params.get("DefaultAuthScheme") or "NONE"
        return answer

    return {"create_db_proxy": create_db_proxy}


@dataclass(frozen=True)
class ProxyTarget:
    account: str
    region: str
    proxy: str | None  # the proxy whose target group holds it (None if none does any more)
    instance: str
    instance_exists: bool


@register("rds target health", "moto.rds.models:DBProxyTarget", ("target_health",),
          "DBProxyTarget.target_health is a property", needs=("target_health",))
def reported_target_health(originals: dict[str, Any],
                           target_health: Callable[[ProxyTarget], dict[str, str]]) -> dict[str, Any]:
    """DescribeDBProxyTargets reports `target_health(target)` (the local cloud's real check) instead of moto's
    constant AVAILABLE (after moto's one REGISTERING answer)."""
    if not isinstance(originals["target_health"], property):
        raise TypeError("DBProxyTarget.target_health is not a property")

    def health(target: Any) -> dict[str, str]:
        with assumption("DBProxyTarget.registering, .backend and .rds_resource_id"):
            if target.registering:
                return {"State": "REGISTERING"}
            backend = target.backend
            proxy = next((name for name, p in backend.db_proxies.items()
                          if any(target in g.targets for g in p.proxy_target_groups.values())), None)
            found = ProxyTarget(backend.account_id, backend.region_name, proxy, target.rds_resource_id,
                                target.rds_resource_id in backend.databases)
        return target_health(found)

    return {"target_health": property(health)}

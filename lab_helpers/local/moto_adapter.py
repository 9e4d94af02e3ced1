"""The one module that reads (and, in three marked places, changes) moto's internals.

The local cloud's control plane is moto in server mode, in the cloud's own process. Its data
plane needs what moto keeps but its API does not return (a DB instance's master password, a
function's deployed zip, a REST API's routes), and the network and IAM checks walk moto's EC2 and
IAM backends. Everything of that kind happens here, and every other module gets plain, frozen
views. Each assumption about moto is named where it is used; when a moto upgrade breaks one, the
call raises `MotoContractError` naming it (and `tests/unit/test_moto_contract.py` fails first).

The places that change moto's state (marked CHANGES MOTO): proxy targets get the instance's
endpoint, port and role, as RDS reports them; the proxy target health property is replaced by the
real one; a DB instance's status follows its engine (rebooting while it restarts); a target group
keeps the InitQuery moto drops, and reports it; nothing else.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import moto
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

ACCOUNT = DEFAULT_ACCOUNT_ID  # the one account of the local cloud
RequestHandler = MotoRequestHandler  # moto's werkzeug request handler, which the endpoint extends


class MotoContractError(RuntimeError):
    """moto no longer holds its state the way the local cloud reads it: the installed moto differs from the pin."""


class FunctionNotFound(LookupError):
    """No Lambda function (or version) of that name in that region."""


@contextlib.contextmanager
def assumption(what: str) -> Iterator[None]:
    """Turn a broken assumption about moto's models into an error that names it."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, ImportError) as e:
        raise MotoContractError(f"moto {moto.__version__} no longer matches the local cloud: {what} "
                                f"({type(e).__name__}: {e}). The project pins moto; "
                                "see lab_helpers/local/moto_adapter.py.") from e


def aws_response(service: str, operation: str, result: object) -> tuple[int, dict[str, str], bytes]:
    """An answer to `operation` in its service's wire format (moto's model-driven serializer), from a
    result shaped like the operation's output (dicts with AWS's keys, or moto's own model objects)."""
    from moto.core import serialize
    from moto.core.utils import get_service_model

    with assumption("moto.core.serialize.get_serializer_class(service, protocol)(operation_model, value_picker)"):
        model = get_service_model(service)
        serializer = serialize.get_serializer_class(service, model.protocol)
        answer = serializer(model.operation_model(operation),
                            value_picker=serialize.XFormedAttributePicker()).serialize(result)
        return int(answer["status_code"]), dict(answer["headers"]), answer["body"].encode()


def wsgi_app() -> DomainDispatcherApplication:
    """moto's server application: every service, dispatched by the request's signing scope or host."""
    return DomainDispatcherApplication(create_backend_app)


def warm_up(services: tuple[str, ...], region: str) -> None:
    """Build moto's backends of these services now (the first call of each otherwise takes ~1 s)."""
    from moto.backends import get_backend

    for service in services:
        with assumption(f"get_backend({service!r})[account][region] builds the {service} backend"):
            backends = get_backend(service)[ACCOUNT]
            backends["global" if service == "iam" else region]


# ---------------------------------------------------------------- Lambda

@dataclass(frozen=True)
class DeployedFunction:
    """A Lambda function as deployed now: its code and its configuration."""
    region: str
    name: str
    arn: str
    code_sha256: str  # base64 SHA-256 of the zip (CodeSha256)
    code_zip: bytes
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    environment: dict[str, str]
    role: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


def _lambda_backend(region: str):
    from moto.awslambda.models import lambda_backends

    with assumption("lambda_backends[account][region] is the region's Lambda backend"):
        return lambda_backends[ACCOUNT][region]


def deployed_function(region: str, name_or_arn: str, qualifier: str | None = None) -> DeployedFunction:
    """The function as moto holds it, or FunctionNotFound."""
    from moto.awslambda.exceptions import UnknownFunctionException

    backend = _lambda_backend(region)
    try:
        fn = backend.get_function(name_or_arn, qualifier)
    except UnknownFunctionException as e:
        raise FunctionNotFound(name_or_arn) from e
    with assumption("LambdaFunction keeps code_bytes, code_sha_256, run_time, environment_vars and _vpc_config"):
        vpc = fn._vpc_config or {}
        return DeployedFunction(
            region=region, name=fn.function_name, arn=fn.function_arn, code_sha256=fn.code_sha_256,
            code_zip=fn.code_bytes, handler=fn.handler, runtime=fn.run_time or "python3.12",
            timeout=float(fn.timeout), memory_size=int(fn.memory_size), environment=dict(fn.environment_vars or {}),
            role=fn.role, subnet_ids=tuple(vpc.get("SubnetIds") or ()),
            security_group_ids=tuple(vpc.get("SecurityGroupIds") or ()))


CODE_PATH = "/_lab/lambda-code"  # where the endpoint serves a function's deployed zip (GetFunction's Code.Location)


def install_function_answers(endpoint: str) -> None:
    """CHANGES MOTO: GetFunction and GetFunctionConfiguration answer as Lambda does where moto does not:
    - VpcConfig.VpcId is the function's subnets' VPC (moto reports a placeholder);
    - RevisionId exists, and changes with LastModified on every code or configuration update (moto has
      no RevisionId and keeps the creation time), already in the update's own answer;
    - Code.Location is a URL that downloads the deployed zip (`endpoint` + CODE_PATH; moto names an S3
      object nobody can fetch)."""
    import uuid

    from moto.awslambda.models import LambdaFunction
    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    with assumption("LambdaFunction.vpc_config is a property over _vpc_config; get_configuration(), get_code(), "
                    "update_configuration() and update_function_code() are methods; last_modified an attribute"):
        if getattr(LambdaFunction.get_configuration, "lab_answers", None) == endpoint:
            return
        originals = {name: getattr(getattr(LambdaFunction, name), "lab_original", getattr(LambdaFunction, name))
                     for name in ("get_configuration", "get_code", "update_configuration", "update_function_code")}
        vpc_property = LambdaFunction.__dict__["vpc_config"]
        vpc_original = getattr(vpc_property.fget, "lab_original", vpc_property.fget)

    def vpc_config(fn) -> dict[str, Any] | None:
        config = vpc_original(fn)
        if config and config.get("SubnetIds"):
            found = subnets(fn.region, tuple(config["SubnetIds"]))
            if found:
                config["VpcId"] = found[0].vpc_id
        return config

    def revision(fn) -> str:
        if not getattr(fn, "lab_revision_id", None):
            fn.lab_revision_id = str(uuid.uuid4())
        return fn.lab_revision_id

    def get_configuration(fn, *args, **kwargs) -> dict[str, Any]:
        config = originals["get_configuration"](fn, *args, **kwargs)
        config["RevisionId"] = revision(fn)
        return config

    def get_code(fn, *args, **kwargs) -> dict[str, Any]:
        answer = originals["get_code"](fn, *args, **kwargs)
        if answer.get("Code", {}).get("RepositoryType") == "S3":
            answer["Code"]["Location"] = (f"{endpoint}{CODE_PATH}/{fn.region}/{fn.function_name}"
                                          f"?sha256={quote(fn.code_sha_256, safe='')}")
        answer["Configuration"]["RevisionId"] = revision(fn)
        return answer

    def updating(name: str):
        def update(fn, *args, **kwargs):
            fn.last_modified = iso_8601_datetime_with_nanoseconds()
            fn.lab_revision_id = str(uuid.uuid4())
            return originals[name](fn, *args, **kwargs)
        return update

    replacements = {"get_configuration": get_configuration, "get_code": get_code,
                    "update_configuration": updating("update_configuration"),
                    "update_function_code": updating("update_function_code")}
    for name, function in replacements.items():
        function.lab_original = originals[name]
        setattr(LambdaFunction, name, function)
    vpc_config.lab_original = vpc_original
    LambdaFunction.vpc_config = property(vpc_config)
    LambdaFunction.get_configuration.lab_answers = endpoint


def function_code(region: str, name: str) -> tuple[str, bytes] | None:
    """(CodeSha256, zip) of the function as deployed now, or None when there is no such function."""
    try:
        fn = deployed_function(region, name)
    except FunctionNotFound:
        return None
    return fn.code_sha256, fn.code_zip


def function_policy_statements(region: str, name_or_arn: str) -> list[dict[str, Any]]:
    """The function's resource-based policy statements (AddPermission), or FunctionNotFound."""
    from moto.awslambda.exceptions import UnknownFunctionException

    try:
        fn = _lambda_backend(region).get_function(name_or_arn)
    except UnknownFunctionException as e:
        raise FunctionNotFound(name_or_arn) from e
    with assumption("LambdaFunction.policy.statements lists the AddPermission statements as dicts"):
        return [dict(statement) for statement in fn.policy.statements]


# ---------------------------------------------------------------- API Gateway

@dataclass(frozen=True)
class Route:
    """One method of one resource of a REST API."""
    path: str  # the resource's path template, e.g. "/" or "/items/{id}"
    method: str
    integration_type: str | None
    uri: str | None
    responses: tuple[tuple[str, str | None], ...]  # integration responses: (status code, selection pattern)


@dataclass(frozen=True)
class RestApi:
    region: str
    id: str
    routes: tuple[Route, ...]  # as they are now (what a new deployment freezes)
    stages: dict[str, str]  # stage name -> deployment id
    deployment_ids: tuple[str, ...]


def find_rest_api(api_id: str) -> RestApi | None:
    """The REST API of that id in whichever region has it, or None."""
    from moto.apigateway.models import apigateway_backends

    with assumption("apigateway_backends[account] maps regions to backends whose .apis maps ids to RestAPI"):
        found = [(region, backend.apis.get(api_id)) for region, backend in list(apigateway_backends[ACCOUNT].items())]
    region, api = next(((r, a) for r, a in found if a is not None), (None, None))
    if api is None:
        return None
    with assumption("RestAPI.resources -> Resource.resource_methods -> Method.method_integration; stages, deployments"):
        routes = []
        for resource in api.resources.values():
            for method, found_method in resource.resource_methods.items():
                integration = found_method.method_integration
                responses = tuple((str(r.status_code), r.selection_pattern)
                                  for r in ((integration.integration_responses or {}).values() if integration else []))
                routes.append(Route(resource.get_path(), method, integration.integration_type if integration else None,
                                    integration.uri if integration else None, responses))
        return RestApi(region=region, id=api.id, routes=tuple(routes),
                       stages={name: stage.deployment_id for name, stage in api.stages.items()},
                       deployment_ids=tuple(api.deployments))


def rest_api_stages() -> list[tuple[str, str, str, str]]:
    """(region, api id, api name, stage name) of every stage of every REST API."""
    from moto.apigateway.models import apigateway_backends

    with assumption("apigateway_backends[account] maps regions to backends whose .apis maps ids to RestAPI "
                    "with name and stages"):
        return sorted((region, api.id, api.name, stage)
                      for region, backend in list(apigateway_backends[ACCOUNT].items())
                      for api in list(backend.apis.values()) for stage in list(api.stages))


# ---------------------------------------------------------------- RDS

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
        with assumption("RDSBackend.databases holds DBInstance with address, port and _master_user_password"):
            for db in list(backend.databases.values()):
                out.append(DbInstance(account, region, db.db_instance_identifier, db.engine, db.engine_version,
                                      db.address, int(db.port),
                                      db.master_username or "", getattr(db, "_master_user_password", "") or "",
                                      db.db_parameter_group_name))
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
    """CHANGES MOTO: the status DescribeDBInstances reports (e.g. "rebooting" while the engine restarts);
    False when there is no such instance."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.databases[identifier].status is the DBInstanceStatus moto reports"):
        db = rds_backends[account][region].databases.get(identifier)
        if db is None:
            return False
        db.status = status
        return True


def set_engine_version(account: str, region: str, identifier: str, version: str) -> None:
    """CHANGES MOTO: the EngineVersion DescribeDBInstances reports (RDS resolves a major version such as
    "8.0" to the minor version it created; moto echoes the request)."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.databases[identifier].engine_version is the EngineVersion moto reports"):
        db = rds_backends[account][region].databases.get(identifier)
        if db is not None:
            db.engine_version = version


# moto keeps a created proxy's Auth entries with snake_case keys (CreateDBProxy), a modified one's as sent
AUTH_KEYS = {"auth_scheme": "AuthScheme", "secret_arn": "SecretArn", "iam_auth": "IAMAuth", "user_name": "UserName",
             "client_password_auth_type": "ClientPasswordAuthType", "description": "Description"}


def _auth_entry(entry: dict[str, str]) -> dict[str, str]:
    """One Auth entry with AWS's keys."""
    return {AUTH_KEYS.get(key, key): value for key, value in entry.items()}


def _proxy_view(account: str, region: str, proxy) -> DbProxy:
    with assumption("DBProxy has endpoint, auth, resource_id, engine_family, require_tls, idle_client_timeout and "
                    "proxy_target_groups['default']"):
        group = proxy.proxy_target_groups["default"]
        auth = tuple(_auth_entry(a) for a in proxy.auth or [])
        return DbProxy(
            account=account, region=region, name=proxy.db_proxy_name, endpoint=proxy.endpoint,
            secret_arns=tuple(a.get("SecretArn", "") for a in auth), auth=auth,
            iam_auth=tuple(a.get("IAMAuth") or "DISABLED" for a in auth),
            resource_id=proxy.resource_id, engine_family=proxy.engine_family,
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
    out = []
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
    """CHANGES MOTO: moto registers instance targets with port 5432, no endpoint and no role; give
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
                    debug_logging: bool | None = None, security_groups: list[str] | None = None) -> object | None:
    """CHANGES MOTO: what ModifyDBProxy changes (moto has no ModifyDBProxy); moto's DBProxy, or None."""
    from moto.rds.models import rds_backends

    with assumption("RDSBackend.db_proxies[name] has auth, require_tls, idle_client_timeout, debug_logging, "
                    "vpc_security_group_ids and updated_date"):
        proxy = rds_backends[account][region].db_proxies.get(name)
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
        from moto.core.utils import utcnow

        proxy.updated_date = utcnow()
        return proxy


def set_init_query(account: str, region: str, proxy: str, query: str | None) -> None:
    """CHANGES MOTO: keep a target group's ConnectionPoolConfig.InitQuery (moto drops it), reported by
    DescribeDBProxyTargetGroups once `install_init_query_reporting()` ran."""
    from moto.rds.models import rds_backends

    with assumption("DBProxy.proxy_target_groups['default'] is a DBProxyTargetGroup"):
        group = rds_backends[account][region].db_proxies[proxy].proxy_target_groups["default"]
        group.lab_init_query = query or None


def install_init_query_reporting() -> None:
    """CHANGES MOTO: DBProxyTargetGroup.connection_pool_config includes InitQuery when one was set."""
    from moto.rds.models import DBProxyTargetGroup

    with assumption("DBProxyTargetGroup.connection_pool_config is a property returning a dict"):
        original = DBProxyTargetGroup.__dict__["connection_pool_config"]
        if getattr(original.fget, "lab_init_query", False):
            return

        def connection_pool_config(group) -> dict[str, Any]:
            config = original.fget(group)
            if getattr(group, "lab_init_query", None):
                config["InitQuery"] = group.lab_init_query
            return config

        connection_pool_config.lab_init_query = True
        DBProxyTargetGroup.connection_pool_config = property(connection_pool_config)


@dataclass(frozen=True)
class ProxyTarget:
    account: str
    region: str
    proxy: str | None  # the proxy whose target group holds it (None if none does any more)
    instance: str
    instance_exists: bool


def install_target_health(health: Callable[[ProxyTarget], dict[str, str]]) -> None:
    """CHANGES MOTO: DescribeDBProxyTargets reports `health(target)` instead of moto's constant AVAILABLE
    (after moto's one REGISTERING answer)."""
    from moto.rds.models import DBProxyTarget

    def target_health(target) -> dict[str, str]:
        with assumption("DBProxyTarget.registering, .backend and .rds_resource_id"):
            if target.registering:
                return {"State": "REGISTERING"}
            backend = target.backend
            proxy = next((name for name, p in backend.db_proxies.items()
                          if any(target in g.targets for g in p.proxy_target_groups.values())), None)
            found = ProxyTarget(backend.account_id, backend.region_name, proxy, target.rds_resource_id,
                                target.rds_resource_id in backend.databases)
        return health(found)

    with assumption("DBProxyTarget.target_health is a property"):
        if not isinstance(DBProxyTarget.__dict__["target_health"], property):
            raise TypeError("DBProxyTarget.target_health is not a property")
    DBProxyTarget.target_health = property(target_health)


# ---------------------------------------------------------------- Secrets Manager

def secret_string(account: str, region: str, secret_id: str) -> str | None:
    """The secret's current SecretString, or None when it is missing, deleted or has no string."""
    from moto.secretsmanager.exceptions import SecretsManagerClientError
    from moto.secretsmanager.models import secretsmanager_backends

    with assumption("secretsmanager_backends[account][region].get_secret_value(id, version, stage) -> dict"):
        backend = secretsmanager_backends[account][region]
    try:
        with assumption("get_secret_value(secret_id, version_id, version_stage) returns {'SecretString': ...}"):
            return backend.get_secret_value(secret_id, None, "AWSCURRENT").get("SecretString")
    except SecretsManagerClientError:  # not found, deleted, no value
        return None


@dataclass(frozen=True)
class SecretVersions:
    arn: str
    name: str
    versions: dict[str, tuple[str, ...]]  # version id -> its staging labels
    rotation_lambda_arn: str


def _secret(region: str, secret_id: str):
    from moto.secretsmanager.models import secretsmanager_backends

    with assumption("SecretsManagerBackend.secrets maps names to FakeSecret; _is_valid_identifier takes a name or ARN"):
        backend = secretsmanager_backends[ACCOUNT][region]
        if not backend._is_valid_identifier(secret_id):
            return None
        secret = backend.secrets[secret_id]
    return None if secret.is_deleted() else secret


def secret_versions(region: str, secret_id: str) -> SecretVersions | None:
    """A secret's versions and their staging labels, and its rotation function; None when missing or deleted."""
    secret = _secret(region, secret_id)
    if secret is None:
        return None
    with assumption("FakeSecret has arn, name, versions {id: {'version_stages': [...]}}, rotation_lambda_arn"):
        return SecretVersions(secret.arn, secret.name,
                              {v: tuple(data.get("version_stages", ())) for v, data in secret.versions.items()},
                              secret.rotation_lambda_arn or "")


def start_rotation(region: str, secret_id: str, token: str, lambda_arn: str, days: int | None,
                   pending: bool = True) -> None:
    """CHANGES MOTO: what RotateSecret stores before the rotation function runs: the rotation (function,
    schedule, enabled) and, with `pending`, a new empty version `token` with AWSPENDING (moved off others)."""
    import time

    secret = _secret(region, secret_id)
    if secret is None:
        raise LookupError(f"no secret {secret_id} in {region}")
    with assumption("FakeSecret.rotation_lambda_arn/auto_rotate_after_days/rotation_enabled/versions are attributes; "
                    "remove_version_stages_from_old_versions(stages)"):
        secret.rotation_lambda_arn = lambda_arn
        if days:
            secret.auto_rotate_after_days = int(days)
            secret.next_rotation_date = int(time.time()) + int(days) * 86400
        secret.rotation_enabled = True
        secret.rotation_requested = True
        if pending:
            secret.remove_version_stages_from_old_versions(["AWSPENDING"])
            version = secret.versions.setdefault(token, {"createdate": int(time.time()), "version_id": token,
                                                         "version_stages": []})
            version["version_stages"].append("AWSPENDING")
            secret.last_rotation_date = int(time.time())


def install_current_stage_follows() -> None:
    """CHANGES MOTO: moving AWSCURRENT with UpdateSecretVersionStage makes that version the one GetSecretValue
    returns by default (moto keeps answering the old default version)."""
    from moto.secretsmanager.models import SecretsManagerBackend

    with assumption("SecretsManagerBackend.update_secret_version_stage(secret_id, version_stage, remove_from, "
                    "move_to); FakeSecret.versions, set_default_version_id, secret_string"):
        original = SecretsManagerBackend.update_secret_version_stage
        if getattr(original, "lab_follows", False):
            return

        def update_secret_version_stage(backend, secret_id, version_stage, remove_from_version_id,
                                        move_to_version_id):
            answer = original(backend, secret_id, version_stage, remove_from_version_id, move_to_version_id)
            if version_stage == "AWSCURRENT" and move_to_version_id:
                secret = backend.secrets[secret_id]
                secret.set_default_version_id(move_to_version_id)
                version = secret.versions[move_to_version_id]
                if "secret_string" in version:
                    secret.secret_string = version["secret_string"]
            return answer

        update_secret_version_stage.lab_follows = True
        SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


def secret_arn(region: str, secret_id: str) -> str:
    """The ARN for a secret name or ARN (the name's would-be ARN when no such secret exists)."""
    from moto.secretsmanager.models import secretsmanager_backends

    if secret_id.startswith("arn:"):
        return secret_id
    with assumption("SecretsManagerBackend.secrets maps names to secrets with .arn"):
        secrets = secretsmanager_backends[ACCOUNT][region].secrets
        if secret_id in secrets:
            return secrets[secret_id].arn
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret_id}"


# ---------------------------------------------------------------- EC2 (for a function's network path)

@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    cidr: str


@dataclass(frozen=True)
class InterfaceEndpoint:
    service_name: str
    private_dns: bool
    state: str
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class IngressRule:
    protocol: str  # "-1" for all
    from_port: int | None
    to_port: int | None
    source_group_ids: tuple[str, ...]
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class RouteTable:
    associated_subnets: tuple[str, ...]
    main: bool
    default_route_to_nat: bool  # 0.0.0.0/0 goes to a NAT gateway


def _ec2(region: str):
    from moto.ec2.models import ec2_backends

    with assumption("ec2_backends[account][region] is the region's EC2 backend"):
        return ec2_backends[ACCOUNT][region]


def subnets(region: str, ids: tuple[str, ...]) -> list[Subnet]:
    """The subnets of these ids (those that exist)."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.subnets maps zones to {id: Subnet} with vpc_id and cidr_block"):
        return [Subnet(s.id, s.vpc_id, s.cidr_block) for zone in ec2.subnets.values() for s in zone.values()
                if s.id in ids]


def interface_endpoints(region: str, vpc_id: str) -> list[InterfaceEndpoint]:
    """The VPC's interface endpoints."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.vpc_end_points holds VPCEndPoint with vpc_id, service_name, private_dns_enabled, "
                    "vpc_endpoint_type, state and security_group_ids"):
        return [InterfaceEndpoint(e.service_name, bool(e.private_dns_enabled), e.state,
                                  tuple(e.security_group_ids or ()))
                for e in ec2.vpc_end_points.values()
                if e.vpc_id == vpc_id and str(e.vpc_endpoint_type).lower() == "interface"]


def ingress_rules(region: str, group_id: str) -> list[IngressRule]:
    """A security group's inbound rules (none when the group does not exist)."""
    ec2 = _ec2(region)
    with assumption("SecurityGroup.ingress_rules with ip_protocol, from_port, to_port, source_group, ip_range"):
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            return []
        return [IngressRule(str(r.ip_protocol), r.from_port, r.to_port,
                            tuple(g for g in [(r.source_group or {}).get("GroupId")] if g),
                            tuple(c for c in [(r.ip_range or {}).get("CidrIp")] if c))
                for r in group.ingress_rules]


def route_tables(region: str, vpc_id: str) -> list[RouteTable]:
    """The VPC's route tables: which subnets each serves, and whether 0.0.0.0/0 goes to a NAT gateway."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.route_tables holds RouteTable with associations (dicts), main_association_id "
                    "and routes (Route with destination_cidr_block and nat_gateway)"):
        return [RouteTable(tuple(a["SubnetId"] for a in t.associations if a.get("SubnetId")),
                           bool(t.main_association_id),
                           any(r.destination_cidr_block == "0.0.0.0/0" and r.nat_gateway for r in t.routes))
                for t in ec2.route_tables.values() if t.vpc_id == vpc_id]


# ---------------------------------------------------------------- IAM

def role_policies(role_arn: str) -> list[object] | None:
    """The role's managed and inline policies (opaque, for `policies_allow`), or None when no such role exists."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    with assumption("iam_backends[account]['global'].get_role_by_arn(arn)"):
        backend = iam_backends[ACCOUNT]["global"]
    try:
        role = backend.get_role_by_arn(role_arn)
    except NotFoundException:
        return None
    with assumption("Role.managed_policies maps ARNs to ManagedPolicy, Role.policies maps names to JSON documents"):
        return list(role.managed_policies.values()) + list(role.policies.values())


def policies_allow(policies: list[object], action: str, resource: str) -> bool:
    """Identity-based policies' verdict: an explicit Deny wins, else some Allow is needed (moto's evaluator)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    with assumption("moto.iam.access_control.IAMPolicy(policy).is_action_permitted(action, resource)"):
        results = [IAMPolicy(policy).is_action_permitted(action, resource) for policy in policies]
        return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results


# ---------------------------------------------------------------- requests read back into parameters (strict checks)

@dataclass(frozen=True)
class ParsedRequest:
    """An incoming call as its service's model reads it."""
    operation: Any  # botocore's OperationModel (moto's subclass)
    protocol: str  # "query", "ec2", "json", "rest-json"
    params: dict[str, Any]


def parse_request(service: str, method: str, path: str, query: str, headers: dict[str, str],
                  body: bytes) -> ParsedRequest | None:
    """The operation and parameters of a request to `service` (a botocore service name), read back from the
    wire by moto's model-driven router and parsers; None when no operation of the service matches or the
    request cannot be read (moto then answers it as it does)."""
    from urllib.parse import quote as _quote

    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request as MotoRequest
    from moto.core.request import determine_request_protocol
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model
    from werkzeug.exceptions import HTTPException
    from werkzeug.test import EnvironBuilder

    raw_path = _quote(path, safe="/~!$&'()*+,;=:@")
    environ = EnvironBuilder(path=raw_path, method=method, query_string=query, headers=headers,
                             data=body).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = raw_path + (f"?{query}" if query else "")
    with assumption("moto.core: get_service_router(service).match(Request) -> (OperationModel, uri params); "
                    "PROTOCOL_PARSERS[protocol](operation_model).parse(request_dict)"):
        request = MotoRequest(environ)
        try:
            operation, uri_params = get_service_router(service).match(request)
        except (HTTPException, NotImplementedError):
            return None
        protocol = determine_request_protocol(get_service_model(service), request.content_type)
        parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
        try:
            params = parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                                   "body": request.get_data(), "url_path": request.path,
                                   "url_params": uri_params})
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None
    return ParsedRequest(operation, protocol, params)


def policy_document_error(document: str, trust: bool) -> str | None:
    """IAM's MalformedPolicyDocument message for a policy's grammar, as moto's validators (written against
    IAM's answers) give it: a trust policy's, or an identity policy's; None when the grammar holds."""
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.policy_validation import IAMPolicyDocumentValidator, IAMTrustPolicyDocumentValidator

    with assumption("moto.iam.policy_validation.IAM(Trust)PolicyDocumentValidator(document).validate() raises "
                    "MalformedPolicyDocument with .message"):
        validator = (IAMTrustPolicyDocumentValidator if trust else IAMPolicyDocumentValidator)(document)
        try:
            validator.validate()
        except MalformedPolicyDocument as e:
            return str(getattr(e, "message", "") or e)
    return None


def iam_principal_exists(arn: str) -> bool:
    """Does the local account have this role or user (an IAM principal ARN)?"""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    with assumption("iam_backends[account]['global'] with get_role_by_arn and users {name: User(arn)}"):
        backend = iam_backends[ACCOUNT]["global"]
        if ":role/" in arn:
            try:
                backend.get_role_by_arn(arn)
                return True
            except NotFoundException:
                return False
        return any(user.arn == arn for user in backend.users.values())


def role_trust_policy(role_arn: str) -> str | None:
    """The role's trust policy (AssumeRolePolicyDocument) as JSON text, or None when no such role exists."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    with assumption("iam_backends[account]['global'].get_role_by_arn(arn).assume_role_policy_document"):
        backend = iam_backends[ACCOUNT]["global"]
        try:
            document = backend.get_role_by_arn(role_arn).assume_role_policy_document
        except NotFoundException:
            return None
    return document if isinstance(document, str) else json.dumps(document)


def subnet_zones(region: str, ids: tuple[str, ...]) -> dict[str, str]:
    """Availability Zone of each of these subnets that exists."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.subnets maps zones to {id: Subnet} with availability_zone"):
        return {s.id: s.availability_zone for zone in ec2.subnets.values() for s in zone.values() if s.id in ids}


def vpc_dns(region: str, vpc_id: str) -> tuple[bool, bool] | None:
    """(enableDnsSupport, enableDnsHostnames) of the VPC, or None when it does not exist."""
    from moto.ec2.exceptions import InvalidVPCIdError

    ec2 = _ec2(region)
    with assumption("EC2Backend.get_vpc(id) -> VPC with enable_dns_support and enable_dns_hostnames"):
        try:
            vpc = ec2.get_vpc(vpc_id)
        except InvalidVPCIdError:
            return None
        return (str(vpc.enable_dns_support).lower() == "true", str(vpc.enable_dns_hostnames).lower() == "true")

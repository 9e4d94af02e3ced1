"""Module 3 Step 2: Amazon RDS Proxy in front of the database.

The proxy authenticates clients with the database secret (read through its own IAM role), runs in
the rds subnets with `rds-sg`, and has the DB instance as its only target. botocore has no waiter
for proxies, so `wait_for_proxy` polls until the proxy and every target are available, showing
its progress and stopping with the likely cause on a state that will not pass by itself.
"""
from __future__ import annotations

from typing import Any, TypedDict

from . import iam, network, secrets
from .core import ownership
from .core.config import Lab
from .core.waiting import ABSENT, Failure, or_none, require, wait_for


class ProxyTargetView(TypedDict):
    """One target of the proxy, e.g. the DB instance and its health."""
    db: str | None  # RdsResourceId: the DB instance's identifier
    type: str | None  # RDS_INSTANCE, or TRACKED_CLUSTER for a cluster
    state: str | None  # TargetHealth.State: REGISTERING, AVAILABLE, UNAVAILABLE, ...
    reason: str | None  # TargetHealth.Reason when it is not AVAILABLE, e.g. AUTH_FAILURE


class ProxyView(TypedDict):
    """The proxy as `find_proxy` shows it."""
    name: str
    arn: str
    state: str  # creating, available, modifying, deleting, ...
    engine_family: str  # MYSQL
    endpoint: str | None  # the default (read/write) endpoint's host name
    require_tls: bool
    auth: str  # e.g. "SECRETS (IAM auth DISABLED)"
    targets: list[ProxyTargetView]


def _rds(lab: Lab) -> Any:  # a boto3 client
    return lab.client("rds")


# DescribeDBProxies' Status (botocore's DBProxyStatus) and DescribeDBProxyTargets' TargetHealth
# (TargetState, TargetHealthReason). A target's typical life: REGISTERING > UNAVAILABLE > AVAILABLE,
# so a reason fails the wait only once it has lasted a while.
PROXY_DOING = {
    "creating": "프록시와 그 네트워크 인터페이스를 rds 서브넷에 만드는 중",
    "modifying": "바뀐 설정(보안 암호, TLS)을 적용하는 중",
    "reactivating": "일시 중지되었던 프록시를 다시 켜는 중",
    "deleting": "프록시를 삭제하는 중",
}
_RECREATE = "프록시를 지우고(proxy.delete_proxy(lab)) 03_rds_proxy 노트북을 다시 실행하세요."
PROXY_FAILED: dict[str, Failure | str] = {
    "incompatible-network": "프록시가 rds 서브넷과 rds-sg 에 네트워크를 구성할 수 없습니다: 서브넷에 남은 IP 주소가 "
                            "없거나, 서브넷이나 보안 그룹이 삭제되었거나, 서브넷이 서로 다른 가용 영역 2개에 있지 "
                            "않습니다. 00_prerequisites 노트북으로 네트워크를 확인한 뒤 " + _RECREATE,
    "insufficient-resource-limits": "계정의 한도에 걸렸습니다 (리전당 RDS Proxy 수, 서브넷의 IP 주소 등). 쓰지 않는 "
                                    "프록시를 지우거나 Service Quotas 에서 한도를 늘린 뒤 " + _RECREATE,
    ABSENT: Failure("프록시가 없습니다: 만든 뒤 다른 곳에서 삭제되었을 수 있습니다. 이 셀을 다시 실행하세요.",
                    after=60),
}
TARGET_DOING = {  # by TargetHealth.State, or by Reason for an UNAVAILABLE target
    "REGISTERING": "프록시가 DB 인스턴스를 대상으로 등록하는 중",
    "UNAVAILABLE": "프록시가 DB 에 처음 연결하는 중",
    "AUTH_FAILURE": "프록시가 보안 암호로 DB 에 로그인하지 못하는 중",
    "CONNECTION_FAILED": "프록시가 DB 에 연결하지 못하는 중",
    "UNREACHABLE": "프록시가 DB 에 닿지 못하는 중",
    "PENDING_PROXY_CAPACITY": "프록시가 연결을 받을 용량을 준비하는 중",
}
TARGET_FAILED = {  # TargetHealth.Reason of an UNAVAILABLE target
    "AUTH_FAILURE": Failure(
        "프록시가 보안 암호의 사용자 이름과 비밀번호로 DB 에 로그인하지 못했습니다. 보안 암호의 username/password 가 "
        "DB 인스턴스의 마스터 사용자와 같은지(01_secrets_manager), 프록시의 IAM 역할이 그 보안 암호를 읽을 수 있는지"
        "(secretsmanager:GetSecretValue, 03_rds_proxy) 확인하고 두 노트북을 다시 실행하세요.", after=120),
    "CONNECTION_FAILED": Failure(
        "프록시가 DB 에 연결하지 못했습니다. 프록시와 DB 가 모두 rds-sg 에 있으므로 rds-sg 가 자기 자신으로부터 "
        "MySQL(3306)을 받아들여야 합니다 (network.allow_rds_sg_self, 03_rds_proxy). DB 인스턴스가 available "
        "인지도 확인하세요.", after=120),
    "UNREACHABLE": Failure(
        "프록시가 DB 의 주소에 닿지 못했습니다. DB 인스턴스가 available 인지, rds-sg 가 자기 자신으로부터 "
        "MySQL(3306)을 받아들이는지(network.allow_rds_sg_self) 확인하세요.", after=120),
    "PENDING_PROXY_CAPACITY": Failure(
        "프록시가 용량을 준비하는 단계에서 넘어가지 못합니다. 프록시가 보안 암호를 읽지 못하거나(IAM 역할의 권한, "
        "보안 암호가 username/password 를 담은 JSON 인지) rds 서브넷에 IP 주소가 부족할 수 있습니다. 확인한 뒤 "
        + _RECREATE, after=600),
    "INVALID_REPLICATION_STATE": Failure(
        "대상 DB 의 복제 상태 때문에 연결할 수 없습니다 (복제 중인 인스턴스). 대상이 serverless-app-rds 인지 "
        "확인하세요.", after=120),
}


def _raw_proxy(lab: Lab) -> dict[str, Any] | None:
    found = or_none(lambda: _rds(lab).describe_db_proxies(DBProxyName=lab.names.proxy), "DBProxyNotFoundFault")
    return found["DBProxies"][0] if found else None


def _targets(lab: Lab) -> list[ProxyTargetView]:
    """Each target's database and health, e.g. {"db": "serverless-app-rds", "state": "AVAILABLE"}.

    Only called once the proxy is known to exist (moto answers a missing proxy with an internal error).
    """
    found = or_none(lambda: _rds(lab).describe_db_proxy_targets(DBProxyName=lab.names.proxy),
                    "DBProxyNotFoundFault", "DBProxyTargetGroupNotFoundFault")
    targets = found["Targets"] if found else []
    return [ProxyTargetView(db=t.get("RdsResourceId"), type=t.get("Type"),
                            state=t.get("TargetHealth", {}).get("State"),
                            reason=t.get("TargetHealth", {}).get("Reason")) for t in targets]


def find_proxy(lab: Lab) -> ProxyView | None:
    """The proxy with its endpoint, authentication and targets (with their health), or None.

        >>> proxy.find_proxy(lab)["targets"]  # [{'db': 'serverless-app-rds', ..., 'state': 'AVAILABLE', ...}]
    """
    proxy = _raw_proxy(lab)
    if proxy is None:
        return None
    auth = proxy["Auth"][0] if proxy.get("Auth") else {}
    return ProxyView(name=proxy["DBProxyName"], arn=proxy["DBProxyArn"], state=proxy["Status"],
                     engine_family=proxy["EngineFamily"], endpoint=proxy.get("Endpoint"),
                     require_tls=proxy["RequireTLS"], auth=f"{auth.get('AuthScheme')} (IAM auth {auth.get('IAMAuth')})",
                     targets=_targets(lab))


def proxy_endpoint(lab: Lab) -> str:
    """The proxy's default endpoint: the Read/write one the module copies into the function (Step 3.5).

        >>> proxy.proxy_endpoint(lab)  # serverless-app-rds-proxy.proxy-<id>.ap-northeast-2.rds.amazonaws.com
    """
    found = require(find_proxy(lab), f"RDS Proxy {lab.names.proxy}")
    return require(found["endpoint"], f"endpoint of RDS Proxy {lab.names.proxy}")


# AWS's recommendation: the proxy refuses clients that do not use TLS (error 3159). PyMySQL starts TLS
# by itself when the server offers it, so the module's printed code connects unchanged; the lab's
# Module 3 function also verifies the certificate and the host name. RDS Proxy's certificates chain
# to Amazon's root CAs, which the Lambda runtime trusts already (locally: the local cloud's CA).
REQUIRE_TLS = True


def _auth(secret_arn: str) -> dict[str, str]:
    # MySQL proxies default to caching_sha2_password for clients; mysql_native_password is what every
    # client library supports without extra packages (the function's package ships PyMySQL alone).
    return {"AuthScheme": "SECRETS", "SecretArn": secret_arn, "IAMAuth": "DISABLED",
            "ClientPasswordAuthType": "MYSQL_NATIVE_PASSWORD"}


def _create(lab: Lab, secret_arn: str, role_arn: str) -> None:
    names = lab.names
    request = dict(
        DBProxyName=names.proxy, EngineFamily="MYSQL", RoleArn=role_arn,
        Auth=[_auth(secret_arn)],
        VpcSubnetIds=network.subnet_ids(lab, "rds"),
        VpcSecurityGroupIds=[network.security_group_id(lab, names.rds_sg)],
        RequireTLS=REQUIRE_TLS,
        Tags=lab.tags(3, names.proxy))
    iam.after_iam_propagation(lab, lambda: _rds(lab).create_db_proxy(**request), "InvalidParameterValue")


def _healthy(proxy: ProxyView | None) -> bool:
    return (proxy is not None and proxy["state"] == "available" and bool(proxy["targets"])
            and all(t["state"] == "AVAILABLE" for t in proxy["targets"]))


def _waited_target(proxy: ProxyView) -> ProxyTargetView | None:
    """The first target that is not AVAILABLE, else the first target."""
    return next((t for t in proxy["targets"] if t["state"] != "AVAILABLE"), None) or next(iter(proxy["targets"]), None)


def _health_state(proxy: ProxyView) -> str:
    """The proxy's state until it is available, then its target's health,
    e.g. "대상 serverless-app-rds: UNAVAILABLE (AUTH_FAILURE)"."""
    target = _waited_target(proxy)
    if proxy["state"] != "available" or target is None:
        return proxy["state"] if proxy["state"] != "available" else "available (대상 없음)"
    return f"대상 {target['db']}: {target['state']}" + (f" ({target['reason']})" if target["reason"] else "")


def _health_failure(proxy: ProxyView | None) -> Failure | str | None:
    if proxy is None or proxy["state"] != "available":
        return PROXY_FAILED.get(ABSENT if proxy is None else proxy["state"])
    target = _waited_target(proxy)
    return TARGET_FAILED.get(target["reason"] or "") if target and target["state"] == "UNAVAILABLE" else None


def _health_doing(proxy: ProxyView | None) -> str | None:
    if proxy is None or proxy["state"] != "available":
        return PROXY_DOING.get(proxy["state"]) if proxy else None
    target = _waited_target(proxy)
    if target is None:
        return None
    return TARGET_DOING.get(target["reason"] or "") or TARGET_DOING.get(target["state"] or "")


def wait_for_proxy(lab: Lab) -> ProxyView:
    """Poll until the proxy is `available` and every target's health is `AVAILABLE` (minutes on AWS).

    Shows its progress; stops with the likely cause when the proxy is `incompatible-network` or
    `insufficient-resource-limits`, or a target stays UNAVAILABLE with a reason (AUTH_FAILURE,
    CONNECTION_FAILED, ...) for a while (`waiting.WaitFailed`).
    """
    found = wait_for(lab, f"RDS Proxy {lab.names.proxy}", lambda: find_proxy(lab), _health_state, _healthy,
                     _health_failure, usual="1–5분", doing=_health_doing)
    return require(found, f"RDS Proxy {lab.names.proxy}")  # never None once healthy; typed as found


def _proxy_status(proxy: dict[str, Any]) -> str:
    status: str = proxy["Status"]
    return status


def _wait_available(lab: Lab) -> None:
    wait_for(lab, f"RDS Proxy {lab.names.proxy}", lambda: _raw_proxy(lab), _proxy_status, {"available"},
             PROXY_FAILED, usual="5–15분", doing=PROXY_DOING)


def ensure_proxy(lab: Lab) -> ProxyView:
    """Step 2.2-8: the proxy (and its IAM role), the DB instance as its target, then wait until both are ready."""
    secret = require(secrets.find_secret(lab), f"secret {lab.names.secret}")
    role = iam.ensure_proxy_role(lab, secret["arn"])
    proxy = _raw_proxy(lab)
    if proxy is not None:
        ownership.require_lab("RDS Proxy", lab.names.proxy, ownership.rds_tagged(lab, {"arn": proxy["DBProxyArn"]}))
    if proxy is not None and (proxy["Auth"][0].get("SecretArn") != secret["arn"]
                              or proxy["RequireTLS"] != REQUIRE_TLS):
        # The secret was deleted and stored again (same name, new ARN, which the proxy does not know),
        # or the proxy was made by an earlier version of the lab without TLS required.
        _rds(lab).modify_db_proxy(DBProxyName=lab.names.proxy, Auth=[_auth(secret["arn"])], RequireTLS=REQUIRE_TLS)
    if proxy is None:
        _create(lab, secret["arn"], role["arn"])
    _wait_available(lab)  # AWS accepts targets only once the proxy itself is available
    if lab.names.db_instance not in {t["db"] for t in _targets(lab)}:
        _rds(lab).register_db_proxy_targets(DBProxyName=lab.names.proxy, DBInstanceIdentifiers=[lab.names.db_instance])
    return wait_for_proxy(lab)


def delete_proxy(lab: Lab) -> bool:
    """Deregister the database, delete the proxy, and wait until it is gone."""
    proxy = _raw_proxy(lab)
    if proxy is None:
        return False
    if proxy["Status"] != "deleting":
        registered = [t["db"] for t in _targets(lab) if t["type"] == "RDS_INSTANCE"]
        if registered:
            _rds(lab).deregister_db_proxy_targets(DBProxyName=lab.names.proxy, DBInstanceIdentifiers=registered)
        _rds(lab).delete_db_proxy(DBProxyName=lab.names.proxy)
    wait_for(lab, f"RDS Proxy {lab.names.proxy} 삭제", lambda: _raw_proxy(lab), _proxy_status, {ABSENT},
             usual="1–5분", doing=PROXY_DOING)
    return True


IDLE_CLIENT_TIMEOUT_S = 1800  # RDS Proxy's default IdleClientTimeout (what the lab's proxy has)


def idle_client_timeout(lab: Lab) -> int:
    """The proxy's IdleClientTimeout in seconds."""
    return int(require(_raw_proxy(lab), f"RDS Proxy {lab.names.proxy}")["IdleClientTimeout"])


def set_idle_client_timeout(lab: Lab, seconds: int) -> None:
    """ModifyDBProxy IdleClientTimeout (idle client connections are closed after it), then wait until available."""
    if idle_client_timeout(lab) != seconds:
        _rds(lab).modify_db_proxy(DBProxyName=lab.names.proxy, IdleClientTimeout=seconds)
        _wait_available(lab)


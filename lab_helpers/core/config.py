"""Every setting of the lab in one place: the target, the region, and the module's resource names.

Instructors change a name or a size here, and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import boto3
from botocore.config import Config

TARGETS = ("local", "aws")
DEFAULT_TARGET = "local"
DEFAULT_REGION = "ap-northeast-2"  # Seoul, as in the workshop

# Every resource the lab creates carries these tags, so cleanup finds only its own.
PROJECT_TAG_KEY = "lab:project"
PROJECT_TAG_VALUE = "optimize-serverless-module3"
MODULE_TAG_KEY = "lab:module"  # "2" for the Module 2 baseline, "3" for what Module 3 adds


@dataclass(frozen=True)
class Subnet:
    name: str
    az_suffix: str  # "a" or "c": the module's zone; `network.availability_zones` picks the region's real two
    cidr: str
    public: bool = False


@dataclass(frozen=True)
class Names:
    """Names and sizes from Module 2 (the baseline) and Module 3 (this lab)."""

    # Module 2: network (a CloudFormation stack in the original workshop)
    vpc: str = "serverless-app"
    vpc_cidr: str = "10.0.0.0/16"
    internet_gateway: str = "serverless-app-igw"
    route_table: str = "serverless-app-routes"
    subnets: tuple[Subnet, ...] = (
        Subnet("lambda-subnet-a", "a", "10.0.1.0/24"),
        Subnet("lambda-subnet-c", "c", "10.0.2.0/24"),
        Subnet("rds-subnet-a", "a", "10.0.10.0/24"),
        Subnet("rds-subnet-c", "c", "10.0.20.0/24"),
        Subnet("secret-subnet-a", "a", "10.0.100.0/24"),
        Subnet("secret-subnet-c", "c", "10.0.200.0/24"),
        Subnet("cloud9-subnet-a", "a", "10.0.0.0/24", public=True),
    )
    lambda_sg: str = "lambda-sg"
    rds_sg: str = "rds-sg"
    # Module 2: database
    db_subnet_group: str = "rds-subnet-group"
    db_instance: str = "serverless-app-rds"
    db_master_user: str = "admin"
    db_master_password: str = "Passw0rd"  # the workshop's own throwaway value
    db_engine: str = "mysql"
    # MySQL 8.4 (LTS; RDS Proxy supports it). 5.7, the original, is past support, and 8.0's standard support
    # ended 2026-07-31: a new 8.0 instance would bill RDS Extended Support by the vCPU-hour.
    db_engine_version: str = "8.4"
    db_engine_lifecycle_support: str = "open-source-rds-extended-support-disabled"
    db_instance_class: str = "db.t4g.micro"  # the original used db.m5.large
    db_storage_gib: int = 20
    db_port: int = 3306
    # Module 2: function and API
    lambda_role: str = "serverless-app-lambda-role"
    function: str = "serverless-app-lambda"
    function_runtime: str = "python3.12"  # the original used python3.8, now retired
    function_memory_mb: int = 128
    function_timeout_s: int = 10
    api: str = "serverless-app-api"
    stage: str = "dev"
    # Module 3
    secret: str = "serverless-app-rds-secret"
    secret_sg: str = "secret-sg"
    proxy: str = "serverless-app-rds-proxy"
    proxy_role: str = "serverless-app-rds-proxy-role"
    proxy_role_policy: str = "serverless-app-rds-proxy-secret-read"
    function_secret_policy: str = "serverless-app-lambda-secret-read"
    # Beyond the module (notebook 07): rotating the secret
    rotation_function: str = "serverless-app-rds-rotation"
    rotation_role: str = "serverless-app-rds-rotation-role"
    rotation_policy: str = "serverless-app-rds-secret-rotate"
    # Beyond the module (notebook 08): IAM database authentication, the function's role allowed rds-db:connect
    function_connect_policy: str = "serverless-app-lambda-rds-db-connect"

    # who the resources belong to: their names' prefix ("" keeps the module's names)
    learner: str = ""

    def subnet_names(self, prefix: str) -> list[str]:
        """The subnets of one tier, e.g. subnet_names("rds") -> rds-subnet-a, rds-subnet-c."""
        return [s.name for s in self.subnets if s.name.startswith(prefix + "-")]


NAMES = Names()
# Names a learner's prefix goes on (account-wide in a region). Subnets and security groups are named inside
# the learner's own VPC and keep the module's names.
LEARNER_PREFIXED = ("vpc", "internet_gateway", "route_table", "db_subnet_group", "db_instance", "function", "api",
                    "secret", "proxy", "rotation_function")
IAM_ROLES = ("lambda_role", "proxy_role", "rotation_role")  # IAM is global: a role's name also carries the region


def names_for(learner: str = "", region: str = DEFAULT_REGION) -> Names:
    """The lab's names for one learner in one region. With no learner in the workshop's region, the module's
    names exactly; a learner prefixes every account-wide name (`kim01-serverless-app-rds`); outside the
    workshop's region, or with a learner, IAM role names end with the region, so that two labs never share
    (or delete) each other's roles.

        >>> names_for("kim01", "us-east-1").lambda_role  # 'kim01-serverless-app-lambda-role-us-east-1'
    """
    changes: dict[str, Any] = {}  # field name -> name (replace() takes them as keywords)
    prefix = f"{learner}-" if learner else ""
    for field_name in LEARNER_PREFIXED:
        changes[field_name] = prefix + getattr(NAMES, field_name)
    if learner or region != DEFAULT_REGION:
        for field_name in IAM_ROLES:
            changes[field_name] = f"{prefix}{getattr(NAMES, field_name)}-{region}"
    return replace(NAMES, learner=learner, **changes)


class NoCredentials(RuntimeError):
    """target "aws" with no AWS credentials configured."""


@dataclass
class Lab:
    """Where the lab's calls go: a boto3 session for the target, and the clients made from it.

    Build it with `Lab.connect(target)`. `endpoint_url` is the local cloud's endpoint (None on AWS
    and under in-process moto).
    """

    target: str = DEFAULT_TARGET
    region: str = DEFAULT_REGION
    names: Names = NAMES
    session: Any = None  # a boto3.Session (boto3 ships no types); __post_init__ makes one when none is given
    endpoint_url: str | None = None
    poll_interval: float = 0.2  # seconds between polls of a resource's state (AWS: 5)
    poll_timeout: float = 60.0  # seconds before a wait gives up (AWS: 30 minutes)
    # what the learner's organisation requires on what the lab creates (00's `tags`, `permissions_boundary`)
    extra_tags: dict[str, str] = field(default_factory=dict)  # more tags on every resource
    permissions_boundary: str = ""  # an IAM policy ARN set as every role's permissions boundary
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target 은 {TARGETS} 중 하나여야 합니다. 받은 값: {self.target!r}")
        if self.session is None:
            self.session = boto3.Session(region_name=self.region)

    @classmethod
    def connect(cls, target: str = DEFAULT_TARGET, region: str = DEFAULT_REGION, names: Names | None = None,
                learner: str = "", extra_tags: dict[str, str] | None = None, permissions_boundary: str = "") -> "Lab":
        """A Lab for `target`: the running local cloud, or the learner's AWS credentials. Its names are
        `names`, else the learner's in that region (`names_for`); `extra_tags` and `permissions_boundary` go on
        everything it creates."""
        names = names or names_for(learner, region)
        tags = dict(extra_tags or {})
        if target == "local":
            from ..local import RunningCloud

            # raises with what to do when the cloud is not up
            return replace(cls.local(RunningCloud.find().endpoint, region, names), extra_tags=tags,
                           permissions_boundary=permissions_boundary)
        if target == "aws":
            session = boto3.Session(region_name=region)
            if session.get_credentials() is None:
                raise NoCredentials(
                    "AWS 자격 증명을 찾지 못했습니다. `aws configure` 로 설정하거나 AWS_PROFILE, 또는 "
                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY 를 지정한 뒤 다시 실행하세요. AWS 계정 없이 실습하려면 "
                    "target=\"local\" 을 쓰세요."
                )
            return cls(target="aws", region=region, names=names, session=session,
                       poll_interval=5.0, poll_timeout=1800.0, extra_tags=tags,
                       permissions_boundary=permissions_boundary)
        raise ValueError(f"target 은 {TARGETS} 중 하나여야 합니다. 받은 값: {target!r}")

    @classmethod
    def local(cls, endpoint_url: str | None, region: str = DEFAULT_REGION, names: Names | None = None) -> "Lab":
        """A Lab on the local cloud at `endpoint_url` (None: in-process moto), with the keys the local cloud gives
        the learner."""
        from ..local import LEARNER_ACCESS_KEY, LEARNER_SECRET_KEY

        session = boto3.Session(aws_access_key_id=LEARNER_ACCESS_KEY, aws_secret_access_key=LEARNER_SECRET_KEY,
                                region_name=region)
        return cls(target="local", region=region, names=names or names_for("", region), session=session,
                   endpoint_url=endpoint_url)

    def client(self, service: str) -> Any:  # a boto3 client
        if service not in self._clients:
            cfg = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=120)
            kwargs: dict[str, Any] = {"config": cfg}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._clients[service] = self.session.client(service, **kwargs)
        return self._clients[service]

    @property
    def account_id(self) -> str:
        account: str = self.client("sts").get_caller_identity()["Account"]
        return account

    def tags(self, module: int, name: str | None = None) -> list[dict[str, str]]:
        """The lab's tags (and the learner's `extra_tags`) as [{"Key":…, "Value":…}], with a Name tag when given."""
        tags = [{"Key": key, "Value": value} for key, value in self.tag_map(module).items()]
        if name:
            tags.append({"Key": "Name", "Value": name})
        return tags

    def tag_map(self, module: int) -> dict[str, str]:
        """The lab's tags (and the learner's `extra_tags`) as a plain mapping (Lambda, API Gateway, Logs)."""
        return {**self.extra_tags, PROJECT_TAG_KEY: PROJECT_TAG_VALUE, MODULE_TAG_KEY: str(module)}


"""Unit tests on in-process moto: a fresh fake AWS per test, and a record of every call the lab makes."""
from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from lab_helpers import iam, lambda_fn, network, rds, secrets
from lab_helpers.core import waiting
from lab_helpers.core.config import Lab

REGION = "ap-northeast-2"
ACCOUNT_ID = "123456789012"  # moto's default account
MOTO_CONFIG = {"iam": {"load_aws_managed_policies": True}, "lambda": {"use_docker": False}}
READ_ONLY_PREFIXES = ("Describe", "Get", "List")
SERVICE_MODELS = botocore.loaders.create_loader()  # shared, so each service model is parsed once per run


class Calls:
    """The operations the lab's clients called, with their request parameters, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, dict[str, Any]]] = []

    def record(self, params: dict[str, Any], model, **_: Any) -> None:
        self.log.append((model.name, copy.deepcopy(params)))

    def clear(self) -> None:
        self.log.clear()

    def names(self) -> list[str]:
        return [name for name, _ in self.log]

    def mutating(self) -> list[str]:
        return [name for name in self.names() if not name.startswith(READ_ONLY_PREFIXES)]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.log if name == operation]

    def one(self, operation: str) -> dict[str, Any]:
        """The parameters of the only call of `operation`."""
        found = self.params(operation)
        assert len(found) == 1, f"{operation} called {len(found)} times: {self.names()}"
        return found[0]


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch, tmp_path):
    """Keep the learner's AWS configuration (and a running local cloud) out of the tests."""
    for name in [n for n in os.environ if n.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    # Name moto's account up front: otherwise every request looks the access key up in the IAM
    # backends of all six partitions, each building ~1,300 AWS managed policies (~1 s per test).
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT_ID)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # the lab launches no instances


@pytest.fixture
def calls() -> Calls:
    return Calls()


@contextlib.contextmanager
def moto_lab(calls: Calls, config: dict) -> Iterator[Lab]:
    """A Lab on in-process moto with `config`, recording every call of its clients in `calls`."""
    with mock_aws(config=config):
        core = botocore.session.Session()
        core.register_component("data_loader", SERVICE_MODELS)
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing",
                                botocore_session=core)
        session.events.register("before-parameter-build.*.*", calls.record)  # copied into every client
        yield Lab(target="local", endpoint_url=None, session=session, poll_interval=0)


@pytest.fixture
def lab(calls):
    with moto_lab(calls, MOTO_CONFIG) as lab:
        yield lab


@pytest.fixture
def rerun(lab, calls):
    """rerun(first, ensure, *args): a second ensure returns the same and only reads."""

    def check(first, ensure, *args):
        calls.clear()
        assert ensure(lab, *args) == first
        assert calls.mutating() == []

    return check


@pytest.fixture
def has_lab_tags():
    """has_lab_tags(tags, module): whether a Key/Value list or a mapping carries the lab's tags."""

    def check(tags: list[dict[str, str]] | dict[str, str], module: int) -> bool:
        mapping = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
        return Lab().tag_map(module).items() <= mapping.items()

    return check


@pytest.fixture(scope="session")
def module2_package() -> bytes:
    return lambda_fn.build_package("module2", {lambda_fn.RDS_ENDPOINT_PLACEHOLDER: "db.example"})


@pytest.fixture
def vpc_ready(lab, calls):
    """VPC, gateway, subnets and route table of Module 2 (the prerequisite fixtures leave the call log empty)."""
    network.ensure_vpc(lab)
    network.ensure_internet_gateway(lab)
    network.ensure_subnets(lab)
    network.ensure_route_table(lab)
    calls.clear()


@pytest.fixture
def network_ready(lab, calls, vpc_ready):
    """The whole Module 2 network, with lambda-sg and rds-sg."""
    network.ensure_lambda_sg(lab)
    network.ensure_rds_sg(lab)
    calls.clear()


@pytest.fixture
def db_ready(lab, calls, network_ready):
    rds.ensure_db_subnet_group(lab)
    db = rds.ensure_db_instance(lab)
    calls.clear()
    return db


@pytest.fixture
def secret_ready(lab, calls, db_ready):
    secret = secrets.ensure_secret(lab)
    calls.clear()
    return secret


@pytest.fixture
def function_ready(lab, calls, network_ready, module2_package):
    iam.ensure_lambda_role(lab)
    function = lambda_fn.ensure_function(lab, module2_package)
    calls.clear()
    return function


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for `waiting`: each pause between polls moves it on by the pause (nothing really sleeps)."""
    now = [0.0]
    monkeypatch.setattr(waiting, "_now", lambda: now[0])
    monkeypatch.setattr(waiting, "_sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    monkeypatch.delenv(waiting.PROGRESS_ENV, raising=False)
    return now


"""Every request of the whole AWS path (the Module 2 baseline, Module 3, the improved function, rotation,
cleanup of everything), made with target "aws" against in-process moto, recorded and checked against
botocore's service models: known operation, required members present, no unknown members, enum values
among the model's (botocore itself does not check enums before sending)."""
from __future__ import annotations

import dataclasses
from typing import Any

from lab_helpers import baseline, cleanup, module3, network, rotation
from lab_helpers.cleanup import ALREADY_GONE, DELETED


class Requests:
    """(service model, operation name, parameters) of every call, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, str, dict[str, Any]]] = []

    def record(self, params: dict[str, Any], model, **_: Any) -> None:
        import copy

        self.log.append((model.service_model, model.name, copy.deepcopy(params)))


def problems(shape, value, where: str) -> list[str]:
    """What in `value` does not fit `shape` (required members, unknown members, enums), recursively."""
    found: list[str] = []
    if shape is None:
        return found
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return [f"{where}: not a structure"]
        for name in shape.required_members:
            if name not in value:
                found.append(f"{where}.{name}: required member missing")
        for name, member in value.items():
            if name not in shape.members:
                found.append(f"{where}.{name}: not a member of {shape.name}")
            else:
                found += problems(shape.members[name], member, f"{where}.{name}")
    elif shape.type_name == "list":
        for n, item in enumerate(value):
            found += problems(shape.member, item, f"{where}[{n}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            found += problems(shape.key, key, f"{where}.<key>")
            found += problems(shape.value, item, f"{where}[{key}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        found.append(f"{where}: {value!r} is not one of {shape.name}'s {sorted(shape.enum)}")
    return found


def test_the_whole_aws_path_sends_only_requests_aws_accepts(lab, monkeypatch):
    requests = Requests()
    lab.session.events.register("before-parameter-build.*.*", requests.record)
    on_aws = dataclasses.replace(lab, target="aws", _clients={})
    # moto keeps no RDS orderable options: the two zones RDS offers are given (the rest of the discovery runs)
    monkeypatch.setattr(network.zones, "_rds_zones", lambda lab: {f"{lab.region}a", f"{lab.region}c"})
    baseline.ensure_baseline(on_aws)
    module3.ensure_module3(on_aws)
    module3.deploy_improved_function(on_aws)
    rotation.ensure_rotation_function(on_aws)
    rows = cleanup.cleanup(on_aws, "all")
    assert {row["result"] for row in rows} <= {DELETED, ALREADY_GONE}
    assert cleanup.still_billing(on_aws) == []

    operations = {(service.service_name, name) for service, name, _ in requests.log}
    assert len(requests.log) > 100 and len(operations) > 40
    assert {("rds", "CreateDBInstance"), ("rds", "CreateDBProxy"), ("lambda", "CreateFunction"),
            ("secretsmanager", "CreateSecret"), ("ec2", "CreateVpcEndpoint"), ("ec2", "DeleteVpc")} <= operations
    wrong = [f"{service.service_name}.{name}: {problem}" for service, name, params in requests.log
             for problem in problems(service.operation_model(name).input_shape, params, name)]
    assert wrong == []


def test_the_checker_finds_a_wrong_enum_a_missing_member_and_an_unknown_one(lab):
    model = lab.session.client("rds").meta.service_model.operation_model("CreateDBProxy").input_shape
    request = {"DBProxyName": "p", "EngineFamily": "ORACLE", "Auth": [], "VpcSubnetIds": [], "Colour": "blue"}
    found = problems(model, request, "CreateDBProxy")
    assert any("EngineFamily: 'ORACLE' is not one of" in p for p in found)
    assert any("RoleArn: required member missing" in p for p in found)
    assert any("Colour: not a member" in p for p in found)


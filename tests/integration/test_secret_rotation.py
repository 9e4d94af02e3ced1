"""RotateSecret on the local cloud runs the lab's rotation function's four steps through the local Lambda, as
Secrets Manager does, and what depends on the secret follows: the database, RDS Proxy, the lab's function."""
from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from lab_helpers import api, baseline, iam, module3, rotation
from lab_helpers.core import web
from lab_helpers.core.config import Lab
from lab_helpers.local import lifecycle, state
from tests.polling import wait_until


@pytest.fixture(scope="module")
def lab():
    with lifecycle.fresh("lab-test-rotation-", export=True) as info:
        lab = Lab.local(info["endpoint"])
        baseline.ensure_baseline(lab)
        module3.ensure_module3(lab)
        module3.deploy_improved_function(lab)
        rotation.ensure_rotation_function(lab)
        yield lab


def labels(lab: Lab) -> dict[str, set[str]]:
    versions = lab.client("secretsmanager").describe_secret(SecretId=lab.names.secret)["VersionIdsToStages"]
    return {version: set(stages) for version, stages in versions.items()}


def current(lab: Lab) -> str:
    return next(v for v, stages in labels(lab).items() if "AWSCURRENT" in stages)


def rotation_status(lab: Lab) -> dict:
    health = state.health(state.read()["endpoint"])
    found = [r for r in health["secretsmanager"]["rotations"] if r.get("secret") == lab.names.secret]
    return found[0] if found else {}


def wait_outcome(lab: Lab, timeout: float = 60) -> dict:
    """The rotation's status once it has ended (succeeded or failed)."""
    def ended() -> dict | None:
        status = rotation_status(lab)
        return status if status.get("outcome") not in (None, "running") else None

    return wait_until(ended, timeout, interval=0.1, explain=lambda: rotation_status(lab))


def rotation_log(lab: Lab) -> str:
    health = state.health(state.read()["endpoint"])
    files = [e["log_file"] for e in health["lambda"]["environments"] if e["function"] == lab.names.rotation_function]
    return "".join(open(f).read() for f in files)


def test_rotation_runs_the_four_steps_in_order_and_moves_the_labels(lab):
    before = current(lab)
    token = rotation.rotate(lab)
    assert wait_outcome(lab)["outcome"] == "succeeded"
    after = labels(lab)
    assert "AWSCURRENT" in after[token] and after[before] == {"AWSPREVIOUS"}
    log = rotation_log(lab)
    steps = [log.index(f"{step}:") for step in ("createSecret", "setSecret", "testSecret", "finishSecret")]
    assert steps == sorted(steps)
    assert rotation.passwords_differ(lab)
    # the database and RDS Proxy take the new password only
    assert all(rotation.database_checks(lab).values()), rotation.database_checks(lab)
    # and the lab's function still answers through the stage URL
    answer = web.get(api.invoke_url(lab))
    assert answer.status == 200 and json.loads(answer.body)["statusCode"] == 200


def test_a_second_rotate_secret_with_the_same_token_changes_nothing(lab):
    token = rotation.rotate(lab)
    before, log, record = labels(lab), rotation_log(lab), wait_outcome(lab)  # the rotation has ended
    answer = lab.client("secretsmanager").rotate_secret(SecretId=lab.names.secret, ClientRequestToken=token)
    assert answer["VersionId"] == token
    assert rotation_status(lab) == record  # no rotation started: the one on record is the first
    assert labels(lab) == before and rotation_log(lab) == log


def test_a_failing_step_leaves_pending_in_place_and_the_old_password_working(lab):
    old = current(lab)
    client = lab.client("iam")
    policy = client.get_role_policy(RoleName=lab.names.rotation_role, PolicyName=lab.names.rotation_policy)
    client.delete_role_policy(RoleName=lab.names.rotation_role, PolicyName=lab.names.rotation_policy)
    token = str(uuid.uuid4())
    try:
        lab.client("secretsmanager").rotate_secret(SecretId=lab.names.secret, ClientRequestToken=token)
        status = wait_outcome(lab)
        assert status["outcome"] == "failed" and status["error"].startswith("createSecret: ")
        assert "AccessDeniedException" in status["error"]
        now = labels(lab)
        assert now[token] == {"AWSPENDING"} and "AWSCURRENT" in now[old]  # AWSCURRENT did not move
        # the database and the proxy still take the current (old) password and nothing else
        assert all(rotation.database_checks(lab).values()), rotation.database_checks(lab)
        # another rotation is refused while this one is unfinished, as on AWS
        with pytest.raises(ClientError, match="A previous rotation isn't complete"):
            lab.client("secretsmanager").rotate_secret(SecretId=lab.names.secret,
                                                       ClientRequestToken=str(uuid.uuid4()))
    finally:
        client.put_role_policy(RoleName=lab.names.rotation_role, PolicyName=lab.names.rotation_policy,
                               PolicyDocument=json.dumps(policy["PolicyDocument"]))
    # the old password still works through the proxy: the stage URL answers
    assert web.get(api.invoke_url(lab)).status == 200
    # retried with the same token (as Secrets Manager retries), the rotation completes
    lab.client("secretsmanager").rotate_secret(SecretId=lab.names.secret, ClientRequestToken=token)
    rotation.wait_rotated(lab, token)
    assert "AWSCURRENT" in labels(lab)[token]
    assert iam.find_rotation_role(lab) is not None


def test_secrets_manager_may_invoke_only_a_function_that_allows_it(lab):
    lam = lab.client("lambda")
    lam.remove_permission(FunctionName=lab.names.rotation_function, StatementId=rotation.STATEMENT_ID)
    try:
        with pytest.raises(ClientError, match="cannot invoke the specified Lambda function"):
            lab.client("secretsmanager").rotate_secret(SecretId=lab.names.secret)
    finally:
        rotation.ensure_rotation_function(lab)

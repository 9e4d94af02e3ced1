import json

from lab_helpers import secrets


def test_secret_has_the_console_rds_credential_shape(lab, db_ready, calls, rerun, has_lab_tags):
    secret = secrets.ensure_secret(lab)
    assert secret == {"name": "serverless-app-rds-secret", "arn": secret["arn"], "description": secret["description"],
                      "rotation_enabled": False, "rotation_function": ""}
    create = calls.one("CreateSecret")
    assert create["Name"] == "serverless-app-rds-secret"
    assert has_lab_tags(create["Tags"], 3)
    assert not [name for name in calls.names() if "Rotat" in name]
    stored = json.loads(lab.client("secretsmanager").get_secret_value(SecretId=secret["arn"])["SecretString"])
    assert stored == {"username": "admin", "password": "Passw0rd", "engine": "mysql", "host": db_ready["host"],
                      "port": 3306, "dbInstanceIdentifier": "serverless-app-rds"}
    assert "Passw0rd" not in repr(secret)
    assert secrets.find_secret(lab) == secret
    rerun(secret, secrets.ensure_secret)


def test_delete_secret_frees_the_name_at_once(lab, db_ready, calls):
    secrets.ensure_secret(lab)
    assert secrets.delete_secret(lab) is True
    assert calls.params("DeleteSecret")[0]["ForceDeleteWithoutRecovery"] is True
    assert secrets.find_secret(lab) is None
    assert secrets.delete_secret(lab) is False
    assert secrets.ensure_secret(lab)["name"] == "serverless-app-rds-secret"

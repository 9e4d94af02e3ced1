from lab_helpers import network, rds


def test_db_subnet_group_over_the_rds_subnets(lab, network_ready, calls, rerun, has_lab_tags):
    group = rds.ensure_db_subnet_group(lab)
    assert group["name"] == "rds-subnet-group"
    assert group["subnets"] == network.subnet_ids(lab, "rds")
    create = calls.one("CreateDBSubnetGroup")
    assert create["SubnetIds"] == network.subnet_ids(lab, "rds")
    assert has_lab_tags(create["Tags"], 2)
    assert rds.find_db_subnet_group(lab) == group
    rerun(group, rds.ensure_db_subnet_group)
    assert rds.delete_db_subnet_group(lab) is True
    assert rds.find_db_subnet_group(lab) is None
    assert rds.delete_db_subnet_group(lab) is False


def test_db_instance_is_a_small_private_mysql(lab, network_ready, calls, rerun, has_lab_tags):
    rds.ensure_db_subnet_group(lab)
    calls.clear()
    db = rds.ensure_db_instance(lab)
    assert (db["name"], db["state"], db["engine"], db["engine_version"], db["port"]) == (
        "serverless-app-rds", "available", "mysql", "8.4", 3306)
    assert db["host"]
    assert db["security_groups"] == [network.security_group_id(lab, "rds-sg")]
    assert "Passw0rd" not in repr(db)
    create = calls.one("CreateDBInstance")
    assert {key: create[key] for key in ("Engine", "EngineVersion", "DBInstanceClass", "AllocatedStorage",
                                         "MasterUsername", "MasterUserPassword", "PubliclyAccessible", "MultiAZ",
                                         "BackupRetentionPeriod", "DBSubnetGroupName", "VpcSecurityGroupIds",
                                         "EngineLifecycleSupport")} == {
        "Engine": "mysql", "EngineVersion": "8.4", "DBInstanceClass": "db.t4g.micro", "AllocatedStorage": 20,
        "MasterUsername": "admin", "MasterUserPassword": "Passw0rd", "PubliclyAccessible": False, "MultiAZ": False,
        "BackupRetentionPeriod": 0, "DBSubnetGroupName": "rds-subnet-group",
        "VpcSecurityGroupIds": [network.security_group_id(lab, "rds-sg")],
        "EngineLifecycleSupport": "open-source-rds-extended-support-disabled"}  # no paid Extended Support
    assert "DBName" not in create
    assert has_lab_tags(create["Tags"], 2)
    assert "DescribeDBInstances" in calls.names()  # waited for `available`
    assert rds.find_db_instance(lab) == db
    rerun(db, rds.ensure_db_instance)
    assert rds.delete_db_instance(lab) is True
    assert calls.params("DeleteDBInstance")[0]["SkipFinalSnapshot"] is True
    assert rds.find_db_instance(lab) is None
    assert rds.delete_db_instance(lab) is False

"""RDS instances on the local cloud: deleting one removes its account and, with the last one, its data."""
from __future__ import annotations

import pymysql
import pytest

from lab_helpers import network, rds
from lab_helpers.core.config import Lab
from lab_helpers.local import lifecycle


def connect(info: dict, lab: Lab):
    return pymysql.connect(host="127.0.0.1", port=info["mariadb"]["port"], user=lab.names.db_master_user,
                           password=lab.names.db_master_password, autocommit=True)


def test_a_deleted_and_recreated_instance_starts_empty():
    with lifecycle.fresh("lab-test-instances-") as info:
        lab = Lab.local(info["endpoint"])
        network.ensure_vpc(lab)
        network.ensure_subnets(lab)
        network.ensure_lambda_sg(lab)
        network.ensure_rds_sg(lab)
        rds.ensure_db_subnet_group(lab)
        rds.ensure_db_instance(lab)
        # a major version asked for ("8.0") is created as RDS's minor version, which DescribeDBInstances shows
        assert lab.names.db_engine_version.count(".") == 1
        assert rds.find_db_instance(lab)["engine_version"].startswith(lab.names.db_engine_version + ".")
        with connect(info, lab).cursor() as cur:
            cur.execute("CREATE DATABASE orders")
            cur.execute("CREATE TABLE orders.o (id INT)")
        rds.delete_db_instance(lab)
        with pytest.raises(pymysql.err.OperationalError) as raised:
            connect(info, lab)
        assert raised.value.args[0] in (1045, 1130)  # the instance's account went with it (no such user)
        rds.ensure_db_instance(lab)  # the same name again
        with connect(info, lab).cursor() as cur:
            cur.execute("SHOW DATABASES LIKE 'orders'")
            assert cur.fetchall() == ()  # and its data


def test_the_engine_runs_as_an_unprivileged_account(cloud):
    import os
    import pwd

    if os.geteuid() != 0:
        pytest.skip("started by an ordinary user, the engine runs as that user")
    try:
        mysql = pwd.getpwnam("mysql")
    except KeyError:
        pytest.skip("this machine has no 'mysql' account (Debian's mariadb-server package makes it)")
    status = (cloud["root"] / "mariadb" / "mysqld.pid").read_text().strip()
    uids = next(line for line in open(f"/proc/{status}/status") if line.startswith("Uid:")).split()[1:]
    assert set(map(int, uids)) == {mysql.pw_uid}

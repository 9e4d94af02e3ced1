"""RDS Proxy on the local cloud, configured through the RDS API as a learner would on AWS."""
from __future__ import annotations

import socket
import threading
import time

import pymysql
import pytest

from lab_helpers import baseline, module3, proxy, rds
from lab_helpers.local.rds import provider
from lab_helpers.local.rds.mariadb import MariaDB
from tests.database import open_transactions
from tests.integration.conftest import DB_TIME_ZONE, admin_query
from tests.polling import wait_until

PARAMETER_GROUP = "lab-test-low-connections"


@pytest.fixture(scope="module")
def low_connections(lab):
    """The database's max_connections lowered to 10 (MariaDB's minimum) and the proxy's pool to 50 % of it."""
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    client = lab.client("rds")
    client.create_db_parameter_group(DBParameterGroupName=PARAMETER_GROUP, DBParameterGroupFamily="mysql8.0",
                                     Description="lab test: few connections")
    client.modify_db_parameter_group(DBParameterGroupName=PARAMETER_GROUP, Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "10", "ApplyMethod": "immediate"}])
    client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, DBParameterGroupName=PARAMETER_GROUP,
                              ApplyImmediately=True)
    client.modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                        ConnectionPoolConfig={"MaxConnectionsPercent": 50,
                                                              "ConnectionBorrowTimeout": 30})
    yield
    client.modify_db_parameter_group(DBParameterGroupName=PARAMETER_GROUP, Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "100", "ApplyMethod": "immediate"}])
    client.modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                        ConnectionPoolConfig={"MaxConnectionsPercent": 100})


def test_a_wrong_password_through_the_proxy_is_access_denied(low_connections, lab):
    """Cloud level: the proxy's users come from its Secrets Manager secret, and the right password is not just any
    password; the bench's test_wrong_credentials_are_denied covers the proxy's refusal itself."""
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host=proxy.proxy_endpoint(lab), user="admin", password="wrong", connect_timeout=5)
    assert e.value.args[0] == 1045


def test_a_client_gone_inside_a_transaction_leaves_no_lock(low_connections, lab, cloud):
    """Cloud level: a TLS client of the proxy's own process vanishes mid-transaction; the bench's
    test_leaving_inside_a_transaction_rolls_back_and_frees_the_row covers the same over plaintext, with COM_QUIT too."""
    host = proxy.proxy_endpoint(lab)
    setup = pymysql.connect(host=host, user="admin", password=lab.names.db_master_password, autocommit=True)
    with setup.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS labtest")
        cur.execute("CREATE TABLE IF NOT EXISTS labtest.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
        cur.execute("INSERT IGNORE INTO labtest.t VALUES (1, 0)")
    holder = pymysql.connect(host=host, user="admin", password=lab.names.db_master_password)
    with holder.cursor() as cur:
        cur.execute("SELECT v FROM labtest.t WHERE id = 1 FOR UPDATE")
    db = MariaDB(cloud["root"] / "mariadb")
    assert open_transactions(db) == 1
    holder._sock.shutdown(socket.SHUT_RDWR)  # gone without COMMIT, ROLLBACK or QUIT (as a killed environment)
    holder._sock.close()
    wait_until(lambda: open_transactions(db) == 0)
    with setup.cursor() as cur:
        cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
        cur.execute("BEGIN")
        cur.execute("SELECT v FROM labtest.t WHERE id = 1 FOR UPDATE")
        cur.execute("ROLLBACK")
    setup.close()


def statuses(lab, until: str, timeout: float = 30.0) -> list[str]:
    """DescribeDBInstances' status of the lab's instance, polled until it is `until`: the sequence seen."""
    seen: list[str] = []

    def reached() -> bool:
        state = rds.find_db_instance(lab)["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        return state == until

    wait_until(reached, timeout, explain=lambda: seen)
    return seen


def restart_under_load(lab, cloud, restart) -> tuple[list, list, list[str]]:
    """`restart()` while a proxy client and a direct client each keep querying on one connection:
    (the proxy client's failures, the direct client's failures, the statuses seen)."""
    password = lab.names.db_master_password
    through = pymysql.connect(host=proxy.proxy_endpoint(lab), user="admin", password=password, autocommit=True)
    direct = pymysql.connect(host=rds.db_host(lab), user="admin", password=password, autocommit=True)
    failures: dict[str, list] = {"proxy": [], "direct": []}
    answered = {"proxy": 0, "direct": 0}  # statements each client got an answer to
    stop = threading.Event()

    def load(name: str, conn) -> None:
        while not stop.is_set():
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                answered[name] += 1
            except pymysql.MySQLError as e:
                failures[name].append(e.args[0])
                if name == "direct":
                    return  # its connection is gone for good
            time.sleep(0.01)  # deliberate: a steady trickle of statements, not a loop that starves the restart

    def answers(name: str, more: int) -> None:
        """Wait until a client has had `more` answers from now on (not a fixed time)."""
        target = answered[name] + more
        wait_until(lambda: answered[name] >= target, 30, explain=lambda: (answered, failures))

    threads = [threading.Thread(target=load, args=pair) for pair in (("proxy", through), ("direct", direct))]
    for thread in threads:
        thread.start()
    answers("proxy", 5)  # both clients are answered before the restart
    answers("direct", 5)
    restart()
    seen = statuses(lab, "available")
    answers("proxy", 5)  # and the proxy's client is answered again after it
    stop.set()
    for thread in threads:
        thread.join()
    with through.cursor() as cur:  # the proxy's client is still connected, on the same connection
        cur.execute("SELECT 1")
    through.close()
    admin_query(cloud["root"], f"SET GLOBAL time_zone = '{DB_TIME_ZONE}'")  # a test-only setting, lost on restart
    return failures["proxy"], failures["direct"], seen


def test_reboot_answers_rebooting_at_once_and_proxy_clients_stay_connected(low_connections, lab, cloud):
    """Cloud level: RebootDBInstance's statuses, the parameter group kept, the proxy's client kept under load; the
    bench's test_a_database_restart_keeps_the_proxy_s_clients_connected covers a statement issued mid-restart
    waiting instead of failing (here one in flight may fail, as on AWS)."""
    def reboot() -> None:
        answer = lab.client("rds").reboot_db_instance(DBInstanceIdentifier=lab.names.db_instance)
        assert answer["DBInstance"]["DBInstanceStatus"] == "rebooting"

    through, direct, seen = restart_under_load(lab, cloud, reboot)
    assert seen[-1] == "available" and (seen[0] == "rebooting" or len(seen) == 1)
    assert len(through) <= 1 and set(through) <= {2013}  # at most the statement in flight at the restart
    assert direct and direct[0] in (2006, 2013)  # the direct client lost its connection
    again = pymysql.connect(host=rds.db_host(lab), user="admin", password=lab.names.db_master_password)
    with again.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.max_connections")
        assert cur.fetchone()[0] == 10  # the parameter group still applies after the reboot
    again.close()


def test_a_killed_engine_is_restarted_and_proxy_clients_stay_connected(low_connections, lab, cloud):
    import os
    import signal

    def kill() -> None:
        os.kill(int((cloud["root"] / "mariadb" / "mysqld.pid").read_text()), signal.SIGKILL)
        statuses(lab, "rebooting")  # the cloud notices, and says so

    restarts = proxy_health(cloud)["database"]["restarts"]
    through, direct, seen = restart_under_load(lab, cloud, kill)
    assert seen[-1] == "available"  # after "rebooting", which kill() waited for
    assert len(through) <= 1 and set(through) <= {2013}
    assert direct and direct[0] in (2006, 2013)
    assert proxy_health(cloud)["database"]["restarts"] == restarts + 1


def proxy_health(cloud) -> dict:
    import json
    import urllib.request

    return json.loads(urllib.request.urlopen(cloud["endpoint"] + "/_lab/health").read())


def proxy_status(cloud, lab) -> dict:
    import json
    import urllib.request

    health = json.loads(urllib.request.urlopen(cloud["endpoint"] + "/_lab/health").read())
    (found,) = [p for p in health["proxies"] if p["name"] == lab.names.proxy]
    return found


def replaced(cloud, lab, before: dict, timeout: float) -> dict:
    """The proxy's status once the cloud has restarted it after `before` and it is healthy again."""
    def restarted() -> dict | None:
        now = proxy_status(cloud, lab)
        return now if now["restarts"] != before["restarts"] and now["healthy"] else None

    return wait_until(restarted, timeout, interval=0.1, explain=lambda: proxy_status(cloud, lab))


def test_the_proxy_requires_tls_with_a_certificate_for_its_endpoint_name(low_connections, lab, cloud):
    """Cloud level: the cloud's CA issues the proxy a certificate for its endpoint name and RequireTLS is on; the
    bench's TLS tests cover the proxy's side (another name refused, RequireTLS's 3159, a second client library)."""
    endpoint, password = proxy.proxy_endpoint(lab), lab.names.db_master_password
    bundle = str(cloud["root"] / "ca" / "local-root-ca.pem")
    verified = pymysql.connect(host=endpoint, user="admin", password=password, ssl_ca=bundle,
                               ssl_verify_cert=True, ssl_verify_identity=True)
    assert verified._sock.version().startswith("TLSv1.")
    verified.close()
    with pytest.raises(pymysql.err.OperationalError) as raised:
        pymysql.connect(host=endpoint, user="admin", password=password, ssl_disabled=True)
    assert raised.value.args == (3159, "This RDS Proxy requires TLS connections.")


def test_a_proxy_whose_event_loop_stalls_is_replaced_and_status_says_why(low_connections, lab, cloud):
    """The control port answers from the proxy's event loop: a loop that something blocks (the test hook
    blocks it for an hour) is noticed by the watchdog and the process replaced, as a crashed one is."""
    import os
    import signal

    before = proxy_status(cloud, lab)
    assert before["healthy"] and before["loop_answering"]
    os.kill(before["pid"], signal.SIGUSR1)  # LAB_PROXY_TEST_HOOKS=1 (conftest): the loop blocks
    now = replaced(cloud, lab, before, provider.STALLED_AFTER + 10)
    assert now["pid"] != before["pid"] and now["port"] == before["port"]
    assert "event loop stalled" in now["last_restart"]
    conn = pymysql.connect(host=proxy.proxy_endpoint(lab), user="admin", password=lab.names.db_master_password,
                           read_timeout=2)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()


def test_a_proxy_process_that_dies_is_started_again_on_its_port(low_connections, lab, cloud):
    import os
    import signal

    before = proxy_status(cloud, lab)
    assert before["healthy"] and before["address"] == f"127.0.0.1:{before['port']}"
    os.kill(before["pid"], signal.SIGKILL)
    now = replaced(cloud, lab, before, 10)
    assert now["pid"] != before["pid"] and now["port"] == before["port"]
    conn = pymysql.connect(host=proxy.proxy_endpoint(lab), user="admin", password=lab.names.db_master_password)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    conn.close()


def started_environment(pid: int) -> dict[str, str]:
    """The environment a process was started with (what glibc read at its start)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(entry.decode(errors="replace").split("=", 1) for entry in f.read().split(b"\0") if b"=" in entry)


def test_the_cloud_server_and_the_proxy_start_with_a_malloc_arena_limit_and_mariadb_without(low_connections, lab,
                                                                                           cloud):
    assert started_environment(cloud["pid"]).get("MALLOC_ARENA_MAX") == "2"
    assert started_environment(proxy_status(cloud, lab)["pid"]).get("MALLOC_ARENA_MAX") == "2"
    engine = int((cloud["root"] / "mariadb" / "mysqld.pid").read_text())  # the running one (restarted by a test)
    assert "MALLOC_ARENA_MAX" not in started_environment(engine)


def test_init_query_set_through_the_rds_api(low_connections, lab, cloud):
    """Cloud level: InitQuery set and described back through the RDS API reaches the proxy's process; the bench's
    test_init_query_runs_on_every_new_database_connection covers it running on each new connection, two settings."""
    client = lab.client("rds")
    client.modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                        ConnectionPoolConfig={"InitQuery": "SET time_zone = '+07:00'"})
    try:
        groups = client.describe_db_proxy_target_groups(DBProxyName=lab.names.proxy)["TargetGroups"]
        assert groups[0]["ConnectionPoolConfig"]["InitQuery"] == "SET time_zone = '+07:00'"
        for (thread_id,) in admin_query(cloud["root"], "SELECT id FROM information_schema.processlist "
                                                       "WHERE user = 'admin'"):
            admin_query(cloud["root"], f"KILL CONNECTION {thread_id}")  # the pool's connections are opened anew
        conn = pymysql.connect(host=proxy.proxy_endpoint(lab), user="admin", password=lab.names.db_master_password)
        with conn.cursor() as cur:
            cur.execute("SELECT @@time_zone")
            assert cur.fetchone() == ("+07:00",)
        conn.close()
    finally:
        client.modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                            ConnectionPoolConfig={"InitQuery": ""})


def test_a_megabyte_statement_through_the_proxy_leaves_the_cloud_answering(low_connections, lab):
    """The proxy runs in a process of its own: the control plane answers while it relays a 1 MB statement."""
    answers, stop = [], threading.Event()

    def api() -> None:
        while not stop.is_set():
            answers.append(rds.find_db_instance(lab)["state"])

    thread = threading.Thread(target=api)
    thread.start()
    try:
        conn = pymysql.connect(host=proxy.proxy_endpoint(lab), user="admin", password=lab.names.db_master_password,
                               read_timeout=30)
        with conn.cursor() as cur:
            cur.execute("SELECT 1" + " " * (1 << 20))
            assert cur.fetchone() == (1,)
        conn.close()
        answered = len(answers)
        wait_until(lambda: len(answers) > answered, 10)
    finally:
        stop.set()
        thread.join()
    assert set(answers) == {"available"}


def test_the_proxy_follows_a_secret_stored_again_through_modify_db_proxy(low_connections, lab):
    """Re-running 01 then 03: the secret's new ARN reaches the same proxy (ModifyDBProxy), which logs in with it."""
    from lab_helpers import secrets

    before = proxy.find_proxy(lab)
    secrets.delete_secret(lab)
    new_arn = secrets.ensure_secret(lab)["arn"]
    after = proxy.ensure_proxy(lab)
    assert after["arn"] == before["arn"] and after["endpoint"] == before["endpoint"]  # the same proxy
    (described,) = lab.client("rds").describe_db_proxies(DBProxyName=lab.names.proxy)["DBProxies"]
    assert described["Auth"][0]["SecretArn"] == new_arn and described["RequireTLS"] is True
    conn = pymysql.connect(host=after["endpoint"], user="admin", password=lab.names.db_master_password)
    conn.close()


def test_describe_db_proxy_endpoints_and_modify_db_proxy_answer_as_aws(low_connections, lab):
    client = lab.client("rds")
    (endpoint,) = client.describe_db_proxy_endpoints(DBProxyName=lab.names.proxy)["DBProxyEndpoints"]
    assert (endpoint["DBProxyEndpointName"], endpoint["IsDefault"], endpoint["TargetRole"], endpoint["Status"]) == (
        "default", True, "READ_WRITE", "available")
    assert endpoint["Endpoint"] == proxy.proxy_endpoint(lab)
    assert endpoint["VpcSubnetIds"] == proxy_subnets(lab)
    with pytest.raises(client.exceptions.DBProxyNotFoundFault):
        client.describe_db_proxy_endpoints(DBProxyName="no-such-proxy")
    changed = client.modify_db_proxy(DBProxyName=lab.names.proxy, IdleClientTimeout=900)["DBProxy"]
    assert changed["IdleClientTimeout"] == 900 and changed["RequireTLS"] is True
    client.modify_db_proxy(DBProxyName=lab.names.proxy, IdleClientTimeout=1800)
    with pytest.raises(client.exceptions.DBProxyNotFoundFault):
        client.modify_db_proxy(DBProxyName="no-such-proxy", RequireTLS=True)


def proxy_subnets(lab) -> list[str]:
    from lab_helpers import network

    return network.subnet_ids(lab, "rds")

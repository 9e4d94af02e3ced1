"""The local RDS Proxy's SQL classifier (lab_helpers/local/rds/proxy/statements.py), one case per rule.

What RDS Proxy documents for MySQL (Avoiding pinning, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
rds-proxy-pinning.html): USE and the tracked variables are followed, not pinned; user variables, other session
variables, temporary tables, LOCK TABLES, FLUSH TABLES WITH READ LOCK, GET_LOCK, prepared statements and
statements over 16 KB pin. The tests at the proxy's level (tests/rds_proxy/) show the same rules through a
client; these pin down the parser's edges (quotes, comments, versioned comments, multi-statements).
"""
import pytest

from lab_helpers.local.rds.proxy import statements
from lab_helpers.local.rds.proxy.protocol import MysqlError
from lab_helpers.local.rds.proxy.statements import (
    PINNING_STATEMENT_LENGTH,
    Assignment,
    boolean,
    classify,
    split,
    unquote,
)

PINS = [
    ("SET @x=1", "SET of session state"),
    ("SET foo_var=1", "SET of session state"),
    ("SET time_zone='+00:00', @a=1", "SET of session state"),  # one pinning assignment pins the SET
    ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET of session state"),
    ("SELECT GET_LOCK('a', 1)", "GET_LOCK"),
    ("select get_lock ('a', 1)", "GET_LOCK"),
    ("LOCK TABLES t READ", "LOCK TABLES"),
    ("lock table t write", "LOCK TABLES"),
    ("FLUSH TABLES WITH READ LOCK", "FLUSH TABLES WITH READ LOCK"),
    ("CREATE TEMPORARY TABLE t (a int)", "temporary table"),
    ("PREPARE s FROM 'SELECT 1'", "prepared statement"),
    ("SELECT 1 INTO @v", "user variable"),
    ("SELECT @a := 1", "user variable"),
    ("/*!40101 SET @x=1 */", "SET of session state"),  # a versioned comment is code to MySQL
    ("USE a; SELECT 1", "USE or SET inside a multi-statement"),
    ("SELECT 1; LOCK TABLES t READ", "LOCK TABLES"),
]


@pytest.mark.parametrize("sql,reason", PINS)
def test_what_rds_proxy_pins_pins(sql, reason):
    assert classify(sql).pin_reason == reason


NEVER_PIN = [
    "SELECT 1",
    "INSERT INTO t VALUES (1)",
    "select 'GET_LOCK(' from t",  # in a string
    "SELECT '@notvar', \"a;b\"",
    "SELECT 1 /* SET @x=1 */",  # in a comment
    "SELECT 1 -- SET @x=1",
    "SELECT 1; SELECT 2",
    "SELECT @@version",  # reading a system variable
    "CREATE TABLE t (a int)",
    "FLUSH TABLES",
    "SET GLOBAL max_connections=10",  # global state, not the session's
]


@pytest.mark.parametrize("sql", NEVER_PIN)
def test_what_rds_proxy_does_not_pin_does_not(sql):
    assert classify(sql).pin_reason is None


@pytest.mark.parametrize("sql,sets", [
    ("SET autocommit=0", (Assignment("autocommit", "autocommit", "0"),)),
    ("-- a comment\nSET autocommit = ON", (Assignment("autocommit", "autocommit", "ON"),)),
    ("SET wait_timeout=10", (Assignment("tracked", "wait_timeout", "10"),)),
    ("SET @@session.sql_mode=''", (Assignment("tracked", "sql_mode", "''"),)),
    ("SET SESSION time_zone = '+09:00'", (Assignment("tracked", "time_zone", "'+09:00'"),)),
    ("SET NAMES utf8mb4 COLLATE utf8mb4_bin", (Assignment("charset", "names", "UTF8MB4"),
                                              Assignment("charset", "collation_connection", "UTF8MB4_BIN"))),
    ("SET CHARACTER SET utf8", (Assignment("charset", "names", "UTF8"),)),
    ("SET character_set_results = NULL", (Assignment("charset", "character_set_results", "NULL"),)),
])
def test_tracked_sets_are_recorded_not_pinned(sql, sets):
    classified = classify(sql)
    assert classified.pin_reason is None
    assert classified.sets == sets


@pytest.mark.parametrize("sql,database", [("USE lab", "lab"), ("use `my db`", "my db"), ("USE `a``b`", "a`b")])
def test_use_is_tracked(sql, database):
    assert classify(sql).use == database and classify(sql).pin_reason is None


@pytest.mark.parametrize("sql,kill", [
    ("KILL 7", (False, 7)), ("KILL QUERY 12", (True, 12)), ("kill connection 3", (False, 3)),
    ("KILL HARD QUERY 5", (True, 5)), ("KILL USER x", None), ("KILL QUERY ID 4", None),
])
def test_kill_names_a_connection_id(sql, kill):
    assert classify(sql).kill == kill


def test_statements_over_16_kb_pin_and_shorter_ones_do_not():
    """Unit level: the boundary to the byte; tests/rds_proxy/test_rds_proxy_clients.py's
    test_a_statement_over_16kb_pins covers the proxy pinning the session for it."""
    body = "SELECT '" + "x" * (PINNING_STATEMENT_LENGTH - 9) + "'"
    assert len(body) == PINNING_STATEMENT_LENGTH and classify(body).pin_reason is None
    assert classify(body + " ").pin_reason == "statement longer than 16 KB"


def test_split_skips_quotes_and_comments():
    statements = split("SELECT 'a;b'; # x;\nSELECT `c;d`; SELECT 'it''s'")
    assert len(statements) == 3
    assert [t.text for t in statements[2].tokens] == ["SELECT", "it's"]


def test_autocommit_values_as_mysql_reads_them():
    assert [boolean(v) for v in ("1", "ON", "'true'", "0", "off", "FALSE")] == [True, True, True, False, False, False]
    with pytest.raises(MysqlError) as refused:
        boolean("maybe")
    assert refused.value.code == 1231


def test_unquote():
    assert unquote("`db`") == "db" and unquote("'utf8mb4'") == "utf8mb4" and unquote("plain") == "plain"
    assert unquote("`a``b`") == "a`b"


def message(sql: bytes) -> tuple[bytes, bytes]:
    """A COM_QUERY's packet as a client sends it, and its payload."""
    payload = b"\x03" + sql
    return len(payload).to_bytes(3, "little") + b"\0" + payload, payload


def test_what_is_kept_of_statements_stays_bounded():
    """Each statement text's plan is kept for the next time it comes (how a client repeats itself), but no more
    than PLANS_KEPT of them, and never a long statement's: clients that send ever new texts grow nothing."""
    for i in range(statements.PLANS_KEPT + 100):
        statements.plan_of(*message(f"SELECT {i}".encode()))
    kept = statements.kept_plans
    assert len(kept) == statements.PLANS_KEPT
    assert message(b"SELECT 99")[0] not in kept  # the oldest went first
    assert kept[message(b"SELECT 4100")[0]].found.pin_reason is None
    use = message(b"USE lab")
    assert statements.plan_of(*use).changes_session and kept[use[0]].found.use == "lab"  # (the task answers it)
    assert not kept[message(b"SELECT 4100")[0]].changes_session
    assert len(kept) == statements.PLANS_KEPT
    long_statement = message(b"SELECT '" + b"x" * 600 + b"'")
    assert statements.plan_of(*long_statement).traits.select and long_statement[0] not in kept

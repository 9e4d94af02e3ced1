"""How the proxy reads a client's SQL: transaction boundaries, USE, SET, and what pins.

- The proxy tracks the default database (USE), autocommit, the character set and the session
  variables RDS Proxy tracks for MySQL; a SET of only those is recorded, not pinned.
- Where RDS Proxy pins (other session variables, user variables, temporary tables, LOCK TABLES,
  GET_LOCK, PREPARE, statements over 16 KB) the session is pinned.
"""
from __future__ import annotations

import re

from mysql_mimic.charset import CharacterSet
from mysql_mimic.errors import MysqlError

PINNING_STATEMENT_LENGTH = 16 * 1024  # RDS Proxy pins a session that sends a longer statement

# Session variables RDS Proxy tracks for MySQL (it does not pin when they change). The client
# character set is handled on the client side of the proxy; the others are set on the backend.
CLIENT_CHARSET_VARIABLES = frozenset({"character_set_client", "character_set_connection", "character_set_results"})
TRACKED_VARIABLES = frozenset({
    "auto_increment_increment", "character_set_database", "character_set_filesystem", "character_set_server",
    "collation_connection", "collation_database", "collation_server", "interactive_timeout",
    "net_write_timeout", "query_cache_type", "session_track_schema", "sql_mode", "time_zone",
    "transaction_isolation", "tx_isolation", "transaction_read_only", "tx_read_only", "wait_timeout",
})
LEADING_COMMENTS = re.compile(r"(?:\s+|/\*(?!!).*?\*/|(?:--\s|#)[^\n]*)*", re.S)
_NAME = r"(?P<name>`(?:[^`]|``)+`|[^\s;`]+)"
TXN_BEGIN = re.compile(r"(?:BEGIN(?:\s+WORK)?\s*;?\s*\Z|START\s+TRANSACTION\b)", re.I)
TXN_END = re.compile(r"(?:COMMIT|ROLLBACK)(?:\s+WORK)?\s*;?\s*\Z", re.I)
USE = re.compile(rf"USE\s+{_NAME}\s*;?\s*\Z", re.I)
DROP_DATABASE = re.compile(rf"DROP\s+(?:DATABASE|SCHEMA)\s+(?:IF\s+EXISTS\s+)?{_NAME}", re.I)
SET = re.compile(r"SET\s+(?P<items>.*?)\s*;?\s*\Z", re.I | re.S)
_SET_NAMES = re.compile(r"(?P<kind>NAMES|CHARACTER\s+SET|CHARSET)\s+(?P<charset>'[^']*'|\"[^\"]*\"|\w+)"
                        r"(?:\s+COLLATE\s+(?P<collation>'[^']*'|\"[^\"]*\"|\w+))?\Z", re.I)
_SET_SESSION_STATE = re.compile(r"(?:(?:SESSION|LOCAL)\s+)?(?:TRANSACTION|ROLE)\b", re.I)
_SET_VARIABLE = re.compile(r"(?:(?P<scope>GLOBAL|SESSION|LOCAL|PERSIST|PERSIST_ONLY)\s+"
                           r"|@@(?:(?P<at_scope>GLOBAL|SESSION|LOCAL|PERSIST|PERSIST_ONLY)\.)?)?"
                           r"(?P<name>[a-z_][a-z0-9_]*)\s*:?=\s*(?P<value>.+)\Z", re.I | re.S)
_PINNING = [
    (re.compile(r"\A(?:LOCK\s+TABLES?\b|FLUSH\s+TABLES?\b.*\bWITH\s+READ\s+LOCK\b)", re.I | re.S), "LOCK TABLES"),
    (re.compile(r"\ACREATE\s+(?:OR\s+REPLACE\s+)?TEMPORARY\s+TABLE\b", re.I), "temporary table"),
    (re.compile(r"\APREPARE\b", re.I), "prepared statement"),
    (re.compile(r"\bGET_LOCK\s*\(", re.I), "GET_LOCK"),
    (re.compile(r"(?<![@\w$])@(?:[\w$.]+|`[^`]*`|'[^']*'|\"[^\"]*\")\s*:=|\bINTO\s+@(?!@)", re.I), "user variable"),
]
_BOOLEANS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


def pinning_reason(sql: str, head: str) -> str | None:
    """Why a statement pins the session (RDS Proxy's MySQL conditions), or None."""
    if len(sql) > PINNING_STATEMENT_LENGTH:
        return "statement longer than 16 KB"
    return next((reason for pattern, reason in _PINNING if pattern.search(head)), None)


def split_items(text: str) -> list[str]:
    """A SET statement's assignments: split at commas outside quotes and parentheses."""
    items, start, depth, quote, i = [], 0, 0, None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
        i += 1
    items.append(text[start:].strip())
    return items


def classify(item: str) -> list[tuple[str, str, str | None]]:
    """What one SET assignment changes, as (kind, name, value) tuples. Kinds: "charset", "autocommit"
    and "tracked" are tracked by the proxy; "session" is other session state (it pins); "other" is
    state outside the session (GLOBAL variables, passwords)."""
    if match := _SET_NAMES.match(item):
        changes = [("charset", match["kind"].lower(), match["charset"])]
        if match["collation"]:
            changes.append(("tracked", "collation_connection", match["collation"]))
        return changes
    if (item.startswith("@") and not item.startswith("@@")) or _SET_SESSION_STATE.match(item):
        return [("session", item, None)]  # a user variable, the transaction mode or the role
    match = _SET_VARIABLE.match(item)
    scope = (match["scope"] or match["at_scope"] or "SESSION").upper() if match else None
    if not match or scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY") or match["name"].lower() == "password":
        return [("other", item, None)]
    name, value = match["name"].lower(), match["value"].strip()
    if name == "autocommit":
        return [("autocommit", name, value)]
    if name in CLIENT_CHARSET_VARIABLES:
        return [("charset", name, value)]
    if name in TRACKED_VARIABLES:
        return [("tracked", name, value)]
    return [("session", name, None)]


def charset_changes(name: str, value: str) -> dict[str, str]:
    """The client character set variables a SET NAMES / CHARACTER SET / character_set_* changes."""
    charset = unquote(value).lower()
    charset = "utf8" if charset == "utf8mb3" else charset
    if charset not in CharacterSet.__members__:
        raise MysqlError(f"Unknown character set: '{charset}'", 1115)
    names = (name,) if name in CLIENT_CHARSET_VARIABLES else CLIENT_CHARSET_VARIABLES
    return dict.fromkeys(names, charset)


def boolean(value: str) -> bool:
    """An autocommit value as MySQL reads it (1/0, ON/OFF, TRUE/FALSE), or MySQL's error 1231."""
    try:
        return _BOOLEANS[unquote(value).lower()]
    except KeyError:
        raise MysqlError(f"Variable 'autocommit' can't be set to the value of '{value}'", 1231) from None


def unquote(text: str) -> str:
    """An identifier or value without its quotes (`db`, 'utf8mb4')."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text

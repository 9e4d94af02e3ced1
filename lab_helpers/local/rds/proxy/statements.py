"""How the proxy reads a client's SQL: USE, SET, and what pins the session, in one linear pass.

The text is scanned once, character by character (no regular expression that could backtrack),
into statements of tokens; strings, quoted names and comments are skipped as MySQL skips them
(`/*! ... */` is code). A 1 MB statement is classified in milliseconds.

- The proxy tracks the default database (USE), the character set and collation, autocommit, and
  the session variables RDS Proxy tracks for MySQL; a SET of only those is recorded, not pinned.
- Where RDS Proxy pins (other session variables, user variables, temporary tables, LOCK TABLES,
  FLUSH TABLES WITH READ LOCK, GET_LOCK, PREPARE, statements over 16 KB) the session is pinned.
- What the proxy needs of one statement (`Plan`: its classification and its `Traits`) is worked out once
  per text of a short statement and kept by its message as it came (`plan_of`): the relay in callbacks
  (fast_path.py) and the session's task look it up in the same place.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .protocol import MysqlError

PINNING_STATEMENT_LENGTH = 16 * 1024  # RDS Proxy pins a session that sends a longer statement

# Session variables RDS Proxy tracks for MySQL (setting them does not pin); replayed on whichever
# backend connection the client borrows.
CHARSET_VARIABLES = frozenset({"character_set_client", "character_set_connection", "character_set_results",
                               "collation_connection"})
TRACKED_VARIABLES = frozenset({
    "auto_increment_increment", "character_set_database", "character_set_filesystem", "character_set_server",
    "collation_database", "collation_server", "interactive_timeout", "net_write_timeout", "query_cache_type",
    "session_track_schema", "sql_mode", "time_zone", "transaction_isolation", "tx_isolation",
    "transaction_read_only", "tx_read_only", "wait_timeout",
})
SCOPES = {"GLOBAL", "SESSION", "LOCAL", "PERSIST", "PERSIST_ONLY"}
_BOOLEANS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


@dataclass(frozen=True)
class Token:
    kind: str  # "word" (upper-cased), "quoted" (`name`), "string" ('..' or ".."), "var" (@x or @@x), "op"
    text: str
    start: int
    end: int


@dataclass
class Statement:
    sql: str
    tokens: list[Token] = field(default_factory=list)

    def words(self, n: int) -> list[str]:
        return [t.text for t in self.tokens[:n]]


def split(sql: str) -> list[Statement]:
    """The statements of `sql` (split at `;` outside strings and comments), each with its tokens."""
    statements, current, i, n = [], Statement(sql), 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\" and ch != "`":
                    j += 2
                elif sql[j] == ch and j + 1 < n and sql[j + 1] == ch:  # a doubled quote inside
                    j += 2
                elif sql[j] == ch:
                    break
                else:
                    j += 1
            kind = "quoted" if ch == "`" else "string"
            current.tokens.append(Token(kind, sql[i + 1:j].replace(ch * 2, ch), i, min(j + 1, n)))
            i = j + 1
        elif sql.startswith("/*!", i):  # MySQL runs what is inside: scan it as code (its "*/" is skipped below)
            i += 3
            while i < n and sql[i].isdigit():
                i += 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif sql.startswith("*/", i):
            i += 2
        elif ch == "#" or (sql.startswith("--", i) and (i + 2 >= n or sql[i + 2].isspace())):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == ";":
            if current.tokens:
                statements.append(current)
            current, i = Statement(sql), i + 1
        elif ch == "@":
            j = i + 1
            if j < n and sql[j] == "@":
                j += 1
            while j < n and (sql[j].isalnum() or sql[j] in "_$."):
                j += 1
            if j < n and sql[j] in "'\"`" and j == i + 1:  # @'quoted name'
                close = sql.find(sql[j], j + 1)
                j = n if close < 0 else close + 1
            current.tokens.append(Token("var", sql[i:j], i, j))
            i = j
        elif ch.isalnum() or ch in "_$":
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] in "_$"):
                j += 1
            current.tokens.append(Token("word", sql[i:j].upper(), i, j))
            i = j
        else:
            text = sql[i:i + 2] if sql.startswith(":=", i) else ch
            current.tokens.append(Token("op", text, i, i + len(text)))
            i += len(text)
    if current.tokens:
        statements.append(current)
    for statement in statements:
        statement.sql = sql
    return statements


# ---------------------------------------------------------------- what a statement does to the session

@dataclass(frozen=True)
class Assignment:
    kind: str  # "tracked", "charset", "autocommit", "session" (pins), "other" (global state; not the session's)
    name: str
    value: str | None  # the value's SQL text


@dataclass(frozen=True)
class Classified:
    use: str | None = None  # USE <database>
    sets: tuple[Assignment, ...] = ()  # SET ...
    pin_reason: str | None = None
    kill: tuple[bool, int] | None = None  # KILL [QUERY] <id>: (only the query?, the id)
    ends_transaction: bool = False  # COMMIT or ROLLBACK (not to a savepoint)


# Statements that start with none of these words, and contain none of these texts, change nothing
# the proxy tracks and never pin: most of what clients send (SELECT, INSERT, UPDATE, ...).
_TRACKED_STARTS = ("SET", "USE", "LOCK", "FLUSH", "CREATE", "PREPARE", "KILL", "/*", "--", "#", "(")
_NEVER_IN_PLAIN = ("@", ";", "GET_LOCK")


def _plain(sql: str) -> bool:
    upper = sql.lstrip()[:8].upper()
    if upper.startswith(_TRACKED_STARTS):
        return False
    text = sql.upper() if "get_lock" in sql.lower() else sql
    return not any(marker in text for marker in _NEVER_IN_PLAIN)


# Lower-case texts of statements that read what the previous statement left.
_READS_DIAGNOSTICS = ("row_count", "found_rows", "warning", "error")


class Traits:
    """What a statement's text says of what it reads and leaves for the next one (session_state.py)."""
    __slots__ = ("reads_diagnostics", "reads_last_insert_id", "select", "calc_found_rows")

    def __init__(self, sql: str):
        lower = sql.lower()
        # whether it may read ROW_COUNT(), FOUND_ROWS(), warnings or errors of the one before
        self.reads_diagnostics = any(marker in lower for marker in _READS_DIAGNOSTICS)
        self.reads_last_insert_id = "last_insert_id" in lower  # (and LAST_INSERT_ID(n) sets it)
        self.select = lower.lstrip()[:6] == "select"  # an OK after it (SELECT ... INTO) sets FOUND_ROWS()
        self.calc_found_rows = "calc_found_rows" in lower  # FOUND_ROWS() then reads its count: the next may


PLANS_KEPT = 4096  # plans of short statements kept: a client sends the same ones again
KEPT_LENGTH = 512  # bytes of the longest statement whose plan is kept


class Plan:
    """What the proxy needs to know of one COM_QUERY: what it does to the session (`found`), what it reads and
    leaves of the statements before (`traits`), and whether it changes what the proxy tracks (a USE, SET or
    KILL, which the session's task answers, not the relay in callbacks). Immutable once made: one plan
    serves every client that sends the statement."""
    __slots__ = ("found", "traits", "changes_session")

    def __init__(self, sql: str):
        self.found = found = classify(sql)
        self.traits = Traits(sql)
        self.changes_session = found.use is not None or bool(found.sets) or found.kill is not None


# Short statements' plans by their messages' packets as clients sent them (the relay in callbacks looks a
# statement up here as it arrives, fast_path.py): worked out once per text, the oldest forgotten first.
kept_plans: dict[bytes, Plan] = {}


def plan_of(raw: bytes, message: bytes | None = None) -> Plan:
    """The plan of a COM_QUERY (`raw`: its packets as the client sent them; `message`: its payload, when that
    is more than what follows the first header)."""
    try:
        return kept_plans[raw]
    except KeyError:
        pass
    payload = raw[4:] if message is None else message
    made = Plan(payload[1:].decode("utf-8", errors="replace"))
    if len(payload) <= KEPT_LENGTH + 1:
        if len(kept_plans) >= PLANS_KEPT:
            del kept_plans[next(iter(kept_plans))]  # the oldest
        kept_plans[raw] = made
    return made


def classify(sql: str) -> Classified:
    """What one COM_QUERY does to the client's session."""
    if sql.lstrip().upper().startswith(("COMMIT", "ROLLBACK")) and "SAVEPOINT" not in sql.upper():
        return replace(_classify_session(sql), ends_transaction=True)
    return _classify_session(sql)


def _classify_session(sql: str) -> Classified:
    if len(sql) > PINNING_STATEMENT_LENGTH:
        return Classified(pin_reason="statement longer than 16 KB")
    if _plain(sql):
        return Classified()
    statements = split(sql)
    if len(statements) > 1:
        reasons = [classify_one(s) for s in statements]
        if any(r.use or r.sets for r in reasons):
            return Classified(pin_reason="USE or SET inside a multi-statement")
        return Classified(pin_reason=next((r.pin_reason for r in reasons if r.pin_reason), None))
    return classify_one(statements[0]) if statements else Classified()


def classify_one(statement: Statement) -> Classified:
    tokens = statement.tokens
    first = tokens[0].text if tokens and tokens[0].kind == "word" else ""
    if first == "USE" and len(tokens) == 2 and tokens[1].kind in ("word", "quoted"):
        return Classified(use=tokens[1].text if tokens[1].kind == "quoted" else statement.sql[tokens[1].start:
                                                                                               tokens[1].end])
    if first == "KILL":
        words = [t.text for t in tokens[1:]]
        while words and words[0] in ("HARD", "SOFT"):
            words.pop(0)
        query = bool(words) and words[0] == "QUERY"
        if words and words[0] in ("QUERY", "CONNECTION"):
            words.pop(0)
        if len(words) == 1 and words[0].isdigit():
            return Classified(kill=(query, int(words[0])))
        return Classified()  # KILL QUERY ID <query id>, KILL USER <name>: the database answers
    if first == "SET":
        sets = tuple(_assignments(statement))
        pins = any(a.kind == "session" for a in sets)
        return Classified(sets=sets, pin_reason="SET of session state" if pins else None)
    return Classified(pin_reason=_pinning_reason(tokens))


def _pinning_reason(tokens: list[Token]) -> str | None:
    words = [t.text for t in tokens[:4] if t.kind == "word"]
    if words[:1] == ["LOCK"] and words[1:2] in (["TABLE"], ["TABLES"]):
        return "LOCK TABLES"
    if words[:1] == ["FLUSH"] and _has_sequence(tokens, ("WITH", "READ", "LOCK")):
        return "FLUSH TABLES WITH READ LOCK"
    if words[:1] == ["CREATE"] and "TEMPORARY" in words[1:4]:
        return "temporary table"
    if words[:1] == ["PREPARE"]:
        return "prepared statement"
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind == "word" and token.text == "GET_LOCK" and following and following.text == "(":
            return "GET_LOCK"
        if token.kind == "var" and not token.text.startswith("@@"):
            if following and following.text == ":=":
                return "user variable"
            previous = tokens[i - 1] if i else None
            if previous and previous.kind == "word" and previous.text == "INTO":
                return "user variable"
    return None


def _has_sequence(tokens: list[Token], words: tuple[str, ...]) -> bool:
    texts = [t.text for t in tokens if t.kind == "word"]
    return any(tuple(texts[i:i + len(words)]) == words for i in range(len(texts) - len(words) + 1))


def _assignments(statement: Statement) -> list[Assignment]:
    """The assignments of a SET statement (split at commas outside parentheses)."""
    items: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in statement.tokens[1:]:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0 and token.kind == "op":
            items.append(current)
            current = []
        else:
            current.append(token)
    items.append(current)
    return [a for item in items if item for a in _assignment(statement.sql, item)]


def _value(sql: str, tokens: list[Token]) -> str:
    return sql[tokens[0].start:tokens[-1].end] if tokens else ""


def _assignment(sql: str, tokens: list[Token]) -> list[Assignment]:
    head = tokens[0]
    if head.kind == "word" and head.text == "NAMES" and len(tokens) >= 2:
        out = [Assignment("charset", "names", tokens[1].text)]
        if len(tokens) >= 4 and tokens[2].text == "COLLATE":
            out.append(Assignment("charset", "collation_connection", tokens[3].text))
        return out
    if head.kind == "word" and (head.text == "CHARSET" or (head.text == "CHARACTER" and len(tokens) > 2
                                                            and tokens[1].text == "SET")):
        named = tokens[1] if head.text == "CHARSET" else tokens[2]
        return [Assignment("charset", "names", named.text)]
    if head.kind == "word" and head.text in ("TRANSACTION", "ROLE") or (
            head.kind == "word" and head.text in SCOPES and len(tokens) > 1 and tokens[1].text == "TRANSACTION"):
        return [Assignment("session", _value(sql, tokens), None)]
    scope, rest = "SESSION", tokens
    if head.kind == "var":
        if not head.text.startswith("@@"):
            return [Assignment("session", head.text, None)]  # a user variable
        parts = head.text[2:].split(".", 1)
        if len(parts) == 2:
            scope, name_text = parts[0].upper(), parts[1]
        else:
            name_text = parts[0]
        rest = [Token("word", name_text.upper(), head.start, head.end), *tokens[1:]]
    elif head.kind == "word" and head.text in SCOPES:
        scope, rest = head.text, tokens[1:]
    if len(rest) < 3 or rest[1].text not in ("=", ":="):
        return [Assignment("other", _value(sql, tokens), None)]
    name, value = rest[0].text.lower(), _value(sql, rest[2:])
    if scope in ("GLOBAL", "PERSIST", "PERSIST_ONLY") or name == "password":
        return [Assignment("other", name, value)]
    if name == "autocommit":
        return [Assignment("autocommit", name, value)]
    if name in CHARSET_VARIABLES:
        return [Assignment("charset", name, value)]
    if name in TRACKED_VARIABLES:
        return [Assignment("tracked", name, value)]
    return [Assignment("session", name, value)]


def boolean(value: str) -> bool:
    """An autocommit value as MySQL reads it (1/0, ON/OFF, TRUE/FALSE), or MySQL's error 1231."""
    try:
        return _BOOLEANS[unquote(value).lower()]
    except KeyError:
        raise MysqlError(1231, f"Variable 'autocommit' can't be set to the value of '{value}'", "42000") from None


def unquote(text: str) -> str:
    """An identifier or value without its quotes (`db`, 'utf8mb4')."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text

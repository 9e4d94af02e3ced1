"""Character sets and collations a client names: MySQL 8's *_0900_* collations the engine lacks map to
its nearest; names every MySQL server knows need no check on the database."""
from __future__ import annotations

from pymysql.charset import charset_by_id

from .backend import SessionState
from .statements import unquote

DEFAULT_NAMES = ("utf8mb4", "utf8mb4_general_ci")


def engine_collation(name: str) -> str:
    """A collation the engine has for one a client names: MySQL 8's *_0900_* ones map to the nearest."""
    name = unquote(name).lower()
    if "_0900_" not in name:
        return name
    if name.endswith(("_bin", "_as_cs")):
        return "utf8mb4_bin"
    return "utf8mb4_unicode_520_ci"


def _charset_names(collation_id: int) -> tuple[str, str] | None:
    """(character set, collation) of a collation id PyMySQL knows, else None."""
    try:
        found = charset_by_id(collation_id)
    except KeyError:
        return None
    return found.name, found.collation  # type: ignore[attr-defined]  # types-PyMySQL omits these two attributes


def names_for(collation_id: int) -> tuple[str, str]:
    """(character set, collation) for the collation id a client sends in its handshake."""
    found = _charset_names(collation_id)
    if found is None:
        return DEFAULT_NAMES
    return found[0], engine_collation(found[1])


def known_names(state: SessionState) -> bool:
    """Whether the character set and collation are ones every MySQL server knows (no check needed)."""
    charset, collation = state.names
    known = {name for name, _ in _CHARSETS} | {"utf8"}
    return not state.charset_overrides and charset in known and (
        collation is None or collation in {c for _, c in _CHARSETS})


_CHARSETS = [c for c in (_charset_names(i) for i in range(1, 256)) if c is not None]

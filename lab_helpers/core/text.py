"""Text laid out for a terminal or a notebook: Hangul and other wide characters take two columns.

    >>> pad("비밀", 6) + "|"  # '비밀  |'
"""
from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Columns the text takes on screen: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int) -> str:
    """`text` followed by spaces up to `columns` screen columns."""
    return text + " " * max(0, columns - width(text))

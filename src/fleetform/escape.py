"""Showing text from stacks and hosts on a terminal without letting it control the terminal.

Values in plans and verify reports come from stack files, env files and
``docker inspect``.  An escape sequence in one of them (``ESC[2K``, ``ESC[1A``)
would otherwise erase or rewrite the lines around it, e.g. hide a removal in a
plan.  :func:`escape_control` shows such characters as Python-style escapes;
the JSON forms keep the exact text (JSON escapes control characters anyway).

    >>> escape_control("info\\x1b[2K\\x1b[1A")
    'info\\\\x1b[2K\\\\x1b[1A'
    >>> escape_control("two\\nlines")
    'two\\\\nlines'
    >>> escape_control("plain text: unchanged")
    'plain text: unchanged'
"""

from __future__ import annotations

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

#: Unicode format characters that reorder or hide text (bidirectional
#: overrides and isolates, as in "Trojan Source"), and line separators.
_INVISIBLE = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"


def _escaped(code: int) -> str:
    char = chr(code)
    if char in _SHORT:
        return _SHORT[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE = {
    code: _escaped(code)
    for code in (*range(0x20), *range(0x7F, 0xA0), *(ord(c) for c in _INVISIBLE))
}


def escape_control(text: str) -> str:
    """``text`` with control and bidi characters shown as ``\\xNN`` / ``\\uNNNN`` escapes."""
    if text.isprintable():  # the common case: nothing to do
        return text
    return text.translate(_TABLE)

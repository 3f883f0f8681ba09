"""Variable interpolation in stack file values, as the Compose specification defines it.

``$VAR`` and ``${VAR}`` take the value of ``VAR``; braced forms may carry an
operator whose operand may itself hold interpolations::

    ${VAR:-default}  default when VAR is unset or empty   ${VAR-default}  only when unset
    ${VAR:?error}    an error when VAR is unset or empty  ${VAR?error}    only when unset
    ${VAR:+alt}      alt when VAR is set and non-empty    ${VAR+alt}      alt when set

``$$`` is a literal ``$``; a ``$`` not followed by a name or ``{`` stays as it
is.  An unset variable without a default becomes empty and is reported, so the
caller can warn.  Operands are only read when they are used, so
``${SET:-${UNSET}}`` warns about nothing.

>>> env = {"TAG": "1.2", "EMPTY": ""}.get
>>> interpolate("app:${TAG:-latest} $$HOME ${EMPTY:-none} ${EMPTY-none}", env).text
'app:1.2 $HOME none '
>>> interpolate("${NOPE}x", env).unset
('NOPE',)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Lookup = Callable[[str], "str | None"]

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A ``${VAR:?message}`` whose variable is missing, or a malformed ``${...}``."""


@dataclass(frozen=True)
class Substituted:
    """The result of interpolating one string."""

    text: str
    #: variables that were looked up and set (their values reached ``text``)
    used: tuple[str, ...] = ()
    #: variables that were unset and replaced by an empty string
    unset: tuple[str, ...] = ()


class _Run:
    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.used: list[str] = []
        self.unset: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.lookup(name)
        if value is not None and name not in self.used:
            self.used.append(name)
        return value

    def expand(self, text: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            dollar = text.find("$", i)
            if dollar < 0:
                out.append(text[i:])
                break
            out.append(text[i:dollar])
            nxt = text[dollar + 1 : dollar + 2]
            if nxt == "$":
                out.append("$")
                i = dollar + 2
            elif nxt == "{":
                end = _closing_brace(text, dollar + 2)
                if end < 0:
                    raise InterpolationError(
                        f"invalid interpolation `{text[dollar:]}`: no closing `}}`"
                    )
                out.append(self.braced(text[dollar + 2 : end], text[dollar : end + 1]))
                i = end + 1
            else:
                match = _NAME.match(text, dollar + 1)
                if match is None:
                    out.append("$")  # not a variable: kept as written
                    i = dollar + 1
                else:
                    out.append(self.plain(match.group()))
                    i = match.end()
        return "".join(out)

    def plain(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            if name not in self.unset:
                self.unset.append(name)
            return ""
        return value

    def braced(self, inner: str, written: str) -> str:
        match = _NAME.match(inner)
        if match is None:
            raise InterpolationError(f"invalid interpolation `{written}`: no variable name")
        name, rest = match.group(), inner[match.end() :]
        if not rest:
            return self.plain(name)
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise InterpolationError(
                f"invalid interpolation `{written}`: `{rest[0]}` after `{name}` is not "
                "one of `:-` `-` `:?` `?` `:+` `+`"
            )
        operand = rest[len(operator) :]
        value = self.get(name)
        missing = value is None or (operator.startswith(":") and value == "")
        kind = operator[-1]
        if kind == "-":
            return self.expand(operand) if missing else str(value)
        if kind == "+":
            return "" if missing else self.expand(operand)
        if missing:  # kind == "?"
            message = self.expand(operand)
            state = "is not set" if value is None else "is empty"
            raise InterpolationError(
                f"required variable `{name}` {state}" + (f": {message}" if message else "")
            )
        return str(value)


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` whose body starts at ``start``; -1 if none."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def interpolate(text: str, lookup: Lookup) -> Substituted:
    """Interpolate one string; raises :class:`InterpolationError` in plain words."""
    if "$" not in text:
        return Substituted(text)
    run = _Run(lookup)
    result = run.expand(text)
    return Substituted(result, tuple(run.used), tuple(run.unset))

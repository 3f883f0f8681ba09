"""Compose's dotenv format, for the project's ``.env`` and for ``env_file`` entries.

The rules are those of Compose's environment-file syntax:

- blank lines and lines starting with ``#`` are ignored; ``export `` before a name is allowed;
- ``VAR=VAL``: an unquoted value ends at a ``#`` that follows whitespace (an inline
  comment), trailing whitespace is dropped, and ``$`` interpolation applies;
- ``VAR='VAL'``: taken literally, except that ``\\'`` is a quote;
- ``VAR="VAL"``: ``\\n`` ``\\r`` ``\\t`` ``\\\\`` ``\\"`` are escapes, then interpolation
  applies; quoted values may span lines; after the closing quote only a comment may follow;
- a bare ``VAR`` takes the value from the lookup (the control machine's
  environment) and is left out when it is unset there.

``format: raw`` (:func:`parse_raw`) keeps every value exactly as written.

python-dotenv is not used: it leaves ``$VAR`` (unbraced) alone, knows only
``${VAR:-default}`` of Compose's operators, and decodes Python escapes
(``\\x41``, ``\\u00e9``) in double quotes, which Compose does not.

>>> parse_dotenv('A="v" # c\\nexport B=x # y\\nC=\\'$A\\'\\nD=${A}-$B\\n', {}.get)
{'A': 'v', 'B': 'x', 'C': '$A', 'D': 'v-x'}
"""

from __future__ import annotations

import re

from fleetform.stackfile.interpolate import InterpolationError, Lookup, interpolate

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}
_COMMENT = re.compile(r"\s#")


class DotenvError(ValueError):
    """A line the dotenv rules cannot read; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class _Parser:
    def __init__(self, text: str, lookup: Lookup, environment_wins: bool) -> None:
        self.text = text
        self.pos = 0
        self.lookup = lookup
        self.environment_wins = environment_wins
        self.values: dict[str, str] = {}
        #: the line each name was set on
        self.lines: dict[str, int] = {}

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def fail(self, message: str) -> DotenvError:
        return DotenvError(self.line, message)

    def resolve(self, name: str) -> str | None:
        # Earlier lines of the same file first, then the outside (environment).
        return self.values[name] if name in self.values else self.lookup(name)

    def expand(self, value: str) -> str:
        try:
            return interpolate(value, self.resolve).text
        except InterpolationError as exc:
            raise self.fail(str(exc)) from None

    def rest_of_line(self) -> str:
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end
        part, self.pos = self.text[self.pos : end], end
        return part

    def parse(self) -> dict[str, str]:
        while True:
            while self.pos < len(self.text) and self.text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(self.text):
                return self.values
            if self.text[self.pos] == "#":
                self.rest_of_line()
                continue
            self.statement()

    def statement(self) -> None:
        line = self.line
        head = re.match(r"export[ \t]+", self.text[self.pos :])
        if head:
            self.pos += head.end()
        match = re.match(r"[^=\n]*", self.text[self.pos :])
        assert match is not None
        key = match.group().strip()
        self.pos += match.end()
        if not _NAME.fullmatch(key):
            raise self.fail(f"expected KEY=VALUE or a bare KEY, not `{key}`")
        if self.pos >= len(self.text) or self.text[self.pos] == "\n":
            outside = self.lookup(key)  # a bare name: taken from the environment
            if outside is not None:
                self.values[key] = outside
                self.lines[key] = line
            return
        self.pos += 1  # the `=`
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        quote = self.text[self.pos : self.pos + 1]
        value = self.quoted(quote) if quote in ("'", '"') else self.unquoted()
        outside = self.lookup(key) if self.environment_wins else None
        self.values[key] = value if outside is None else outside
        self.lines[key] = line

    def unquoted(self) -> str:
        raw = " " + self.rest_of_line()  # a leading space so `A= #c` is a comment too
        comment = _COMMENT.search(raw)
        value = (raw[: comment.start()] if comment else raw)[1:].rstrip()
        return self.expand(value)

    def quoted(self, quote: str) -> str:
        start_line = self.line
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise DotenvError(start_line, f"the value's {quote} is never closed")
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                if quote == '"' and nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    self.pos += 2
                    continue
                if quote == "'" and nxt == "'":
                    out.append("'")
                    self.pos += 2
                    continue
            if char == quote:
                self.pos += 1
                break
            out.append(char)
            self.pos += 1
        after = self.rest_of_line().strip()
        if after and not after.startswith("#"):
            raise self.fail(f"unexpected `{after}` after the closing {quote}")
        value = "".join(out)
        # Escapes are read first, then interpolation, as Compose does; `$$` is a literal `$`.
        return self.expand(value) if quote == '"' else value


def parse_dotenv(
    text: str,
    lookup: Lookup,
    *,
    environment_wins: bool = False,
    lines: dict[str, int] | None = None,
) -> dict[str, str]:
    """Read dotenv ``text``; ``lookup`` gives the environment's values.

    ``environment_wins``: a name set in the environment keeps the environment's
    value (the project's ``.env`` works so; an ``env_file`` does not).
    ``lines``, when given, receives the line each name was set on.
    Raises :class:`DotenvError` naming the line.
    """
    parser = _Parser(text, lookup, environment_wins)
    values = parser.parse()
    if lines is not None:
        lines.update(parser.lines)
    return values


def parse_raw(text: str, lines: dict[str, int] | None = None) -> dict[str, str]:
    """``format: raw``: ``KEY=VALUE`` lines whose values are kept exactly as written.

    >>> parse_raw("# c\\nA='x' # not a comment\\nB=${Y}\\n")
    {'A': "'x' # not a comment", 'B': '${Y}'}
    """
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if lines is not None:
            lines[line.partition("=")[0].strip()] = number
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            raise DotenvError(number, "expected KEY=VALUE")
        values[key] = value
    return values

"""Reading one stack file: safe YAML with marks, and nothing surprising.

PyYAML's own loaders are not used to build values, because they silently keep
the last of two duplicate keys, expand aliases without bound (an "alias bomb"
of a few hundred bytes becomes billions of values) and read YAML 1.1, where
``no`` is false and ``22:22`` is the number 1342.  Instead the file is composed
into a node graph with a safe loader that resolves plain scalars the YAML 1.2
way (as Docker Compose does), and that graph is walked here with a budget,
recording where every key and value starts so problems can name a line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from fleetform.stackfile.files import InputFileError, read_small_file
from fleetform.stackfile.problems import DocPath, Problem, Report

#: Stack files are small; anything larger is a mistake or an attack.
MAX_FILE_BYTES = 1024 * 1024
#: Values built from one document, counting every expansion of an alias.
MAX_NODES = 50_000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"


class _StackLoader(yaml.SafeLoader):
    """A safe loader whose implicit types are YAML 1.2's core schema."""

    # A fresh table, so PyYAML's YAML 1.1 resolvers (yes/no, base 60, dates) are not inherited.
    yaml_implicit_resolvers = {}  # noqa: RUF012


for _tag, _regexp, _first in [
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
]:
    _StackLoader.add_implicit_resolver(_TAG + _tag, re.compile(_regexp), list(_first))


class _TooBig(Exception):
    pass


class SourceInt(int):
    """An int that remembers how it was written (``0755``, ``1_000``)."""

    source_text: str = ""


class SourceFloat(float):
    """A float that remembers how it was written, so ``VERSION: 1.10`` stays ``1.10``."""

    source_text: str = ""


def _with_text(value: int | float, text: str) -> int | float:
    out = SourceInt(value) if isinstance(value, int) else SourceFloat(value)
    out.source_text = text
    return out


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar node, or ValueError for a tag fleetform does not read."""
    tag, text = node.tag, node.value
    if tag == _TAG + "str" or tag == "!":
        return text
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"{text!r} is not a boolean")
    if tag == _TAG + "int":
        low = text.lower()
        if low.startswith("0o"):
            return _with_text(int(low[2:], 8), text)
        if low.startswith("0x"):
            return _with_text(int(low[2:], 16), text)
        return _with_text(int(text, 10), text)
    if tag == _TAG + "float":
        low = text.lower().lstrip("+")
        if low in (".inf", "-.inf", ".nan"):
            return float(low.replace(".", ""))
        return _with_text(float(text), text)
    raise ValueError(f"unsupported YAML tag `{_short_tag(tag)}`")


class _Builder:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.budget = MAX_NODES

    def build(self, node: yaml.Node, path: DocPath) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooBig
        if len(path) > MAX_DEPTH:
            raise RecursionError
        mark = node.start_mark
        self.report.value_marks.setdefault(path, (mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.ScalarNode):
            try:
                return _scalar(node)
            except ValueError as exc:
                self.report.error(path, str(exc))
                return None
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                self.report.error(path, f"unsupported YAML tag `{_short_tag(node.tag)}`")
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                self.report.error(path, f"unsupported YAML tag `{_short_tag(node.tag)}`")
            return self._mapping(node, path)
        raise ValueError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, path: DocPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.report.error(path, "keys must be plain strings, not lists or mappings")
                continue
            key = key_node.value
            kmark = key_node.start_mark
            if key in first_seen:
                self.report.key_marks[(*path, key)] = (kmark.line + 1, kmark.column + 1)
                self.report.error(
                    (*path, key),
                    f"duplicate key `{key}` (first defined on line {first_seen[key]})",
                    at_key=True,
                )
                continue
            first_seen[key] = kmark.line + 1
            self.report.key_marks.setdefault((*path, key), (kmark.line + 1, kmark.column + 1))
            result[key] = self.build(value_node, (*path, key))
        # Merge keys (`<<: *defaults`): explicit keys win, then earlier merged maps win.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.report.error(path, "`<<` needs a mapping or a list of mappings")
                    continue
                for key, value in self._mapping(source, path).items():
                    result.setdefault(key, value)
        return result


def read_document(path: Path, display: str) -> tuple[Any, Report]:
    """Read one stack file into plain data and a report holding its marks.

    When the file cannot be read as one YAML mapping-or-other value, the
    report holds the problem and the data is None.
    """
    report = Report(display)
    try:
        raw = read_small_file(path, MAX_FILE_BYTES, "stack files")
    except InputFileError as exc:
        report.error((), f"cannot read the file: {exc}" if exc.unreadable else str(exc))
        return None, report
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        report.problems.append(
            Problem(report.file, line, None, "", f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})")
        )
        return None, report
    try:
        node = yaml.compose(text, Loader=_StackLoader)
        if node is None:
            report.error((), "the file is empty; a stack file needs at least `version` and `name`")
            return None, report
        data = _Builder(report).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _yaml_message(exc)
        if mark is None:
            report.error((), message)
        else:
            report.problems.append(
                Problem(report.file, mark.line + 1, mark.column + 1, "", message)
            )
        return None, report
    except yaml.YAMLError as exc:
        report.error((), f"is not valid YAML: {exc}")
        return None, report
    except _TooBig:
        report.error(
            (),
            f"expands to more than {MAX_NODES} values (each alias `*name` repeats what it points "
            "to); refusing to load it",
        )
        return None, report
    except RecursionError:
        report.error((), f"is nested too deeply (more than {MAX_DEPTH} levels)")
        return None, report
    if data is None:
        report.error((), "the file is empty; a stack file needs at least `version` and `name`")
    return data, report


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    if "expected a single document" in (exc.context or ""):
        return "only one YAML document is allowed per stack file"
    if exc.context and exc.context_mark is not None:
        return f"invalid YAML: {exc.context} (line {exc.context_mark.line + 1}), {problem}"
    return f"invalid YAML: {problem}"

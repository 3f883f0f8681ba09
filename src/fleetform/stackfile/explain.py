"""Turn jsonschema errors into sentences a person can act on.

jsonschema reports alternatives (``anyOf``: short form or long form) as one
error holding every branch's failures; the user wants the failures of the form
they meant to write.  The branch whose type matches the value is taken as
that form; when none matches, the message lists the accepted types.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError

from fleetform.stackfile.compose import unsupported
from fleetform.stackfile.problems import DocPath

Explained = tuple[DocPath, str, bool]  # path, message, whether to point at the key

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def show(value: Any) -> str:
    """A value as it would be written in the stack file."""
    if isinstance(value, str):
        return f"`{value}`"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{show(value)} (a boolean)"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    return f"{show(value)} (a string)"


# How alike a word and a choice must be to suggest it: typos such as `servces`,
# `imgae` or `nmae` score 0.75 and more, while different words that share
# letters (`secrets` and `services`: 0.67) score less.
SUGGEST_CUTOFF = 0.75


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=SUGGEST_CUTOFF)
    return f" (did you mean `{close[0]}`?)" if close else ""


def explain(
    error: ValidationError, root: dict[str, Any], outer: dict[str, Any] | None = None
) -> Iterator[Explained]:
    """Explain one error; ``outer`` is the schema of the alternatives it came from, whose
    title and examples name the value when the branch itself has none."""
    path: DocPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if outer and "title" not in schema:
        schema = {**schema, **{k: outer[k] for k in ("title", "examples") if k in outer}}
    inst: Any = error.instance
    if "propertyNames" in error.absolute_schema_path and isinstance(inst, str):
        title = schema.get("title", "name")
        yield (*path, inst), _not_valid(inst, title, schema), True
    elif error.validator in ("anyOf", "oneOf"):
        yield from _alternatives(error, root)
    elif error.validator == "additionalProperties":
        yield from _unknown_keys(error)
    elif error.validator == "dependentRequired":
        needs: Any = error.validator_value
        for key, required in needs.items():
            present = isinstance(inst, dict) and key in inst
            missing = [n for n in required if present and n not in inst]
            if missing:
                names = " and ".join(f"`{n}`" for n in missing)
                yield (*path, key), f"`{key}` needs {names} as well", True
    elif error.validator == "required":
        expected: Any = error.validator_value
        for name in expected:
            if isinstance(inst, dict) and name not in inst:
                yield path, f"missing required key `{name}`", False
    else:
        yield path, _simple(error, path, schema), False


def _simple(error: ValidationError, path: DocPath, schema: dict[str, Any]) -> str:
    """The message of an error about one value."""
    inst: Any = error.instance
    expected: Any = error.validator_value
    validator = error.validator
    if validator == "type":
        return f"expected {_type_words(expected)}, got {kind(inst)}"
    if validator == "enum":
        choices = [str(c) for c in expected]
        hint = suggest(inst, choices) if isinstance(inst, str) else ""
        return f"{show(inst)} is not one of: {', '.join(choices)}{hint}"
    if path == ("version",):
        # fleetform's 1, or one of Compose's obsolete versions (dropped before the schema).
        if isinstance(inst, str) and inst.strip() == "1":
            return (
                f"{show(inst)} is a string; the format version must be the number 1 "
                "(write it without quotes)"
            )
        return (
            f"unsupported format version {show(inst)}; this fleetform reads version 1 "
            "(or a Compose file version 2.x or 3.x, which is ignored)"
        )
    if validator == "const":
        return f"must be {show(expected)}"
    if validator == "pattern":
        return _not_valid(inst, schema.get("title", "value"), schema)
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _range_message(inst, schema)
    if validator == "uniqueItems":
        dups = [x for i, x in enumerate(inst) if x in inst[:i]]
        return f"{show(dups[0]) if dups else 'an item'} is listed more than once"
    if validator == "minItems":
        return "must not be empty"
    return error.message


def _not_valid(inst: Any, title: str, schema: dict[str, Any]) -> str:
    """``inst`` breaks the pattern of ``schema``; say so, and when lower case is all it
    takes, say that case is the problem."""
    message = f"{show(inst)} is not a valid {title}"
    pattern = schema.get("pattern")
    if (
        title.endswith("name")
        and isinstance(inst, str)
        and isinstance(pattern, str)
        and inst != inst.lower()
        and not inst.lower().startswith("x-")  # that would make it an ignored extension
        and re.search(pattern, inst.lower())
    ):
        return f"{message}: names must be lower case (`{inst.lower()}`)"
    return message + _hint(schema)


def _hint(schema: dict[str, Any]) -> str:
    examples = schema.get("examples")
    if examples:
        return f" (e.g. {', '.join(str(e) for e in examples)})"
    return ""


def _range_message(inst: Any, schema: dict[str, Any]) -> str:
    low = schema.get("minimum")
    high = schema.get("maximum")
    title = schema.get("title")
    if title and low is not None and high is not None:
        return f"{show(inst)} is not a valid {title} ({low}-{high})"
    if "exclusiveMinimum" in schema:
        return f"{show(inst)} must be more than {schema['exclusiveMinimum']}"
    if low is not None and inst < low:
        return f"{show(inst)} is too small (at least {low})"
    return f"{show(inst)} is too large (at most {high})"


def _type_words(types: str | list[str]) -> str:
    words = [_TYPE_WORDS.get(t, t) for t in ([types] if isinstance(types, str) else types)]
    words = list(dict.fromkeys(words))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _unknown_keys(error: ValidationError) -> Iterator[Explained]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = list(schema.get("properties", {}))
    instance: Any = error.instance
    patterns = list(schema.get("patternProperties", {}))
    path: DocPath = tuple(error.absolute_path)
    for key in instance:
        if key in known or any(re.search(p, key) for p in patterns):
            continue
        compose = unsupported(path, key)
        if compose is not None:
            yield (*path, key), compose, True
            continue
        hint = suggest(key, known)
        if not hint:
            hint = f" (known keys: {', '.join(known)})" if len(known) <= 12 else ""
        yield (*path, key), f"unknown key `{key}`{hint}", True


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``) to its schema."""
    while isinstance(schema, dict) and "$ref" in schema and "type" not in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    return schema if isinstance(schema, dict) else {}


def _branch_types(branch: dict[str, Any], root: dict[str, Any]) -> list[str]:
    branch = _resolve(branch, root)
    if "type" in branch:
        t = branch["type"]
        return [t] if isinstance(t, str) else list(t)
    types: list[str] = []
    for sub in branch.get("anyOf", []) + branch.get("oneOf", []):
        types += _branch_types(sub, root)
    return types


def _alternatives(error: ValidationError, root: dict[str, Any]) -> Iterator[Explained]:
    path: DocPath = tuple(error.absolute_path)
    alternatives: Any = error.validator_value
    branches: list[dict[str, Any]] = [_resolve(b, root) for b in alternatives]
    if all(set(b) == {"required"} for b in branches):
        names = " or ".join(f"`{n}`" for b in branches for n in b["required"])
        if not error.context:  # oneOf matched more than one
            yield path, f"give only one of {names}", False
        else:
            yield path, f"needs {names}", False
        return
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        by_branch.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    fitting = [
        errs
        for errs in by_branch.values()
        if not any(e.validator == "type" and tuple(e.absolute_path) == path for e in errs)
    ]
    if not fitting:
        types = [t for b in branches for t in _branch_types(b, root)]
        if types:
            got = kind(error.instance)
            yield path, f"expected {_type_words(types)}, got {got}", False
        else:
            yield path, error.message, False
        return
    best = min(fitting, key=len)
    outer = error.schema if isinstance(error.schema, dict) else None
    for sub in best:
        yield from explain(sub, root, outer if tuple(sub.absolute_path) == path else None)

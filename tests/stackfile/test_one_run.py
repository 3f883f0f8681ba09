"""`fleetform validate` reports every problem in one run: a part the schema rejects
keeps only itself out of the checks that follow, and nothing blames a good part
for a rejected one."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from fleetform.cli import main
from fleetform.stackfile import compose, load_schema
from fleetform.stackfile.checks import check_stacks
from fleetform.stackfile.explain import suggest
from fleetform.stackfile.loader import check_document
from fleetform.stackfile.problems import Report
from fleetform.stackfile.schema import schema_accepts
from fleetform.stackfile.yamlread import read_document

from .helpers import DATA, ROOT, messages, problems_of, write
from .test_invalid_corpus import CORPUS, expectations, located
from .test_robustness import ODD_VALUES, leaves, replaced


def checked(doc: Any, source: Path) -> list[str]:
    """The problems of one parsed document, as ``path: message``."""
    report = Report(str(source))
    loaded = check_document(doc, source, report)
    check_stacks([] if loaded is None else [loaded])
    return [f"{p.path}: {p.message}" for p in report.problems]


def parsed(path: Path) -> Any:
    data, report = read_document(path, str(path))
    return None if report.problems else data


def test_a_file_with_problems_in_many_parts_gets_exactly_its_problems() -> None:
    # The worker depends on the rejected service `api`, joins the rejected network
    # `odd` and mounts the rejected volume `broken`: none of that is reported.
    path = DATA / "invalid" / "multi-parts.yml"
    assert sorted(located(p) for p in problems_of(path)) == sorted(expectations(path))


# Files of the corpus whose problems are found after the schema (semantic ones).
SEMANTIC = [p for p in CORPUS if (d := parsed(p)) is not None and schema_accepts(d)]
_READS = "this fleetform reads version 1 (or a Compose file version 2.x or 3.x, which is ignored)"


@pytest.mark.parametrize(
    "broken",
    [
        {"servces": {}},
        {"secrets": {"zz-broken": {"file": "t", "environment": "T"}}},
        {"hosts": "web"},
        {"engine": {"source": "nope"}},
        {"services": {"zz-broken": {"image": 5, "ports": ["99999:80"]}}},
        {"networks": {"zz-broken": {"driver": []}}},
        {"volumes": {"zz-broken": {"state": "gone"}}},
        {"name": "Upper"},
        {"version": "1"},
    ],
    ids=lambda b: next(iter(b)),
)
def test_semantic_problems_still_show_next_to_a_schema_problem(broken: dict[str, Any]) -> None:
    assert len(SEMANTIC) >= 30
    missing = {}
    for path in SEMANTIC:
        doc = copy.deepcopy(parsed(path))
        before = checked(doc, path)
        replaced_keys = []
        for key, value in broken.items():
            if key in ("services", "networks", "volumes", "secrets") and isinstance(
                doc.get(key), dict
            ):
                doc[key].update(value)
            else:
                doc[key] = value
                replaced_keys.append(key)
        after = checked(doc, path)
        assert set(after) - set(before), (path.name, after)
        # Problems inside a replaced key go with it; with `hosts` rejected, placement is
        # unknown, so a clash with a service on hosts of its own is not claimed; with the
        # name rejected, messages that name the stack change with it.
        lost = [
            m
            for m in before
            if m not in after
            and not any(m.startswith(k) for k in replaced_keys)
            and not ("hosts" in broken and "already published" in m)
            # a message naming the stack names the stand-in while its name is rejected
            and not ("name" in broken and "of stack `" in m)
        ]
        if lost:
            missing[path.name] = lost
    assert missing == {}


def test_a_reference_to_a_rejected_part_is_not_reported(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        "version: 1\nname: r\n"
        "services:\n"
        "  web: {image: x, depends_on: [db], networks: [back], volumes: ['data:/d']}\n"
        "  db: {image: 5}\n"
        "networks: {back: {internal: maybe}}\n"
        "volumes: {data: {driver: []}}\n",
    )
    assert messages(stack) == [
        "services.db.image: expected a string, got 5 (a number)",
        "networks.back.internal: expected true or false, got `maybe` (a string)",
        "volumes.data.driver: expected a string, got a list",
    ]


def test_a_reference_to_an_undeclared_part_is_still_reported(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        "version: 1\nname: r\nfoo: 1\n"
        "services:\n"
        "  web: {image: x, depends_on: [db], networks: [back], volumes: ['data:/d']}\n",
    )
    assert messages(stack) == [
        "foo: unknown key `foo` (known keys: version, name, hosts, engine, networks, volumes, "
        "secrets, configs, services)",
        "services.web.depends_on.db: depends on `db`, which is not a service (services: web)",
        "services.web.networks[0]: network `back` is not declared under the top-level `networks`",
        "services.web.volumes[0]: volume `data` is not declared under the top-level `volumes`",
    ]


def test_stacks_without_a_valid_name_are_not_said_to_share_one(tmp_path: Path) -> None:
    a = write(
        tmp_path, "version: 1\nname: null\nservices: {web: {image: x, ports: ['0:80']}}\n", "a.yml"
    )
    b = write(tmp_path, "version: 1\nname: 7\nservices: {web: {image: x}}\n", "b.yml")
    c = write(tmp_path, "version: 1\nname: Web\n", "c.yml")
    d = write(tmp_path, "version: 1\nname: Web\n", "d.yml")
    # a.yml twice: its stand-in name is not reported as used twice.
    found = [(Path(p.file).name, p.message) for p in problems_of(a, a, b, c, d)]
    assert found == [
        ("a.yml", "expected a string, got nothing (null)"),
        ("a.yml", "0 is not a valid port (1-65535)"),
        ("b.yml", "expected a string, got 7 (a number)"),
        ("c.yml", "`Web` is not a valid stack name: names must be lower case (`web`)"),
        ("d.yml", "`Web` is not a valid stack name: names must be lower case (`web`)"),
    ]


def test_with_its_hosts_rejected_a_stack_clashes_only_with_itself(tmp_path: Path) -> None:
    a = write(
        tmp_path,
        "version: 1\nname: a\nhosts: web\nservices:\n"
        "  one: {image: x, ports: ['80:80']}\n"
        "  two: {image: x, ports: ['80:80']}\n"
        "  three: {image: x, hosts: [db], ports: ['80:80']}\n",
        "a.yml",
    )
    b = write(
        tmp_path,
        "version: 1\nname: b\nhosts: [web]\nservices: {four: {image: x, ports: ['80:80']}}\n",
        "b.yml",
    )
    assert messages(a, b) == [
        "hosts: expected a list, got `web` (a string)",
        "services.two.ports[0]: host port 0.0.0.0:80/tcp is already published by "
        "services.one.ports[0] on the same hosts",
    ]


def test_compose_keys_fleetform_lacks_are_named_and_not_taken_for_typos(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        "version: 1\nname: c\nmodels: {}\nservces: {}\nbogus: 1\n"
        "services:\n  web: {image: x, scale: 2, volumes_from: [db], imgae: y}\n",
    )
    assert messages(stack) == [
        "models: `models` is a Compose key fleetform does not support yet",
        "servces: unknown key `servces` (did you mean `services`?)",
        "bogus: unknown key `bogus` (known keys: version, name, hosts, engine, networks, volumes, "
        "secrets, configs, services)",
        "services.web.volumes_from: `volumes_from` is a Compose key fleetform does not support yet",
        "services.web.imgae: unknown key `imgae` (did you mean `image`?)",
    ]


def test_the_compose_key_lists_match_the_keys_fleetform_reads() -> None:
    # Every service key fleetform reads is Compose's or one of fleetform's own;
    # only keys the schema rejects are reported as unsupported Compose keys, so
    # supporting one needs no change to the list.  Every pointer must name a key
    # fleetform reads.
    schema = load_schema()
    service = schema["$defs"]["service"]["properties"]
    assert compose.TOP_LEVEL.isdisjoint(schema["properties"])
    own = {"image_archive", "hosts", "state", "pull", "proxy"}
    assert set(service) - own <= compose.SERVICE
    for instead in compose.INSTEAD.values():
        node = schema["$defs"]["service"]
        for part in instead.split("."):
            if "$ref" in node:
                node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
            node = node["properties"][part]


def test_only_close_words_are_suggested() -> None:
    top = ["version", "name", "hosts", "engine", "networks", "volumes", "services"]
    assert suggest("secrets", top) == ""
    assert suggest("servces", top) == " (did you mean `services`?)"
    assert suggest("nmae", top) == " (did you mean `name`?)"
    assert suggest("scale", ["state", "image"]) == ""
    assert suggest("runing", ["running", "stopped", "absent"]) == " (did you mean `running`?)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '"1"',
            "`1` is a string; the format version must be the number 1 (write it without quotes)",
        ),
        (
            "' 1'",
            "` 1` is a string; the format version must be the number 1 (write it without quotes)",
        ),
        ('"4"', f"unsupported format version `4`; {_READS}"),
        ('"3.x"', f"unsupported format version `3.x`; {_READS}"),
        ("4", f"unsupported format version 4; {_READS}"),
    ],
)
def test_the_version_message_says_what_is_wrong(tmp_path: Path, value: str, message: str) -> None:
    assert messages(write(tmp_path, f"version: {value}\nname: v\n")) == [f"version: {message}"]


def test_names_told_that_case_is_the_problem_only_when_it_is(tmp_path: Path) -> None:
    stack = write(
        tmp_path,
        "version: 1\nname: Web Shop\nengine: {users: [Alice, Bob Smith]}\n"
        "services: {Api: {image: x}, X Tra: {image: x}}\n",
    )
    assert messages(stack) == [
        "name: `Web Shop` is not a valid stack name (e.g. demo, web-shop)",
        "engine.users[0]: `Alice` is not a valid user name: names must be lower case (`alice`)",
        "engine.users[1]: `Bob Smith` is not a valid user name",
        # Service names may hold upper case, as in Compose.
        "services['X Tra']: `X Tra` is not a valid service name (e.g. web, db-primary)",
    ]


def test_mutated_files_never_crash_the_checks() -> None:
    # Several odd values at once, so a rejected part sits next to parts that go on to
    # normalisation and the checks across services.
    rng = random.Random(10)
    sources = [*CORPUS, DATA / "valid" / "forms.yml", *sorted((ROOT / "stacks").glob("*.yml"))]
    docs = [(p, d) for p in sources if isinstance(d := parsed(p), dict)]
    crashes = []
    for _ in range(300):
        path, doc = rng.choice(docs)
        for _ in range(3):
            places = list(leaves(doc))
            if places:
                doc = replaced(doc, rng.choice(places), rng.choice(ODD_VALUES))
        try:
            checked(doc, path)
        except Exception as exc:
            crashes.append(f"{path.name}: {json.dumps(doc, default=str)[:200]}: {exc!r}")
    assert crashes == []


def test_the_cli_lists_schema_and_semantic_problems_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(
        tmp_path,
        "version: 1\nname: t\nmodels: {}\nservices:\n  web:\n    image: x\n"
        "    ports: ['99999:80']\n",
    )
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines() == [
        f"{bad}:3:1 models: `models` is a Compose key fleetform does not support yet",
        f"{bad}:7:13 services.web.ports[0]: 99999 is not a valid port (1-65535)",
        "2 problems in 1 file",
    ]

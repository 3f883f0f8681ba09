"""Reading YAML: safe, bounded, YAML 1.2 scalars, merge keys, clear refusals."""

from __future__ import annotations

import time
from pathlib import Path

from fleetform.stackfile.yamlread import MAX_FILE_BYTES

from .helpers import DATA, load_text, messages, problems_of, write


def test_an_alias_bomb_is_rejected_well_under_a_second() -> None:
    start = time.perf_counter()
    problems = problems_of(DATA / "invalid" / "alias-bomb.yml")
    assert time.perf_counter() - start < 0.5
    assert "expands to more than" in problems[0].message


def test_a_file_over_the_size_limit_is_rejected_without_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: big\nx-pad: '" + "a" * MAX_FILE_BYTES + "'\n")
    assert "stack files are limited to" in messages(path)[0]


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    assert "cannot read the file: No such file or directory" in messages(tmp_path / "nope.yml")[0]


def test_a_folder_is_not_a_stack_file(tmp_path: Path) -> None:
    assert "is a folder" in messages(tmp_path)[0]


def test_a_zero_byte_file_is_empty(tmp_path: Path) -> None:
    assert "the file is empty" in messages(write(tmp_path, ""))[0]


def test_plain_scalars_are_read_the_yaml_1_2_way_as_compose_does() -> None:
    from fleetform.stackfile import load_stack

    svc = load_stack(DATA / "valid" / "yaml12.yml").services[0]
    assert str(svc.restart) == "no"
    assert [p.key() for p in svc.ports] == ["22:22/tcp"]
    env = dict(svc.environment)
    assert env["ENABLED"] == "on"
    assert env["WHEN"] == "2024-01-01"
    # numbers keep the text they were written with
    assert (env["OCTAL"], env["VERSION"], env["BIG"]) == ("0755", "1.10", "1e3")


def test_merge_keys_fill_in_what_the_mapping_does_not_say(tmp_path: Path) -> None:
    stack = load_text(
        tmp_path,
        "version: 1\nname: m\n"
        "x-base: &base {image: 'busybox:1', restart: always, labels: {a: '1'}}\n"
        "x-more: &more {restart: 'no', user: nobody}\n"
        "services:\n"
        "  web:\n    <<: [*base, *more]\n    labels: {b: '2'}\n",
    )
    svc = stack.services[0]
    assert svc.image == "busybox:1"
    assert str(svc.restart) == "always"  # the earlier merged map wins
    assert svc.user == "nobody"
    assert svc.labels == (("b", "2"),)  # explicit keys win over merged ones


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nname: d\nname: e\n")
    [problem] = problems_of(path)
    assert (problem.line, problem.path) == (3, "name")
    assert "first defined on line 2" in problem.message


def test_python_object_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(
        tmp_path,
        f"version: 1\nname: p\nx-a: !!python/object/apply:os.system ['touch {marker}']\n",
    )
    assert "unsupported YAML tag" in messages(path)[0]
    assert not marker.exists()

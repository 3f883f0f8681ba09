"""The table of container fields: every spec field has one row, handled exactly once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from planbuilders import recorded_stack, want

from fleetform.executor import argv as A
from fleetform.observe import inspect
from fleetform.plan import desired, diff
from fleetform.plan.diff import diff_specs
from fleetform.plan.spec import (
    FIELDS,
    IN_PLACE_FIELDS,
    ContainerSpec,
    LogSpec,
    config_hash,
    spec_to_json,
)


def _web() -> ContainerSpec:
    return next(c for c in want([recorded_stack()]).containers if c.service.name == "web").spec


def test_every_spec_field_has_exactly_one_row_in_the_table() -> None:
    names = [f.name for f in FIELDS]
    assert len(names) == len(set(names))
    assert set(names) == {f.name for f in dataclasses.fields(ContainerSpec)}


@pytest.mark.parametrize(
    ("module", "handled_by_the_table"),
    [
        (desired, lambda f: f.declared is not None),
        (inspect, lambda f: f.observed is not None),
        (diff, lambda f: f.shape is not None),
        (A, lambda f: f.passed),
    ],
    ids=["declared", "observed", "compared", "passed"],
)
def test_what_the_table_leaves_to_a_module_it_handles_by_hand_and_nothing_else(
    module, handled_by_the_table
) -> None:
    left = {f.name for f in FIELDS if not handled_by_the_table(f)}
    assert left == module.BY_HAND


def test_the_in_place_set_and_docker_update_come_from_the_table() -> None:
    assert {"restart", "cpus", "memory", "memory_reservation", "cpu_shares"} == IN_PLACE_FIELDS
    assert A.update_argv(_web(), "fftest-web-1") == [
        *("docker", "update", "--restart", "on-failure:3", "--cpus", "0.5"),
        *("--memory", "67108864", "--memory-swap", "134217728"),
        *("--memory-reservation", "33554432", "--cpu-shares", "512", "fftest-web-1"),
    ]


def test_a_plan_shows_each_field_by_its_path_and_in_its_form() -> None:
    spec = _web()
    changed = dataclasses.replace(
        spec,
        user="0",
        memory=128 << 20,
        cap_add=("NET_ADMIN", "SYS_TIME"),
        sysctls=(("net.ipv4.ip_forward", "1"),),
    )
    assert [str(c) for c in diff_specs(changed, spec)] == [
        "user: 1000:1000 -> 0",
        "cap_add: + SYS_TIME",
        "sysctls.net.ipv4.ip_forward: 0 -> 1",
        "resources.memory: 64MiB -> 128MiB",
    ]
    assert [c.in_place for c in diff_specs(changed, spec)] == [False, False, False, True]


@dataclass(frozen=True)
class _Later(ContainerSpec):
    """A spec with a field added after the v1 hash was defined."""

    shm_size: int | None = None


def test_a_field_added_later_changes_no_hash_until_a_stack_sets_it() -> None:
    spec = _web()
    later = _Later(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)})
    assert "shm_size" not in spec_to_json(later)
    assert config_hash(later) == config_hash(spec)
    assert config_hash(dataclasses.replace(later, shm_size=1 << 26)) != config_hash(spec)


def test_a_daemon_default_field_the_stack_leaves_unset_is_not_compared() -> None:
    have = _web()  # json-file {max-size=1m}
    assert diff_specs(dataclasses.replace(have, logging=None), have) == ()
    other = dataclasses.replace(have, logging=LogSpec("local"))
    assert [str(c) for c in diff_specs(other, have)] == [
        "logging: json-file {max-size=1m} -> local"
    ]

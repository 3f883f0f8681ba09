"""Mounted secrets in the plan: compared by keyed digest, never shown by value."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from planbuilders import assert_plan_golden, host_state, running, stack, svc, want

from fleetform.model import LABEL_SECRETS, Secret, SecretMount, Stack
from fleetform.plan import Plan, plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed, ObservedContainer
from fleetform.plan.secrets import content_digest, host_files, secrets_label

KEY = "ab" * 32  # the host's digest key, hex
PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "tr0ub4dor&3"


def secret_stack(password: str = PASSWORD, **web_kw: object) -> Stack:
    """web mounts db_password and api_token; worker mounts api_token only; cache none."""
    web_kw.setdefault(
        "secrets",
        (SecretMount("db_password", "/run/secrets/db_password"),
         SecretMount("api_token", "/run/secrets/token", uid=1000, gid=1000, mode=0o400)),
    )  # fmt: skip
    return stack(
        svc("web", **web_kw),
        svc("worker", secrets=(SecretMount("api_token", "/run/secrets/api_token"),)),
        svc("cache"),
        secrets=(
            Secret("api_token", b"tok-123", "environment API_TOKEN"),
            Secret("db_password", password.encode(), "file ./db.enc", sops=True),
        ),
    )


def labelled(c: ObservedContainer, label: str) -> ObservedContainer:
    labels = dict(c.labels)
    labels[LABEL_SECRETS] = label
    return replace(c, labels=tuple(sorted(labels.items())))


def applied(d: HostDesired) -> Observed:
    """The host as apply left it for ``d``: every container with its secrets label."""
    key = bytes.fromhex(KEY)
    containers = [
        labelled(running(c), secrets_label(c.secrets, key)) if c.secrets else running(c)
        for c in d.containers
    ]
    return host_state(d, *containers, digest_key=KEY)


def case_secret_content_changed() -> tuple[HostDesired, Observed]:
    return want([secret_stack(NEW_PASSWORD)]), applied(want([secret_stack()]))


def case_secret_mounted_elsewhere() -> tuple[HostDesired, Observed]:
    moved = (SecretMount("db_password", "/run/secrets/db", mode=0o440),)
    return want([secret_stack(secrets=moved)]), applied(want([secret_stack()]))


def case_secret_added_to_a_running_service() -> tuple[HostDesired, Observed]:
    before = want([secret_stack(secrets=())])
    return want([secret_stack()]), applied(before)


def case_secret_file_lost_on_the_host() -> tuple[HostDesired, Observed]:
    """A reboot emptied the host's tmpfs: worker's file is gone, web's are there."""
    d = want([secret_stack()])
    kept = {
        path
        for c in d.containers
        if c.name == "demo-web-1"
        for _, path in host_files(c.name, c.secrets, secrets_label(c.secrets, bytes.fromhex(KEY)))
    }
    return d, replace(applied(d), secret_files=frozenset(kept))


def case_secret_key_not_read() -> tuple[HostDesired, Observed]:
    d = want([secret_stack()])
    return d, replace(applied(d), digest_key=None)


CASES: dict[str, Callable[[], tuple[HostDesired, Observed]]] = {
    "secret_content_changed": case_secret_content_changed,
    "secret_mounted_elsewhere": case_secret_mounted_elsewhere,
    "secret_added_to_a_running_service": case_secret_added_to_a_running_service,
    "secret_key_not_read": case_secret_key_not_read,
    "secret_file_lost_on_the_host": case_secret_file_lost_on_the_host,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_text_matches_the_golden_file(name: str) -> None:
    assert_plan_golden(*CASES[name](), name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_plan_text_or_json_shows_a_secret_value(name: str) -> None:
    plan = Plan.from_hosts([plan_host(*CASES[name]())])
    shown = str(plan) + json.dumps(plan.to_json())
    for value in (PASSWORD, NEW_PASSWORD, "tok-123"):
        assert value not in shown


def test_changing_a_secret_recreates_only_the_services_that_mount_it() -> None:
    host = plan_host(*case_secret_content_changed())
    assert [(a.kind, a.resource, a.reason_code) for a in host.actions] == [
        ("recreate", "demo-web-1", "secret_changed")
    ]
    [change] = host.actions[0].changes
    old = content_digest(bytes.fromhex(KEY), "db_password", PASSWORD.encode())
    new = content_digest(bytes.fromhex(KEY), "db_password", NEW_PASSWORD.encode())
    assert str(change) == (f"secret db_password changed (digest): {old[12:24]} -> {new[12:24]}")


def test_the_same_secrets_plan_nothing() -> None:
    d = want([secret_stack()])
    assert plan_host(d, applied(d)).actions == ()
    key = bytes.fromhex(KEY)
    files = {
        p
        for c in d.containers
        for _, p in host_files(c.name, c.secrets, secrets_label(c.secrets, key))
    }
    assert len(files) == 3
    assert plan_host(d, replace(applied(d), secret_files=frozenset(files))).actions == ()


def test_a_created_container_carries_its_secrets_label_with_digests_only() -> None:
    d = want([secret_stack()])
    actions = plan_host(d, host_state(d, digest_key=KEY)).actions
    [create] = [a for a in actions if a.resource == "demo-web-1"]
    assert create.kind == "create" and create.container is not None
    label = json.loads(create.container.secrets_label)
    assert sorted(label) == ["/run/secrets/db_password", "/run/secrets/token"]
    assert label["/run/secrets/token"] == {
        "name": "api_token",
        "target": "/run/secrets/token",
        "uid": 1000,
        "gid": 1000,
        "mode": "0400",
        "digest": content_digest(bytes.fromhex(KEY), "api_token", b"tok-123"),
    }
    assert PASSWORD not in create.container.secrets_label
    assert PASSWORD not in repr(create)


def test_the_digest_is_keyed_by_the_host() -> None:
    web = next(c for c in want([secret_stack()]).containers if c.name == "demo-web-1")
    a, b = secrets_label(web.secrets, b"a" * 32), secrets_label(web.secrets, b"b" * 32)
    assert a != b

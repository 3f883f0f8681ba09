"""The fleetform.secret-keys label: names of secret keys, set at create and read back."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "plan"))

from planbuilders import running, stack, svc, want

from fleetform.executor import argv as A
from fleetform.observe.inspect import spec_from_inspect

ENV = (
    ("API_TOKEN", "t0ken-value"),
    ("DATABASE_URL", "postgres://app:s3cret@db/app"),
    ("LOG_LEVEL", "info"),
)


def _container():
    s = stack(svc("api", environment=ENV, secret_keys=frozenset({"DATABASE_URL"})))
    return want([s]).containers[0]


def _labels(argv: list[str]) -> dict[str, str]:
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "--label"]
    return dict(p.split("=", 1) for p in pairs)


def test_docker_create_records_the_names_of_secret_keys_and_never_their_values() -> None:
    argv = A.container_create_argv(_container(), "/run/ff/demo-api-1.env")
    # API_TOKEN is secret by its name, DATABASE_URL because the stack says so.
    assert _labels(argv)["fleetform.secret-keys"] == "API_TOKEN,DATABASE_URL"
    assert not any("s3cret" in a or "t0ken-value" in a for a in argv)
    assert "LOG_LEVEL=info" in argv


def test_the_label_is_read_back_and_is_not_taken_for_a_user_label() -> None:
    c = _container()
    labels = _labels(A.container_create_argv(c, "/run/env"))
    inspect = {"Id": "f" * 64, "Config": {"Image": c.spec.image, "Labels": labels}}
    assert spec_from_inspect(inspect).labels == ()
    observed = replace(running(c), labels=tuple(sorted(labels.items())))
    assert observed.secret_keys == {"API_TOKEN", "DATABASE_URL"}
    assert replace(observed, labels=()).secret_keys is None  # created before the label

"""The config-hash label: stable for specs without secrets, blind to secret values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from planbuilders import recorded_stack, stack, svc, want

from fleetform.plan.spec import IN_PLACE_FIELDS, ContainerSpec, config_hash, spec_to_json

#: a weak password of the kind that was recovered from the label by guessing
GUESSES = ("123456", "password", "hunter2", "letmein", "s3cret", "postgres")


def _web(value: str, *, secret_keys: frozenset[str] = frozenset({"DATABASE_URL"})):
    env = (("DATABASE_URL", f"postgres://app:{value}@db/app"), ("LOG_LEVEL", "info"))
    return want([stack(svc("web", environment=env, secret_keys=secret_keys))]).containers[0]


def _old_formula(spec: ContainerSpec) -> str:
    """The label as it was computed when secret values were hashed in."""
    data = {k: v for k, v in spec_to_json(spec).items() if k not in IN_PLACE_FIELDS}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"v1:{hashlib.sha256(text.encode()).hexdigest()}"


def test_the_hash_of_a_spec_without_secrets_is_what_it_always_was() -> None:
    # Pinned digests (computed before secrets were left out): containers
    # without secrets are not recreated by an upgrade.
    plain = want([stack(svc("web", environment=(("LOG_LEVEL", "info"),)))]).containers[0]
    assert plain.config_hash == (
        "v1:ba51ca1ce0e3bf6de80199f7bcd1784e15e2813f822f99a96958bc32055622a9"
    )
    spec = ContainerSpec(image="busybox", env=(("A", "1"),), command=("sleep", "1"))
    assert config_hash(spec) == (
        "v1:af45f4212def3216cbeeb69789e4d222b3329115761d508f3048344306f70b0b"
    )
    assert config_hash(spec) == _old_formula(spec)


def test_the_hash_is_the_same_whatever_the_secret_value_so_it_cannot_be_guessed_back() -> None:
    labels = {_web(guess).config_hash for guess in GUESSES}
    assert len(labels) == 1
    label = labels.pop()
    # Guessing with the published formula finds nothing either.
    for guess in GUESSES:
        assert _old_formula(_web(guess).spec) != label
        assert hashlib.sha256(guess.encode()).hexdigest() not in label


def test_a_secret_looking_name_is_left_out_even_when_the_stack_did_not_mark_it() -> None:
    a = ContainerSpec(image="busybox", env=(("DB_PASSWORD", "hunter2"),))
    assert config_hash(a) == config_hash(replace(a, env=(("DB_PASSWORD", "letmein"),)))


def test_a_key_turning_secret_or_literal_changes_the_hash() -> None:
    # The fleetform.secret-keys label is set at create: a recreate keeps it true.
    assert _web("x").config_hash != _web("x", secret_keys=frozenset()).config_hash


def test_the_hash_of_a_spec_using_every_field_is_pinned() -> None:
    # The recorded stack's web service sets every field fleetform manages: a
    # change to how specs are built or hashed would recreate every container.
    by_name = {c.name: c for c in want([recorded_stack()], host="local").containers}
    assert by_name["fftest-web-1"].config_hash == (
        "v1:21e101eaf5fccec46eb4cf14d1c50bb454184dd200c478fa462b5bbe54bab9b8"
    )
    assert by_name["fftest-plain-1"].config_hash == (
        "v1:2c8f0c55d5b17c4383937e4c077cede64c8623e51ef5ae65dc3d55562a7b30c6"
    )
    flipped = replace(by_name["fftest-web-1"].spec, privileged=True, read_only=False, init=False)
    assert config_hash(flipped) == (
        "v1:f34075b2ed74fe53ac3c0de793d63ab04bfca76dbb47ae2570e64c7dea1c29a4"
    )

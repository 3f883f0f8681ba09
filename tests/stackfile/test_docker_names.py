"""Docker names are unique across the stacks loaded together."""

from __future__ import annotations

from pathlib import Path

from .helpers import messages, write


def test_two_stacks_cannot_make_one_volume_name(tmp_path: Path) -> None:
    a = write(
        tmp_path,
        "version: 1\nname: app_prod\nvolumes:\n  db: {}\nservices:\n"
        "  x:\n    image: nginx:1.25\n    volumes: ['db:/data']\n",
        "a.yml",
    )
    b = write(
        tmp_path,
        "version: 1\nname: app\nvolumes:\n  prod_db: {}\nservices:\n"
        "  y:\n    image: nginx:1.25\n    volumes: ['prod_db:/data']\n",
        "b.yml",
    )
    assert messages(a, b) == [
        f"volumes.prod_db: volume name `app_prod_db` is also made by volume `db` of stack "
        f"`app_prod` in {a}; Docker names are unique on a host: rename one of them "
        "(or give it another `name:`)"
    ]


def test_two_stacks_cannot_make_one_network_name(tmp_path: Path) -> None:
    a = write(tmp_path, "version: 1\nname: a\nnetworks:\n  n:\n    name: shared\n", "a.yml")
    b = write(tmp_path, "version: 1\nname: b\nnetworks:\n  m:\n    name: shared\n", "b.yml")
    [message] = messages(a, b)
    assert message.startswith("networks.m: network name `shared` is also made by network `n`")


def test_two_stacks_cannot_make_one_container_name(tmp_path: Path) -> None:
    a = write(tmp_path, "version: 1\nname: app-web\nservices:\n  x:\n    image: a:1\n", "a.yml")
    b = write(tmp_path, "version: 1\nname: app\nservices:\n  web-x:\n    image: a:1\n", "b.yml")
    assert messages(a, b) == [
        f"services.web-x: container name `app-web-x-1` is also made by service `x` of stack "
        f"`app-web` in {a}; Docker names are unique on a host: rename one of them"
    ]


def test_an_external_volume_may_name_another_stacks_volume(tmp_path: Path) -> None:
    a = write(
        tmp_path,
        "version: 1\nname: a\nvolumes:\n  data: {}\nservices:\n"
        "  x:\n    image: nginx:1.25\n    volumes: ['data:/data']\n",
        "a.yml",
    )
    b = write(
        tmp_path,
        "version: 1\nname: b\nvolumes:\n  data:\n    external: true\n    name: a_data\n"
        "services:\n  y:\n    image: nginx:1.25\n    volumes: ['data:/data']\n",
        "b.yml",
    )
    from fleetform.stackfile import load_stacks

    assert [s.name for s in load_stacks([a, b])] == ["a", "b"]

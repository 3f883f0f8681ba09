"""Durations, memory sizes, CPUs, port mappings, mounts, image references, secret names."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.model import Mount, Port
from fleetform.secrets import looks_secret
from fleetform.stackfile.environment import read_env_file
from fleetform.stackfile.images import check_image
from fleetform.stackfile.mounts import parse_short as parse_mount
from fleetform.stackfile.ports import parse_short as parse_port
from fleetform.stackfile.units import parse_cpus, parse_duration, parse_memory

from .helpers import problems_of


@pytest.mark.parametrize(
    ("text", "ns"),
    [("10s", 10**10), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8), ("1.5h", 5400 * 10**9),
     ("0", 0), ("250us", 250_000), ("3ns", 3)],
)  # fmt: skip
def test_durations_read_as_nanoseconds(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["", "10", "10x", "s", "1m 30s", "-1s", "1.s"])
def test_bad_durations_are_refused_in_plain_words(text: str) -> None:
    with pytest.raises(ValueError, match="is not a valid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "size"),
    [(512, 512), ("512m", 512 * 1024**2), ("1g", 1024**3), ("1GiB", 1024**3), ("1gb", 1024**3),
     ("64k", 65536), ("100b", 100), ("1.5g", 1536 * 1024**2), ("2048", 2048)],
)  # fmt: skip
def test_memory_sizes_use_powers_of_1024_like_docker(value: int | str, size: int) -> None:
    assert parse_memory(value) == size


@pytest.mark.parametrize("value", ["12q", "m", "-1g", "1 g b"])
def test_bad_memory_sizes_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="memory size"):
        parse_memory(value)


def test_cpus_accept_numbers_and_numeric_strings_within_bounds() -> None:
    assert parse_cpus("1.5") == 1.5
    assert parse_cpus(2) == 2.0
    for bad in (0, -1, 5000, "many"):
        with pytest.raises(ValueError, match="CPU count"):
            parse_cpus(bad)


@pytest.mark.parametrize(
    ("text", "ports"),
    [
        ("80", [Port(80)]),
        ("8080:80", [Port(80, 8080)]),
        ("127.0.0.1:8080:80/udp", [Port(80, 8080, "127.0.0.1", "udp")]),
        ("127.0.0.1::80", [Port(80, None, "127.0.0.1")]),
        ("[::1]:53:53/udp", [Port(53, 53, "::1", "udp")]),
        ("8080-8081:80-81", [Port(80, 8080), Port(81, 8081)]),
        ("3000-3001", [Port(3000), Port(3001)]),
        # One container port on a range of host ports: Docker binds one free port of it.
        ("8000-9000:80", [Port(80, 8000, published_last=9000)]),
        ("127.0.0.1:5000-5010:5000/udp", [Port(5000, 5000, "127.0.0.1", "udp", 5010)]),
    ],
)
def test_short_port_mappings(text: str, ports: list[Port]) -> None:
    assert parse_port(text) == ports


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0:80", "0 is not a valid port"),
        ("8080:70000", "70000 is not a valid port (1-65535)"),
        ("8080-8082:80-81", "sizes must match"),
        ("8080:80-81", "sizes must match"),
        ("1.2.3.4.5:80:80", "not a valid IP address"),
        ("::1:80:80", "write IPv6 addresses in brackets"),
        ("80/icmp", "not a protocol"),
    ],
)
def test_bad_port_mappings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_port(text)


def test_mount_short_forms(tmp_path: Path) -> None:
    assert parse_mount("data:/data", tmp_path) == Mount("volume", "/data", "data")
    assert parse_mount("/srv/conf/:/etc/app:ro", tmp_path) == Mount(
        "bind", "/etc/app", "/srv/conf", True
    )
    assert parse_mount("/cache", tmp_path) == Mount("volume", "/cache")
    # Compose's other options: nocopy for a volume; cached and delegated are macOS
    # file sharing hints that Docker on Linux ignores.
    assert parse_mount("data:/d:ro,nocopy", tmp_path) == Mount(
        "volume", "/d", "data", True, nocopy=True
    )
    assert parse_mount("/srv/x:/x:cached", tmp_path) == Mount("bind", "/x", "/srv/x")
    assert parse_mount("/srv/x:/x:rw,delegated", tmp_path) == Mount("bind", "/x", "/srv/x")
    # SELinux relabelling of a bind: z (shared), Z (private).
    assert parse_mount("/srv/x:/x:ro,z", tmp_path) == Mount(
        "bind", "/x", "/srv/x", True, selinux="z"
    )
    assert parse_mount("/srv/x:/x:Z", tmp_path) == Mount("bind", "/x", "/srv/x", selinux="Z")
    for bad, message in [("data:rel", "must be absolute"), ("a:/b:ro:x", "not a valid mount"),
                         ("/", "root folder"), ("a:/b:x", "not a mount option"),
                         ("data:/b:Z", "applies to bind mounts, not volumes"),
                         ("/a:/b:z,Z", "only one of `z`"), ("/a:/b:nocopy", "not to a bind"),
                         ("a:/b:ro,rw", "only one of")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_mount(bad, tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("../data", "`../data` is outside the project folder"),
        ("./a/../../x", "`./a/../../x` is outside the project folder"),
        ("~/conf", "`~/conf` starts with `~`, which would be this machine's home folder"),
        ("~", "`~` starts with `~`"),
    ],
)
def test_paths_outside_the_project_and_home_are_refused(
    tmp_path: Path, source: str, message: str
) -> None:
    # Neither may silently become a path on the host that nothing copied there.
    with pytest.raises(ValueError, match=message):
        parse_mount(f"{source}:/etc/app", tmp_path)
    stack = tmp_path / "s.yml"
    stack.write_text(
        "name: s\nservices:\n  web:\n    image: x\n    volumes:\n"
        f"      - {{type: bind, source: '{source}', target: /etc/app}}\n"
    )
    [problem] = problems_of(stack)
    assert (problem.line, problem.path) == (6, "services.web.volumes[0]")
    assert message in problem.message


@pytest.mark.parametrize(
    "ref",
    [
        "nginx",
        "nginx:1.25-alpine",
        "library/nginx:latest",
        "registry.lab:5000/fleetform/demo:1",
        "localhost:5000/a/b/c",
        "ghcr.io/org/app@sha256:" + "a" * 64,
        "my_app__x.y-z:v1.0_rc",
    ],
)
def test_valid_image_references(ref: str) -> None:
    check_image(ref)


@pytest.mark.parametrize(
    ("ref", "hint"),
    [("Nginx", "lowercase"), ("nginx:", ""), ("nginx@sha256:abc", ""), ("a b", "space"),
     ("-nginx", ""), ("nginx:" + "t" * 129, ""), ("http://registry/x", "")],
)  # fmt: skip
def test_invalid_image_references(ref: str, hint: str) -> None:
    with pytest.raises(ValueError, match="is not a valid image reference") as err:
        check_image(ref)
    assert hint in str(err.value)


@pytest.mark.parametrize(
    "name", ["DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "MYSQL_ROOT_PASSWD",
             "credentials", "PRIVATE_KEY", "SMTP_PASS", "DBPASSWORD"],
)  # fmt: skip
def test_names_that_look_secret(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["LOG_LEVEL", "PORT", "KEYBOARD_LAYOUT", "PWD", "MONKEY"])
def test_names_that_do_not_look_secret(name: str) -> None:
    assert not looks_secret(name)


def test_env_file_syntax_errors_name_the_line(tmp_path: Path) -> None:
    env = tmp_path / "bad.env"
    env.write_text("A=1\nthis is not an assignment\n")
    with pytest.raises(ValueError, match="line 2: expected KEY=VALUE"):
        read_env_file(env, "bad.env")

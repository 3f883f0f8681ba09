"""End to end: each published Compose file of the corpus plans against the lab, unchanged.

Only ``plan``: the files' images are not in the lab's registry, so nothing is
applied and nothing of the stacks is created on the hosts.  The files come from
the cache of tests/compose_corpus (fetched from the Debian mirror on first use).
A file that uses external networks or volumes is refused, clearly, until they
exist; the test then creates them (only those missing) and removes them after.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from compose_corpus.corpus import CorpusFile, load_sources, materialise

from fleetform.lab import RunningLab

pytestmark = pytest.mark.e2e

ARCHIVES, FILES = load_sources()
KINDS = {"networks": "network", "volumes": "volume"}


def _plan(
    fleetform: Callable[..., subprocess.CompletedProcess[str]], inventory: Path, item: CorpusFile
) -> tuple[int, str]:
    path = materialise(item, ARCHIVES)
    profiles = [arg for p in item.profiles for arg in ("--profile", p)]
    result = fleetform(
        "plan", "-i", str(inventory), "--detailed-exitcode", *profiles, str(path), env=item.env
    )
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def external_objects(lab: RunningLab, request: pytest.FixtureRequest) -> Iterator[None]:
    """Create the item's external networks and volumes where missing; remove those after."""
    item: CorpusFile = request.param
    created: list[tuple[str, str, str]] = []
    try:
        for host in lab.hosts:
            for section, names in item.requires.items():
                kind = KINDS[section]
                for name in names:
                    quoted = shlex.quote(name)
                    if lab.run(host, f"docker {kind} inspect {quoted}").returncode != 0:
                        done = lab.run(host, f"docker {kind} create {quoted}")
                        assert done.returncode == 0, done.stderr
                        created.append((host.name, kind, quoted))
        yield
    finally:
        for host_name, kind, quoted in created:
            lab.run(host_name, f"docker {kind} rm {quoted}")


@pytest.mark.parametrize(
    "item", [f for f in FILES if not f.refused and not f.requires], ids=lambda f: f.id
)
def test_published_file_plans_on_the_lab(
    item: CorpusFile,
    lab_inventory: Path,
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    code, output = _plan(fleetform, lab_inventory, item)
    assert code in (0, 2), output
    assert "error" not in output.lower(), output
    assert "Plan:" in output


NEEDS_EXTERNAL = [f for f in FILES if f.requires]


@pytest.mark.parametrize("item", NEEDS_EXTERNAL, ids=lambda f: f.id)
def test_missing_external_objects_are_named_per_host(
    item: CorpusFile,
    lab: RunningLab,
    lab_inventory: Path,
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    missing = {
        (host.name, KINDS[section], name)
        for host in lab.hosts
        for section, names in item.requires.items()
        for name in names
        if lab.run(host, f"docker {KINDS[section]} inspect {shlex.quote(name)}").returncode
    }
    if not missing:
        pytest.skip("every external object exists on the lab already")
    code, output = _plan(fleetform, lab_inventory, item)
    assert code == 1
    for host_name, kind, name in missing:
        assert f"! error: external {kind} {name} does not exist on {host_name}" in output


@pytest.mark.parametrize(
    ("item", "external_objects"), [(f, f) for f in NEEDS_EXTERNAL], indirect=["external_objects"]
)
def test_published_file_with_external_objects_plans_once_they_exist(
    item: CorpusFile,
    external_objects: None,
    lab_inventory: Path,
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    code, output = _plan(fleetform, lab_inventory, item)
    assert code in (0, 2), output
    assert "error" not in output.lower(), output

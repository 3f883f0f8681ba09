"""End to end: each published Compose file of the corpus plans against the lab, unchanged.

Only ``plan``: the files' images are not in the lab's registry, so nothing is
applied and nothing of the stacks is created on the hosts.  The files come from
the cache of tests/compose_corpus (fetched from the Debian mirror on first use).
A file that uses external networks or volumes is refused, clearly, until they
exist; the test then creates them (only those missing) and removes them after.
Plans are limited to the first lab host, to keep the suite's time small.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from compose_corpus.corpus import CorpusFile, load_sources, materialise

from fleetform.lab import LabHost, RunningLab

pytestmark = pytest.mark.e2e

ARCHIVES, FILES = load_sources()
KINDS = {"networks": "network", "volumes": "volume"}


def _plan(
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
    inventory: Path,
    host: str,
    item: CorpusFile,
) -> tuple[int, str]:
    path = materialise(item, ARCHIVES)
    profiles = [arg for p in item.profiles for arg in ("--profile", p)]
    # One host: a plan reads each host alike, and the suite's time is shared.
    limit = ["--limit", host]
    result = fleetform(
        "plan", "-i", str(inventory), *limit, "--detailed-exitcode", *profiles, str(path),
        env=item.env,
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout + result.stderr


def _each_required(item: CorpusFile, then: str) -> str:
    """One shell command: for each external object of ``item`` that is missing, print
    ``<kind> <name>`` after running ``then`` (``$k`` kind, ``$n`` name) for it."""
    pairs = " ".join(
        shlex.quote(f"{KINDS[section]}:{name}")
        for section, names in item.requires.items()
        for name in names
    )
    return (
        f'for p in {pairs}; do k="${{p%%:*}}"; n="${{p#*:}}"; '
        f'docker "$k" inspect "$n" >/dev/null 2>&1 && continue; {then} echo "$k $n"; done'
    )


def _missing_on(
    lab: RunningLab, host: LabHost, item: CorpusFile, then: str = ""
) -> set[tuple[str, str, str]]:
    """``(host, kind, name)`` of each external object missing on ``host`` (one SSH
    round trip), after running ``then`` for it."""
    done = lab.run(host, _each_required(item, then))
    assert done.returncode == 0, done.stderr
    pairs = (line.split(" ", 1) for line in done.stdout.splitlines())
    return {(host.name, kind, name) for kind, name in pairs}


ROOT = Path(__file__).resolve().parents[2]


def lab_inventory_file() -> Path:
    return ROOT / "inventory" / "lab.py"


def _engine_on(host: LabHost) -> None:
    """Docker on ``host``: on a fresh lab no apply has installed it yet (the engine
    deploy changes nothing where it is there)."""
    engine = subprocess.run(
        [str(Path(sys.executable).parent / "pyinfra"), "-y", str(lab_inventory_file()),
         str(ROOT / "deploys" / "engine.py"), "--limit", host.name],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert engine.returncode == 0, engine.stderr[-3000:]


def _assert_plans(
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
    lab_inventory: Path,
    host: LabHost,
    item: CorpusFile,
) -> str:
    """``item`` plans on ``host`` without an error; the plan's output."""
    code, output = _plan(fleetform, lab_inventory, host.name, item)
    assert code in (0, 2), output
    assert "error" not in output.lower(), output
    return output


@pytest.fixture
def external_objects(lab: RunningLab, request: pytest.FixtureRequest) -> Iterator[None]:
    """Create the item's external networks and volumes where missing; remove those after."""
    item: CorpusFile = request.param
    created: set[tuple[str, str, str]] = set()
    _engine_on(lab.hosts[0])
    try:
        for host in lab.hosts[:1]:
            create = 'docker "$k" create "$n" >/dev/null || exit 1;'
            created |= _missing_on(lab, host, item, then=create)
        yield
    finally:
        for host in lab.hosts[:1]:
            mine = [f"docker {k} rm {shlex.quote(n)}" for h, k, n in created if h == host.name]
            if mine:
                lab.run(host, "; ".join(mine))


@pytest.mark.parametrize(
    "item", [f for f in FILES if not f.refused and not f.requires], ids=lambda f: f.id
)
def test_published_file_plans_on_the_lab(
    item: CorpusFile,
    lab: RunningLab,
    lab_inventory: Path,
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    assert "Plan:" in _assert_plans(fleetform, lab_inventory, lab.hosts[0], item)


NEEDS_EXTERNAL = [f for f in FILES if f.requires]


@pytest.mark.parametrize("item", NEEDS_EXTERNAL, ids=lambda f: f.id)
def test_missing_external_objects_are_named(
    item: CorpusFile,
    lab: RunningLab,
    lab_inventory: Path,
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    # with Docker there, so "missing" means the objects, not the engine
    _engine_on(lab.hosts[0])
    missing = _missing_on(lab, lab.hosts[0], item)
    # the lab has none of them (the test below removes what it creates)
    assert missing, f"{item.id}: its external objects already exist on {lab.hosts[0].name}"
    code, output = _plan(fleetform, lab_inventory, lab.hosts[0].name, item)
    assert code == 1
    for host_name, kind, name in missing:
        assert f"! error: external {kind} {name} does not exist on {host_name}" in output


@pytest.mark.parametrize(
    ("item", "external_objects"), [(f, f) for f in NEEDS_EXTERNAL], indirect=["external_objects"]
)
def test_published_file_with_external_objects_plans_once_they_exist(
    item: CorpusFile,
    external_objects: None,
    lab: RunningLab,
    lab_inventory: Path,
    fleetform: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    _assert_plans(fleetform, lab_inventory, lab.hosts[0], item)

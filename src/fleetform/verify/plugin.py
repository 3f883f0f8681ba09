"""pytest plugin: fleetform's verification checks as pytest tests (see docs/verify.md).

With testinfra's own ``--hosts`` (and ``--ssh-config``, ``--connection``...)::

    pytest "$(python -m fleetform.verify.pytest_module)" \\
        --fleetform-stack stacks/demo.yml --fleetform-inventory inventory/lab.py \\
        --hosts ssh://lab-1,ssh://lab-3 --ssh-config lab_ssh_config

Every generated check becomes one test, ``test_fleetform[ssh://lab-1-demo-web-1::state]``,
run with testinfra's ``host`` fixture.  Each host's state is gathered once
(one command) and shared by its tests.

Registered through the ``pytest11`` entry point, so it is imported by every
pytest run in an environment where fleetform is installed: it imports nothing
heavy at module level and does nothing unless a test asks for
``fleetform_check`` (the exported test module does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

_STASH_CASES = pytest.StashKey[dict[str, Any]]()
_STASH_REPORTS = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fleetform")
    group.addoption(
        "--fleetform-stack",
        action="append",
        default=[],
        metavar="STACK",
        help="fleetform stack file whose checks to run against testinfra's --hosts (repeatable)",
    )
    group.addoption(
        "--fleetform-inventory",
        metavar="INVENTORY",
        help="pyinfra inventory giving each --hosts host its groups (matched by name or "
        "ssh_hostname) and registry data",
    )
    group.addoption(
        "--fleetform-groups",
        default="",
        metavar="GROUPS",
        help="comma-separated inventory groups of every --hosts host (without an inventory)",
    )


@dataclass(frozen=True)
class CheckCase:
    """One generated check of one host: the parameter of ``fleetform_check``."""

    host_id: str  # testinfra's pytest id of the host, e.g. ssh://lab-1
    check: Any  # fleetform.verify.checks.Check

    @property
    def id(self) -> str:
        """Unique per host and check; the host id is in the test id as testinfra's parameter."""
        return f"{self.check.id}@{self.host_id.split('://', 1)[-1]}"


def pytest_configure(config: pytest.Config) -> None:
    # Stacks are loaded here, not at collection, so a bad stack file is a
    # usage error (a message and exit code 4) rather than a collection error.
    if config.getoption("fleetform_stack", None):
        _host_checks(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fleetform_check" not in metafunc.fixturenames:
        return
    # Without --fleetform-stack there is nothing to check: pytest reports the
    # test as skipped with an empty parameter set.
    cases = metafunc.config.stash.get(_STASH_CASES, {})
    params = [CheckCase(host_id, c) for host_id, hc in cases.items() for c in hc.checks]
    metafunc.parametrize("fleetform_check", params, ids=[p.id for p in params])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """testinfra crosses every host with every check; keep each host's own checks."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        case = params.get("fleetform_check")
        host = params.get("_testinfra_host")
        if isinstance(case, CheckCase) and host is not None:
            (keep if host.backend.get_pytest_id() == case.host_id else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def fleetform_result(host: Any, fleetform_check: CheckCase, request: pytest.FixtureRequest) -> Any:
    """The CheckResult of ``fleetform_check`` on testinfra's ``host`` (state gathered once)."""
    from fleetform.verify.runner import check_host

    config = request.config
    reports = config.stash.setdefault(_STASH_REPORTS, {})
    host_id = host.backend.get_pytest_id()
    if host_id not in reports:
        reports[host_id] = check_host(config.stash[_STASH_CASES][host_id], lambda _: host)
    report = reports[host_id]
    if report.error is not None:
        from fleetform.verify.runner import unreachable_result

        return unreachable_result(report.error)
    return next(r for r in report.results if f"{r.resource}::{r.check}" == fleetform_check.check.id)


def _host_checks(config: pytest.Config) -> dict[str, Any]:
    """testinfra host id -> HostChecks, generated once per session."""
    if _STASH_CASES in config.stash:
        return config.stash[_STASH_CASES]
    stack_files = config.getoption("fleetform_stack")
    import testinfra

    from fleetform.engine.settings import EngineSettingsError
    from fleetform.stackfile import StackFileError, load_stacks
    from fleetform.verify.generate import checks_for_host

    try:
        stacks = load_stacks(stack_files)
    except StackFileError as exc:
        problems = "\n".join(str(p) for p in exc.problems)
        raise pytest.UsageError(f"fleetform: problems in the stack files:\n{problems}") from None
    placement = _placement(config)
    option = config.option
    hosts = testinfra.get_hosts(
        option.hosts.split(",") if option.hosts else [None],
        connection=option.connection,
        ssh_config=option.ssh_config,
        ssh_identity_file=option.ssh_identity_file,
        sudo=option.sudo,
        sudo_user=option.sudo_user,
        ansible_inventory=option.ansible_inventory,
        force_ansible=option.force_ansible,
    )
    cases = {}
    for host in hosts:
        name, groups, registries = placement(host.backend.get_hostname())
        try:
            cases[host.backend.get_pytest_id()] = checks_for_host(stacks, name, groups, registries)
        except EngineSettingsError as exc:
            raise pytest.UsageError(f"fleetform: {exc}") from None
    config.stash[_STASH_CASES] = cases
    return cases


def _placement(config: pytest.Config) -> Any:
    """hostname -> (inventory name, groups, registry CAs) for placing services."""
    spec = config.getoption("fleetform_inventory")
    fixed = frozenset(g for g in config.getoption("fleetform_groups").split(",") if g)
    if not spec:
        return lambda name: (name, fixed | {name}, None)
    from fleetform.inventory import InventoryError, load_inventory

    try:
        loaded = load_inventory(spec)
    except InventoryError as exc:
        raise pytest.UsageError(f"fleetform: {exc}") from None
    by_name = {}
    for h in loaded.hosts:
        by_name[h.name] = h
        by_name.setdefault(str(h.data.get("ssh_hostname") or h.name), h)

    def place(name: str) -> tuple[str, frozenset[str], Any]:
        h = by_name.get(name)
        if h is None:
            return name, fixed | {name}, None
        groups = frozenset(h.groups) | fixed | {h.name}
        return h.name, groups, h.data.get("fleetform_registries")

    return place

"""Inventory files that raise, and host data of the wrong type: one clear line, exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetform.cli import main
from fleetform.inventory import InventoryError, load_inventory

STACK = "version: 1\nname: ok\nservices:\n  a:\n    image: busybox:1\n"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

CASES = {
    "raises": (
        'x = 1\nraise RuntimeError("no secrets here")\n',
        "line 2: RuntimeError: no secrets here",
    ),
    "imports": ("import fleetform_no_such_module\n", "ModuleNotFoundError"),
    "exits": ("import sys\nsys.exit(3)\n", "called sys.exit(3)"),
    "registries not a mapping": (
        'web = [("h1", {"fleetform_registries": "registry.lab:5000"})]\n',
        "host h1: fleetform_registries must map registry names to CA certificates",
    ),
    "registries a list": (
        'web = [("h1", {"fleetform_registries": ["registry.lab:5000"]})]\n',
        "host h1: fleetform_registries must map",
    ),
    "registry CA not text": (
        'web = [("h1", {"fleetform_registries": {"registry.lab:5000": 5}})]\n',
        "fleetform_registries['registry.lab:5000'] is not a PEM certificate",
    ),
    "registry CA not PEM": (
        'web = (["h1"], {"fleetform_registries": {"registry.lab:5000": "hello"}})\n',
        "host h1: fleetform_registries['registry.lab:5000'] is not a PEM certificate",
    ),
    "stacks a number": (
        'web = [("h1", {"fleetform_stacks": 5})]\n',
        "host h1: fleetform_stacks must be a list of stack files",
    ),
    "stacks a list of numbers": (
        'web = [("h1", {"fleetform_stacks": ["a.yml", 5]})]\n',
        "fleetform_stacks must be a list of stack files",
    ),
}


@pytest.mark.parametrize("command", ["plan", "apply", "verify"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_inventory_is_one_clear_error_with_exit_1(
    command: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = CASES[case]
    inventory = tmp_path / "inv.py"
    inventory.write_text(text)
    stack = tmp_path / "ok.yml"
    stack.write_text(STACK)
    extra = ["--yes"] if command == "apply" else []
    assert main([command, "-i", str(inventory), str(stack), *extra]) == 1
    captured = capsys.readouterr()
    assert expected in captured.err


@pytest.mark.parametrize(
    "data",
    [
        {"fleetform_registries": {"registry.lab:5000": PEM}},
        {"fleetform_stacks": "a.yml,b.yml"},
        {"fleetform_stacks": ["a.yml", "b.yml"]},
        {},
    ],
)
def test_well_typed_host_data_loads(tmp_path: Path, data: dict) -> None:
    inventory = tmp_path / "inv.py"
    inventory.write_text(f"web = [('h1', {data!r})]\n")
    assert [t.name for t in load_inventory(str(inventory)).targets] == ["h1"]


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.py"
    inventory.write_text(
        'web = [("h1", {"fleetform_stacks": 5}), ("h2", {"fleetform_registries": 1})]\n'
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(str(inventory))
    assert "host h1: fleetform_stacks" in str(info.value)
    assert "host h2: fleetform_registries" in str(info.value)


def _plain_pyinfra(tmp_path: Path, host_data: str, deploy: str) -> subprocess.CompletedProcess[str]:
    """Run ``pyinfra -y`` with one @fake host carrying ``host_data`` (a dict literal)."""
    root = Path(__file__).resolve().parents[2]
    inventory = tmp_path / "inv.py"
    inventory.write_text(f'fleet = [("@fake/a", {{"fake_delay": 0, **{host_data}}})]\n')
    return subprocess.run(
        [str(Path(sys.executable).with_name("pyinfra")), "-y", str(inventory), deploy],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_plain_pyinfra_names_bad_fleetform_stacks_in_one_line(tmp_path: Path) -> None:
    proc = _plain_pyinfra(tmp_path, '{"fleetform_stacks": 5}', "deploys/stack.py")
    assert proc.returncode == 1
    assert "host @fake/a: fleetform_stacks must be a list of stack files" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_plain_pyinfra_engine_deploy_names_bad_fleetform_registries_in_one_line(
    tmp_path: Path,
) -> None:
    proc = _plain_pyinfra(tmp_path, '{"fleetform_registries": ["x"]}', "deploys/engine.py")
    assert proc.returncode == 1
    assert "host @fake/a: fleetform_registries must map registry names" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr

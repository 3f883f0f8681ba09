"""The one framing of multi-part host scripts, run for real with /bin/sh."""

from __future__ import annotations

import subprocess

from fleetform.observe.sections import Section, sectioned_script, split_sections


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=False)


def test_each_part_comes_back_by_name_with_its_own_exit_code() -> None:
    proc = run(
        sectioned_script(
            [
                ("two", "echo one; echo two"),
                ("nothing", "false"),
                ("no newline", "printf 'cut'"),
            ]
        )
    )
    assert proc.returncode == 0
    assert split_sections(proc.stdout) == {
        "two": Section("one\ntwo", 0),
        "nothing": Section("", 1),
        "no newline": Section("cut", 0),
    }


def test_an_exit_in_one_part_ends_that_part_only() -> None:
    # The Docker state script exits early when docker is missing; the parts
    # after it must still run.
    proc = run(sectioned_script([("early", "echo a; exit 3; echo b"), ("after", "echo c")]))
    assert split_sections(proc.stdout) == {"early": Section("a", 3), "after": Section("c", 0)}


def test_a_part_cut_short_is_left_out() -> None:
    out = "\n@@fleetform-section whole\nx\n\n@@fleetform-rc 0\n\n@@fleetform-section cut\ny\n"
    assert split_sections(out) == {"whole": Section("x", 0)}

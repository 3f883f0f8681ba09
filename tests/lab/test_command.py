"""`fleetform lab` turns bad input into a message and exit code 1."""

from __future__ import annotations

import pytest

from fleetform.cli import main


def test_a_host_count_out_of_range_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "up", "--hosts", "0"]) == 1
    assert "--hosts must be between 1 and 50, not 0" in capsys.readouterr().err


def test_a_bad_lab_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLEETFORM_LAB_NAME", "Bad_Name")
    assert main(["lab", "status"]) == 1
    assert "lab name 'Bad_Name' is invalid" in capsys.readouterr().err

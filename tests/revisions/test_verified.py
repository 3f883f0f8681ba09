"""Each stack's last verify result, written and read by the host scripts (run here in sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleetform.revisions import host, verified
from fleetform.revisions.verified import (
    parse_verified,
    read_verified_lines,
    verified_documents,
    write_verified_script,
)

CHECKS = [
    {"resource": "shop-web-1", "check": "running", "ok": True},
    {"resource": "shop-api-web-1", "check": "running", "ok": False},
    {"resource": "shop-api-web-1", "check": "env", "ok": True},
    {"resource": "lab-1", "check": "reachable", "ok": True},  # no stack's
]


def test_checks_are_counted_for_the_longest_matching_stack() -> None:
    docs = verified_documents(CHECKS, ["shop", "shop-api", "idle"], "T", "c1")
    assert docs["shop"] == {"at": "T", "commit": "c1", "ok": True, "checks": 1, "failed": []}
    assert docs["shop-api"]["ok"] is False
    assert docs["shop-api"]["failed"] == ["shop-api-web-1 running"]
    assert docs["idle"]["checks"] == 0


def test_written_results_are_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "REVISIONS_DIR", str(tmp_path))
    monkeypatch.setattr(verified, "REVISIONS_DIR", str(tmp_path))
    docs = verified_documents(CHECKS, ["shop", "shop-api"], "T", "c1")
    subprocess.run(["sh", "-c", write_verified_script(docs)], check=True)
    assert oct((tmp_path / "shop" / "verify.json").stat().st_mode & 0o777) == "0o600"
    for names in ([], ["shop", "shop-api", "never"]):
        out = subprocess.run(
            ["sh", "-c", read_verified_lines(names)], check=True, capture_output=True, text=True
        ).stdout
        assert parse_verified(out) == docs

"""Advisory files and matching: upstream versions, dpkg versions, package changelogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.engine.advisories import (
    Advisory,
    AdvisoryFileError,
    FixedPackage,
    assess,
    assess_one,
    load_advisories,
    upstream_version,
)
from fleetform.engine.layers import ChangelogEntry, Component, HostLayers, Package, parse_layers

DATA = Path(__file__).parent / "data" / "layers"

LEAKY = Advisory(
    id="CVE-2024-21626",
    component="runc",
    severity="high",
    summary="leaky vessels",
    sources=("x",),
    introduced="1.0.0-rc93",
    fixed={"1.1": "1.1.12"},
    packages={("debian", "bookworm"): FixedPackage("runc", "1.1.5+ds1-1+deb12u1")},
)
RACES = Advisory(
    id="CVE-2025-31133",
    component="runc",
    severity="high",
    summary="races",
    sources=("x",),
    fixed={"1.2": "1.2.8", "1.3": "1.3.3", "1.4": "1.4.0-rc.3"},
)


def _runc(
    version: str, package: Package | None = None, changelog: tuple[ChangelogEntry, ...] = ()
) -> HostLayers:
    comp = Component(
        "runc",
        version=version,
        package=package or Package("", "", "unpackaged"),
        changelog=changelog,
    )
    return HostLayers("h1", "ok", components={"runc": comp}, os_id="debian", codename="bookworm")


def _status(host: HostLayers, advisory: Advisory) -> str:
    verdict = assess_one(host, advisory)
    assert verdict is not None
    return verdict.status


def test_fixed_upstream_version_is_fixed() -> None:
    assert _status(_runc("1.1.12"), LEAKY) == "fixed"
    assert _status(_runc("1.2.8"), RACES) == "fixed"
    assert _status(_runc("1.3.4"), RACES) == "fixed"
    # a branch newer than every listed fix
    assert _status(_runc("1.5.0"), RACES) == "fixed"


def test_vulnerable_upstream_version_is_affected() -> None:
    verdict = assess_one(_runc("1.1.11"), LEAKY)
    assert verdict is not None and verdict.status == "affected"
    assert verdict.evidence[0].kind == "upstream-version"
    assert verdict.evidence[0].detail == "1.1.11 < 1.1.12 (1.1.x)"
    assert _status(_runc("1.2.7"), RACES) == "affected"
    assert _status(_runc("1.3.2"), RACES) == "affected"
    # no fix was ever made on 1.1: 1.1.14 is still affected
    assert _status(_runc("1.1.14"), RACES) == "affected"


def test_version_before_the_flaw_was_introduced_is_not_affected() -> None:
    assert _status(_runc("1.0.0-rc92"), LEAKY) == "not-affected"
    assert _status(_runc("1.0.0-rc93"), LEAKY) == "affected"


def test_pre_releases_order_before_their_release() -> None:
    assert _status(_runc("1.4.0-rc.2"), RACES) == "affected"
    assert _status(_runc("1.4.0-rc.3"), RACES) == "fixed"
    assert _status(_runc("1.4.0"), RACES) == "fixed"
    v = upstream_version
    assert v("1.4.0-rc.2") < v("1.4.0-rc.3") < v("1.4.0") < v("1.4.1")  # type: ignore[operator]
    # Debian's spelling of a pre-release: 1.0.0~rc93+ds1
    assert v("1.0.0~rc93+ds1") == v("1.0.0-rc.93")


def test_debian_backport_is_fixed_by_its_changelog_although_upstream_is_older() -> None:
    """Real facts from a bookworm host: runc 1.1.5+ds1-1+deb12u1 names CVE-2024-21626."""
    host = parse_layers("vm", (DATA / "control-docker-io.txt").read_text())
    no_pkg_versions = Advisory(**{**LEAKY.__dict__, "packages": {}})
    verdict = assess_one(host, no_pkg_versions)
    assert verdict is not None and verdict.status == "fixed"
    kinds = [(e.kind, e.says) for e in verdict.evidence]
    assert kinds == [("package-changelog", "fixed"), ("upstream-version", "affected")]
    assert (
        "1.1.5+ds1-1+deb12u1 (bookworm-security) names CVE-2024-21626" in verdict.evidence[0].detail
    )


def test_an_alias_named_in_the_changelog_counts() -> None:
    entry = ChangelogEntry("1.1.5+ds1-1+deb12u9", "bookworm-security", ("GHSA-9493-h29p-rfm2",))
    host = _runc("1.1.5+ds1", Package("runc", "1.1.5+ds1-1+deb12u9", "distribution"), (entry,))
    aliased = Advisory(**{**RACES.__dict__, "aliases": ("GHSA-9493-h29p-rfm2",)})
    assert _status(host, aliased) == "fixed"
    assert _status(host, RACES) == "affected"


def test_distribution_package_version_uses_dpkg_ordering() -> None:
    # no changelog evidence: the fixed package version decides, with dpkg's rules
    # (deb12u1 > plain revision 1; ~ sorts before anything)
    fixed = _runc("1.1.5+ds1", Package("runc", "1.1.5+ds1-1+deb12u1", "distribution"))
    older = _runc("1.1.5+ds1", Package("runc", "1.1.5+ds1-1", "distribution"))
    tilde = _runc("1.1.5+ds1", Package("runc", "1.1.5+ds1-1+deb12u1~bpo1", "distribution"))
    assert _status(fixed, LEAKY) == "fixed"
    assert _status(older, LEAKY) == "affected"
    assert _status(tilde, LEAKY) == "affected"
    verdict = assess_one(older, LEAKY)
    assert verdict is not None and verdict.evidence[0].kind == "package-version"


def test_shipped_file_on_bookworm_facts() -> None:
    host = parse_layers("vm", (DATA / "control-docker-io.txt").read_text())
    got = {a.advisory.id: a.status for a in assess(host, load_advisories())}
    assert got == {
        "CVE-2024-21626": "fixed",
        "CVE-2025-31133": "affected",
        "CVE-2025-52565": "affected",
        "CVE-2025-52881": "affected",
    }


def test_host_without_the_component_gets_no_verdict() -> None:
    host = parse_layers("lab-1", (DATA / "lab-no-engine.txt").read_text())
    assert assess(host, load_advisories()) == ()


def test_shipped_file_is_valid_and_cites_sources() -> None:
    advisories = load_advisories()
    assert {a.id for a in advisories} >= {
        "CVE-2024-21626",
        "CVE-2025-31133",
        "CVE-2025-52565",
        "CVE-2025-52881",
    }
    assert all(a.sources for a in advisories)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format_version: 1\nadvisories: [", "not valid YAML"),
        ("advisories: []\n", "(top level): 'format_version' is a required property"),
        (
            "format_version: 1\nadvisories:\n- {id: X-1, component: runc, severity: urgent,"
            " summary: s, sources: [u]}\n",
            "advisories[0].severity: 'urgent' is not one of",
        ),
        (
            "format_version: 1\nadvisories:\n- {id: X-1, component: runc, severity: low,"
            " summary: s, sources: [u], fixed: {'1.1': 'one'}}\n",
            "advisories[0].fixed.1.1: 'one' does not match",
        ),
        (
            "format_version: 1\nadvisories:\n"
            "- {id: X-1, component: runc, severity: low, summary: s, sources: [u]}\n"
            "- {id: X-1, component: runc, severity: low, summary: s, sources: [u]}\n",
            "advisories[1].id: X-1 is listed twice",
        ),
    ],
)
def test_bad_advisory_file_is_refused_with_where_and_what(
    tmp_path: Path, text: str, message: str
) -> None:
    f = tmp_path / "adv.yaml"
    f.write_text(text)
    with pytest.raises(AdvisoryFileError) as err:
        load_advisories(f)
    assert str(err.value).startswith(f"{f}: ")
    assert message in str(err.value)


def test_missing_advisory_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryFileError, match="cannot read"):
        load_advisories(tmp_path / "nope.yaml")

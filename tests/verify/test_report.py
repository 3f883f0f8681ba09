"""What people, CI and machines read: failure lines, the JSON document, JUnit XML."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from rich.console import Console

from fleetform.verify.checks import CheckResult
from fleetform.verify.report import as_json, failure_lines, junit_xml, print_table
from fleetform.verify.runner import HostReport

OK = CheckResult("engine", "dockerd running", True, "active", "active")
STOPPED = CheckResult("demo-web-1", "state", False, "running", "exited")
REPORTS = [
    HostReport("lab-1", (OK,), seconds=0.4),
    HostReport("lab-2", (OK, STOPPED), seconds=0.5),
    HostReport("lab-3", error="ssh: connect to host 10.213.0.13 port 22: No route to host"),
]


def test_failure_lines_name_host_resource_check_expected_and_actual() -> None:
    assert failure_lines(REPORTS) == [
        "lab-2  demo-web-1  state  expected running, got exited",
        "lab-3  host  reachable  expected reachable over SSH, "
        "got ssh: connect to host 10.213.0.13 port 22: No route to host",
    ]


def test_checks_of_a_missing_container_are_counted_on_its_exists_line() -> None:
    missing = [
        CheckResult("demo-web-1", "exists", False, "a container", "no container"),
        CheckResult("demo-web-1", "state", False, "running", "no container"),
        CheckResult("demo-web-1", "image", False, "demo:1", "no container"),
    ]
    assert failure_lines([HostReport("lab-1", tuple(missing))]) == [
        "lab-1  demo-web-1  exists  expected a container, got no container "
        "(and 2 more checks of it)"
    ]


def test_json_document_shape() -> None:
    doc = as_json(REPORTS)
    assert doc["ok"] is False
    assert [h["host"] for h in doc["hosts"]] == ["lab-1", "lab-2", "lab-3"]
    assert doc["hosts"][0] == {
        "host": "lab-1",
        "ok": True,
        "checks": [
            {
                "resource": "engine",
                "check": "dockerd running",
                "ok": True,
                "expected": "active",
                "actual": "active",
            }
        ],
    }
    assert doc["hosts"][2]["checks"][0]["check"] == "reachable"
    assert as_json([HostReport("lab-1", (OK,))])["ok"] is True
    assert as_json([])["ok"] is False, "verifying no host proves nothing"


def test_junit_has_a_suite_per_host_and_a_case_per_check() -> None:
    root = ET.fromstring(junit_xml(REPORTS))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures")) == ("4", "2")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["lab-1", "lab-2", "lab-3"]
    cases = suites[1].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("lab-2", "engine dockerd running"),
        ("lab-2", "demo-web-1 state"),
    ]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "expected running, got exited"
    assert failure.text == "lab-2  demo-web-1  state  expected running, got exited"
    assert suites[0].find("testcase/failure") is None


def test_table_shows_counts_per_host_and_the_failures() -> None:
    buf = io.StringIO()
    print_table(REPORTS, Console(file=buf, width=200, color_system=None))
    text = buf.getvalue()
    assert "lab-2" in text and "failed" in text and "unreachable" in text
    assert "lab-2  demo-web-1  state  expected running, got exited" in text


#: what a host can put in a value: erase the line, move up, and a bidi override
ESCAPES = "debug\x1b[2K\x1b[1A\u202e"
TAMPERED = CheckResult("demo-web-1", "env LOG_LEVEL", False, "info", ESCAPES)


def test_control_characters_from_a_host_are_shown_escaped_in_lines_and_junit() -> None:
    line = failure_lines([HostReport("lab-1", (TAMPERED,))])[0]
    assert line.endswith("got debug\\x1b[2K\\x1b[1A\\u202e")
    xml = junit_xml([HostReport("lab-1", (TAMPERED,))])
    assert b"\x1b" not in xml and "\u202e".encode() not in xml
    ET.fromstring(xml)  # still well-formed XML
    buf = io.StringIO()
    print_table([HostReport("lab-1", (TAMPERED,))], Console(file=buf, width=200))
    assert "\x1b" not in buf.getvalue() and "\\x1b[2K" in buf.getvalue()


def test_the_json_document_keeps_the_exact_text() -> None:
    checks = as_json([HostReport("lab-1", (TAMPERED,))])["hosts"][0]["checks"]
    assert checks[0]["actual"] == ESCAPES

"""The host side of the proxy as shell text: observing and ensuring HAProxy."""

from __future__ import annotations

import pytest

from fleetform.proxy.config import render_config
from fleetform.proxy.host import ensure_script, parse_observed_proxy


def test_the_observed_section_gives_package_service_and_the_whole_file() -> None:
    text = render_config([])
    seen = parse_observed_proxy("installed 1\nactive active\n" + text.rstrip("\n"))
    assert (seen.installed, seen.active, seen.config) == (True, True, text)
    assert parse_observed_proxy("installed 0\nactive inactive\n") == parse_observed_proxy("")


def test_the_new_file_is_checked_before_it_replaces_the_old_one() -> None:
    script = ensure_script(render_config([]))
    check = script.index("haproxy -c -q -f /etc/haproxy/haproxy.cfg.fleetform-new")
    assert check < script.index("mv -f /etc/haproxy/haproxy.cfg.fleetform-new")
    assert "systemctl reload haproxy" in script


def test_a_file_cannot_end_the_here_document_early() -> None:
    with pytest.raises(ValueError):
        ensure_script("global\nFLEETFORM_HAPROXY_CFG_END\nrm -rf /\n")

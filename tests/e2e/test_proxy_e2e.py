"""The proxy on the lab: start-first rollouts and reloads with 0 failed requests.

One stack, two replicas on every lab host behind HAProxy, and a bounded probe
(:mod:`tests.e2e.probe`) sending requests to every host's ``listen`` port
during each scenario:

(a) a rolling ``environment`` change on 3 hosts;
(b) image demo:1 -> demo:2: the answers move from ``demo 1`` to ``demo 2``;
(c) demo:2 -> demo:broken: the rollout fails and ends on ``demo 2``;
(d) a proxy setting (the health check interval) changes: HAProxy reloads;
(e) ``fleetform rollback`` after (b): back to demo:1 stop-first (the
    revision of (b) says ``rollback_config.order: stop-first``: each replica
    leaves its slot before it stops, and the same slot follows the kept one),
    then ``rollback --to`` forth to demo:2 again start-first through the
    proxy (before (c));
(f) one replica fewer: the removed one leaves its backend before it stops;
(g) HAProxy reinstalled (the package's real upgrade scripts) through
    fleetform's upgrade step: restarts held, then a seamless reload.

Before the service goes, the same stack name applied ``state: absent`` from
another file leaves the stack's containers and its backend as they serve.

Each scenario must show 0 failed requests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetform.lab.inventory import discover
from fleetform.proxy.host import POLICY_RC, upgrade_script

from .onhost import remove_stack, sh
from .probe import Probe

pytestmark = pytest.mark.e2e

STACK = "proxy-e2e"
LISTEN = 18280
INVENTORY = "inventory/lab.py"
LAB = os.environ.get("FLEETFORM_LAB_NAME", "lab")
HOSTS = tuple(f"{LAB}-{i}" for i in (1, 2, 3))


def _write(
    path: Path, tag: str, *, level: str = "info", interval: str = "500ms", back: str = ""
) -> None:
    doc = {
        "version": 1,
        "name": STACK,
        "hosts": list(HOSTS),
        "services": {
            "web": {
                "image": f"registry.lab:5000/fleetform/demo:{tag}",
                "environment": {"LOG_LEVEL": level},
                "healthcheck": {
                    "test": "wget -q -O- http://127.0.0.1:8080/healthz",
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 3,
                },
                "stop_grace_period": "1s",
                "deploy": {
                    "replicas": 2,
                    "update_config": {"parallelism": 3, "monitor": "2s"},
                    "rollback_config": {
                        "parallelism": 3,
                        "monitor": "2s",
                        **({"order": back} if back else {}),
                    },
                },
                "proxy": {
                    "listen": LISTEN,
                    "target_port": 8080,
                    "health": {"path": "/healthz", "interval": interval, "timeout": "1s"},
                    "drain": "2s",
                },
            }
        },
    }
    path.write_text(yaml.safe_dump(doc))


def _addresses() -> list[str]:
    hosts = dict(discover(warn=False)["web"])
    return [str(hosts[h]["ssh_hostname"]) for h in HOSTS]


def _apply(fleetform: Callable[..., Any], path: Path) -> tuple[int, dict[str, Any]]:
    proc = fleetform("apply", "-i", INVENTORY, str(path), "--yes", "--json")
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _slots(host: str) -> list[str]:
    """``slot address op-state admin-bits`` of the backend's slots."""
    out = sh(host, f"echo 'show servers state {STACK}-web' | socat stdio /run/haproxy/admin.sock")
    return [" ".join(line.split()[3:7]) for line in out.splitlines()[2:] if line.strip()]


def _serving(host: str) -> list[str]:
    """The slots that take requests: running (op state 2), no maintenance bit (0x23)."""
    return [s for s in _slots(host) if s.split()[2] == "2" and not int(s.split()[3]) & 0x23]


def _manual_rollbacks(
    fleetform: Callable[..., Any], addresses: list[str], figures: dict[str, str]
) -> None:
    """(e): back to demo 1 stop-first (the slots follow), and forth again start-first."""
    for to, old, new in ((None, "demo 2", "demo 1"), ("3", "demo 1", "demo 2")):
        extra = ("--to", to) if to else ()
        before = {h: _serving(h) for h in HOSTS}
        with Probe(addresses, LISTEN) as probe:
            proc = fleetform("rollback", "-i", INVENTORY, STACK, *extra, "--yes", "--json")
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        assert probe.failed == 0 and probe.sent > 30, probe.report()
        for url, bodies in probe.sequence.items():
            assert bodies[0] == old and bodies[-1] == new, (url, bodies[:3], bodies[-3:])
        figures[f"rollback to {new}"] = probe.report()
        for host in HOSTS:
            after = _serving(host)
            slots = sorted(s.split()[0] for s in after)
            moved = slots != sorted(s.split()[0] for s in before[host])
            # stop-first: each replica's slot now points at the kept one; start-first:
            # the kept one took the other slot of each pair.
            assert moved == (to is not None), (host, before[host], after)


def _absent_from_another_file(
    fleetform: Callable[..., Any], stack_file: Path, doc_yaml: dict[str, Any]
) -> None:
    """The same stack name, state: absent, from another file: neither the containers
    nor the backend are that file's to remove."""
    web = {**doc_yaml["services"]["web"], "state": "absent"}
    other = stack_file.parent / "elsewhere" / stack_file.name
    other.parent.mkdir()
    other.write_text(yaml.safe_dump({**doc_yaml, "services": {"web": web}}))
    code, doc = _apply(fleetform, other)
    assert code == 0, doc
    warnings = " ".join(w for h in doc["plan"]["hosts"] for w in h["warnings"])
    made_by = f"proxy-backend {STACK}-web was made by stack file {stack_file.resolve()}"
    assert made_by in warnings, doc
    for host in HOSTS:
        assert f"backend {STACK}-web" in sh(host, "cat /etc/haproxy/haproxy.cfg")
        assert len(_serving(host)) == 1, _slots(host)


@pytest.fixture
def stack_file(tmp_path: Path) -> Iterator[Path]:
    # Revisions go too: scenario (e) rolls forth to revision 3, the apply of (b).
    for host in HOSTS:
        remove_stack(host, STACK, f"rm -rf /var/lib/fleetform/revisions/{STACK}")
    yield tmp_path / f"{STACK}.yml"
    for host in HOSTS:
        remove_stack(host, STACK, f"rm -rf /var/lib/fleetform/revisions/{STACK}")


def test_rollouts_rollback_and_reload_through_the_proxy_drop_no_request(
    fleetform: Callable[..., Any], stack_file: Path
) -> None:
    addresses = _addresses()
    _write(stack_file, "1")
    code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    for host in HOSTS:
        assert sh(host, "systemctl is-active haproxy") == "active"
        assert len(_serving(host)) == 2, _slots(host)  # both replicas serve, one slot each
    figures: dict[str, str] = {}

    # (a) a rolling environment change on 3 hosts
    _write(stack_file, "1", level="debug")
    with Probe(addresses, LISTEN) as probe:
        code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert doc["rollout"]["outcome"] == "done"
    assert probe.failed == 0 and probe.sent > 100, probe.report()
    figures["environment"] = probe.report()

    # (b) demo:1 -> demo:2 (its revision says how (e) goes back: stop-first)
    _write(stack_file, "2", level="debug", back="stop-first")
    with Probe(addresses, LISTEN) as probe:
        code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert probe.failed == 0, probe.report()
    for url, bodies in probe.sequence.items():
        assert bodies[0] == "demo 1" and bodies[-1] == "demo 2", (url, bodies[:3], bodies[-3:])
    figures["image"] = probe.report()

    _manual_rollbacks(fleetform, addresses, figures)
    for host in HOSTS:
        assert len(_serving(host)) == 2, _slots(host)
        kept = sh(
            host, f"docker ps -a --format '{{{{.Names}}}} {{{{.Image}}}}' -f name={STACK}-web"
        )
        assert f"{STACK}-web-1.fleetform-old registry.lab:5000/fleetform/demo:1" in kept, kept

    # (c) demo:2 -> demo:broken: the rollout fails, the fleet stays on demo 2
    _write(stack_file, "broken", level="debug")
    with Probe(addresses, LISTEN) as probe:
        code, doc = _apply(fleetform, stack_file)
    assert code == 3, doc
    assert doc["rollout"]["outcome"] == "rolled_back"
    assert probe.failed == 0, probe.report()
    assert set(probe.bodies) == {"demo 2"}, probe.report()
    figures["broken"] = probe.report()
    for host in HOSTS:
        assert not sh(host, f"docker ps -aq --filter name={STACK}-web-.*fleetform-new")

    # (d) a proxy setting changes: the file is rewritten and HAProxy reloads
    _write(stack_file, "2", level="debug", interval="300ms")
    plan = fleetform("plan", "-i", INVENTORY, str(stack_file))
    assert f"~ update proxy-backend {STACK}-web" in plan.stdout
    assert "proxy.health.interval: 0.5s -> 0.3s" in plan.stdout
    with Probe(addresses, LISTEN) as probe:
        code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert probe.failed == 0 and probe.sent > 30, probe.report()
    figures["reload"] = probe.report()
    for host in HOSTS:
        assert "inter 300ms" in sh(host, "cat /etc/haproxy/haproxy.cfg")
        assert len(_serving(host)) == 2, _slots(host)

    # (g) the package's own scripts run (a reinstall) through fleetform's upgrade
    # step: they may not restart HAProxy; it reloads, its master process stays.
    masters = {h: sh(h, "pgrep -o -x haproxy") for h in HOSTS}
    with Probe(addresses, LISTEN) as probe, ThreadPoolExecutor(len(HOSTS)) as pool:
        outs = list(pool.map(lambda h: sh(h, upgrade_script("--reinstall haproxy")), HOSTS))
    assert all(o.endswith("fleetform-proxy-upgraded") for o in outs), outs
    assert probe.failed == 0 and probe.sent > 30, probe.report()
    figures["haproxy reinstall"] = probe.report()
    for host in HOSTS:
        assert sh(host, "pgrep -o -x haproxy") == masters[host]  # reloaded, not restarted
        assert "policy-rc.d denied execution of reload" in sh(host, "tail -9 /var/log/apt/term.log")
        assert sh(host, f"ls {POLICY_RC} 2>/dev/null; true") == ""  # the hold is gone
        assert len(_serving(host)) == 2, _slots(host)

    # Applied again: nothing to do.
    again = fleetform("plan", "-i", INVENTORY, str(stack_file), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    print(json.dumps(figures, indent=1))

    # verify checks the proxy: it passes now, and fails on a slot put in maint by
    # hand (one host) and on a stopped HAProxy (another host).
    verify = fleetform("verify", "-i", INVENTORY, str(stack_file))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    slot = _serving(HOSTS[1])[0].split()[0]
    hapx = "| socat stdio /run/haproxy/admin.sock"
    sh(HOSTS[1], f"echo 'set server {STACK}-web/{slot} state maint' {hapx}")
    sh(HOSTS[2], "systemctl stop haproxy")
    try:
        verify = fleetform("verify", "-i", INVENTORY, str(stack_file))
        drift = fleetform("plan", "-i", INVENTORY, str(stack_file), "--json")
    finally:
        sh(HOSTS[1], f"echo 'set server {STACK}-web/{slot} state ready' {hapx}")
        sh(HOSTS[2], "systemctl start haproxy")
    out = verify.stdout
    assert verify.returncode == 1, out
    assert f"{HOSTS[1]}  proxy-backend {STACK}-web  replicas healthy  expected 2 of 2" in out, out
    assert f"{HOSTS[2]}  proxy  haproxy running  expected active, got not active" in out, out
    assert f"{HOSTS[0]}  proxy" not in out, out
    # plan sees the slot too: a running replica in no slot
    (seen,) = [h for h in json.loads(drift.stdout)["hosts"] if h["host"] == HOSTS[1]]
    assert [a["reason_code"] for a in seen["proxy"]] == ["slot_drift"], seen["proxy"]
    assert [c["new"].endswith(" ready") for c in seen["proxy"][0]["changes"]] == [True]

    # (f) one replica fewer: it leaves its backend (drain, maint) before it stops
    doc_yaml = yaml.safe_load(stack_file.read_text())
    doc_yaml["services"]["web"]["deploy"]["replicas"] = 1
    stack_file.write_text(yaml.safe_dump(doc_yaml))
    with Probe(addresses, LISTEN) as probe:
        code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert probe.failed == 0 and probe.sent > 30, probe.report()
    figures["scale down"] = probe.report()
    for host in HOSTS:
        assert len(_serving(host)) == 1, _slots(host)
    print(json.dumps(figures, indent=1))

    _absent_from_another_file(fleetform, stack_file, doc_yaml)

    # The service goes: its backend goes from every host's file too.
    # Its frontend closes before its replica stops: refused, never the proxy's 503.
    doc_yaml["services"]["web"]["state"] = "absent"
    stack_file.write_text(yaml.safe_dump(doc_yaml))
    with Probe(addresses, LISTEN) as probe:
        code, doc = _apply(fleetform, stack_file)
    assert code == 0, doc
    assert probe.statuses[503] == 0 and probe.bodies, probe.report()
    for host in HOSTS:
        assert f"backend {STACK}-web" not in sh(host, "cat /etc/haproxy/haproxy.cfg")

"""Carry out the host proxy's part of a plan: HAProxy installed, configured, running,
and every running replica of a proxied service in a slot of its backend.

Two rounds, each one command per host, hosts in parallel:

1. :func:`fleetform.proxy.host.ensure_script` (install, ``haproxy -c``, write,
   seamless reload; nothing when all is so already), then
   :func:`fleetform.proxy.slots.read_script` (the replicas' addresses and the
   backends' slots);
2. the runtime API lines :func:`fleetform.proxy.slots.slot_commands` decided
   from what round 1 read (none when every slot is right).

It runs on the hosts whose plan has changes and that have proxied services
or backends to remove: after the containers were created (``fleetform
apply``), and again after a rollout.

Example::

    problems = sync_proxies(session, obs.desired, hosts)
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from fleetform.executor.session import Session
from fleetform.plan.desired import HostDesired
from fleetform.proxy.config import ProxiedService, render_config
from fleetform.proxy.host import HAPX, ensure_script
from fleetform.proxy.runtime import RuntimeReplyError, check_set_reply
from fleetform.proxy.slots import SlotTarget, parse_read, read_script, slot_commands


def proxied(desired: HostDesired) -> tuple[list[ProxiedService], list[SlotTarget]]:
    """The host's proxied services, once each (replicas as the stack says)."""
    services: dict[str, ProxiedService] = {}
    targets: dict[str, SlotTarget] = {}
    for c in desired.containers:
        p = c.service.proxy
        if p is None or c.state == "absent":
            continue
        svc = ProxiedService(c.stack, c.service.name, p, c.service.replicas)
        services[svc.backend] = svc
        network = c.spec.networks[0].name if c.spec.networks else "bridge"
        targets[svc.backend] = SlotTarget(
            c.stack, c.service.name, c.service.replicas, p.target_port, network
        )
    return list(services.values()), list(targets.values())


def sync_proxies(
    session: Session, desired: Mapping[str, HostDesired], hosts: Iterable[str]
) -> dict[str, str]:
    """Bring each host of ``hosts`` to its proxy; host -> why it failed."""
    chosen = set(hosts)
    live = [h for h in session.hosts if h.name in chosen and h.name in desired]
    if not live:
        return {}
    plans = {h.name: proxied(desired[h.name]) for h in live}
    first = session.run_everywhere(
        lambda h: (
            ensure_script(render_config(plans[h.name][0])) + "\n" + read_script(plans[h.name][1])
        ),
        hosts=live,
    )
    problems: dict[str, str] = {}
    lines: dict[str, list[str]] = {}
    for name, result in first.items():
        if not result.ok:
            problems[name] = "the proxy: " + (result.stderr.strip()[-500:] or "failed")
            continue
        targets = plans[name][1]
        try:
            read = parse_read(result.stdout, targets)
        except RuntimeReplyError as exc:
            problems[name] = f"the proxy's runtime API: {exc}"
            continue
        commands = [
            command for t in targets for command in slot_commands(t, *read.get(t.backend, ({}, ())))
        ]
        if commands:
            lines[name] = commands
    if lines:
        second = session.run_everywhere(
            lambda h: "\n".join([HAPX, *(f"ff_hapx {shlex.quote(c)}" for c in lines[h.name])]),
            hosts=[h for h in live if h.name in lines],
        )
        for name, result in second.items():
            try:
                if not result.ok:
                    raise RuntimeReplyError(result.stderr.strip() or "failed")
                for reply in result.stdout.split("\n\n"):
                    check_set_reply(reply)
            except RuntimeReplyError as exc:
                problems[name] = f"the proxy's runtime API: {exc}"
    return problems

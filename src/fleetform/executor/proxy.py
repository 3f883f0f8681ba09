"""Carry out the host proxy's part of a plan: HAProxy installed, configured, running,
and every running replica of a proxied service in a slot of its backend.

Two rounds, each one command per host, hosts in parallel:

1. :func:`fleetform.proxy.slots.read_script`: the replicas' addresses and
   which slot serves what now;
2. :func:`fleetform.proxy.host.ensure_script` with the file rendered with
   those slots (install, ``haproxy -c``, write, seamless reload; nothing when
   the file is the same), then the runtime API lines
   :func:`fleetform.proxy.slots.slot_commands` decided from round 1 (none
   when every slot is right).  A reloaded worker starts from the file, which
   holds the same slots already: no request meets an empty backend.

It runs on the hosts whose plan has changes and that have proxied services
or backends to remove: after the containers were created (``fleetform
apply``), and again after a rollout.  Backends the plan removes go first,
before any container stops (:func:`without_backends`): their frontends close
with a seamless reload, so no request meets a service whose slots are all in
maintenance (HAProxy's 503).

Example::

    problems = sync_proxies(session, obs.desired, hosts)
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from fleetform.executor.session import Session
from fleetform.plan.desired import HostDesired
from fleetform.plan.proxy import owns_backend
from fleetform.proxy.config import ProxiedService, read_config, render_config
from fleetform.proxy.host import HAPX, ObservedProxy, ensure_script
from fleetform.proxy.runtime import RuntimeReplyError, check_set_reply
from fleetform.proxy.slots import (
    SlotTarget,
    parse_read,
    read_script,
    serving_slots,
    slot_commands,
    wanted_slots,
)


def proxied(
    desired: HostDesired, observed: ObservedProxy | None = None
) -> tuple[list[ProxiedService], list[SlotTarget]]:
    """The host's proxied services, once each (replicas as the stack says), and the
    backends the host's file holds for stacks not being applied, or made by another
    stack file (kept as they are: :func:`fleetform.plan.proxy.owns_backend`)."""
    services: dict[str, ProxiedService] = {}
    if observed is not None and observed.config.strip():
        for name, settings in read_config(observed.config).backends.items():
            if not owns_backend(desired, name, settings, observed):
                services[name] = settings.service_of()
    theirs = set(services)
    targets: dict[str, SlotTarget] = {}
    for c in desired.containers:
        p = c.service.proxy
        if p is None or c.state == "absent":
            continue
        svc = ProxiedService(c.stack, c.service.name, p, c.service.replicas, c.identity)
        if svc.backend in theirs:
            continue  # another file's backend of that name: the plan refuses the host
        services[svc.backend] = svc
        network = c.spec.networks[0].name if c.spec.networks else "bridge"
        targets[svc.backend] = SlotTarget(
            c.stack, c.service.name, c.service.replicas, p.target_port, network
        )
    return list(services.values()), list(targets.values())


def without_backends(
    observed: ObservedProxy | None, gone: Iterable[str]
) -> tuple[list[ProxiedService], list[SlotTarget]]:
    """The host's file as it serves now, less the backends (and frontends) ``gone``."""
    drop = set(gone)
    if observed is None or not observed.config.strip():
        return [], []
    backends = read_config(observed.config).backends
    return [v.service_of() for k, v in backends.items() if k not in drop], []


def sync_proxies(
    session: Session,
    desired: Mapping[str, HostDesired],
    hosts: Iterable[str],
    observed: Mapping[str, ObservedProxy] | None = None,
    *,
    drop: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, str]:
    """Bring each host of ``hosts`` to its proxy; host -> why it failed.

    ``observed``: each host's HAProxy as observed for the plan: its backends of
    stacks not being applied stay in the file as they serve now.  ``drop``
    (host -> backend names): only take those backends out, every other one
    stays as it serves (:func:`without_backends`).
    """
    chosen = set(hosts)
    live = [h for h in session.hosts if h.name in chosen and h.name in desired]
    if drop is not None:
        live = [h for h in live if h.name in drop]
    if not live:
        return {}
    seen = observed or {}
    plans = {
        h.name: (
            without_backends(seen.get(h.name), drop[h.name])
            if drop is not None
            else proxied(desired[h.name], seen.get(h.name))
        )
        for h in live
    }
    # Round 1: where every replica is, and which slot serves what now.
    first = session.run_everywhere(lambda h: "\n".join([HAPX, _read(*plans[h.name])]), hosts=live)
    problems: dict[str, str] = {}
    scripts: dict[str, str] = {}
    for name, result in first.items():
        services, targets = plans[name]
        if not result.ok and not result.stdout:
            problems[name] = f"the proxy: {result.stderr.strip()[-500:] or 'not reachable'}"
            continue
        read = parse_read(result.stdout, _all_targets(services, targets))
        slots: dict[str, dict[str, str]] = {}
        commands: list[str] = []
        for svc in services:
            running, states = read.get(svc.backend, ({}, ()))
            target = next((t for t in targets if t.backend == svc.backend), None)
            if target is None:  # another stack's backend, left as it serves
                slots[svc.backend] = serving_slots(svc.backend, states)
            else:
                slots[svc.backend] = wanted_slots(target, running, states)
                commands += slot_commands(target, running, states)
        host_proxy = seen.get(name)
        # The version the plan showed (none: no upgrade line, no upgrade).
        upgrade = (
            host_proxy.upgrade[1]
            if host_proxy is not None and host_proxy.upgrade and targets
            else None
        )
        try:
            ensure = ensure_script(render_config(services, slots), upgrade)
        except ValueError as exc:
            problems[name] = f"the proxy: {exc}"
            continue
        sets = [f"ff_hapx {shlex.quote(c)}" for c in commands]
        scripts[name] = "\n".join([ensure, "echo fleetform-proxy-set", *sets])
    # Round 2: the file (checked, seamless reload when it changed), then the slots.
    second = session.run_everywhere(
        lambda h: scripts[h.name], hosts=[h for h in live if h.name in scripts]
    )
    for name, result in second.items():
        try:
            if not result.ok:
                raise RuntimeReplyError(result.stderr.strip()[-500:] or "failed")
            replies = result.stdout.partition("fleetform-proxy-set")[2]
            for reply in replies.split("\n\n"):
                check_set_reply(reply)
        except RuntimeReplyError as exc:
            problems[name] = f"the proxy: {exc}"
    return problems


def _all_targets(services: list[ProxiedService], targets: list[SlotTarget]) -> list[SlotTarget]:
    """The applied services' targets, and one without replicas for every other backend."""
    mine = {t.backend for t in targets}
    others = [
        SlotTarget(s.stack, s.service, 0, s.proxy.target_port, "")
        for s in services
        if s.backend not in mine
    ]
    return [*targets, *others]


def _read(services: list[ProxiedService], targets: list[SlotTarget]) -> str:
    return read_script(_all_targets(services, targets))

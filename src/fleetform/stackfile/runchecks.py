"""Checks of Compose's ``docker run`` keys against the rest of a stack: what Docker would
refuse at create time, or what would mean something else on a fleet, is refused at
validation, naming the key."""

from __future__ import annotations

from fleetform.model import Service, Stack
from fleetform.stackfile.problems import Report


def _placements_disjoint(a: Service, b: Service) -> bool:
    # Placement is known by name only here: empty means every host.
    return bool(a.hosts) and bool(b.hosts) and not set(a.hosts) & set(b.hosts)


def _fixed_name(svc: Service, report: Report) -> None:
    path = ("services", svc.name, "container_name")
    if svc.replicas > 1:
        report.error(
            path,
            f"`container_name` names one container, but the service has {svc.replicas} "
            "replicas; leave it out (containers are `<stack>-<service>-<n>`) or use 1 replica",
        )
    if svc.proxy is not None:
        report.error(path, "`container_name` cannot be used with `proxy`")


def _network_mode(stack: Stack, svc: Service, report: Report) -> None:
    mode = svc.network_mode
    if mode is None:
        return
    path = ("services", svc.name, "network_mode")
    shared = mode != "none"
    for key, present in (
        ("ports", bool(svc.ports) and shared),
        ("hostname", svc.hostname is not None and shared),
        ("expose", bool(svc.expose) and mode.startswith("service:")),
        ("proxy", svc.proxy is not None),
    ):
        if present:
            report.error(
                ("services", svc.name, key),
                f"`{key}` cannot be used with `network_mode: {mode}`: the container has no "
                "network of its own",
            )
    if not mode.startswith("service:"):
        return
    peer_name = mode.removeprefix("service:")
    peer = next((s for s in stack.services if s.name == peer_name), None)
    if peer is None:
        names = ", ".join(sorted(s.name for s in stack.services))
        report.error(path, f"`{peer_name}` is not a service (services: {names})")
    elif peer is svc:
        report.error(path, "a service cannot share its own network stack")
    elif peer.state == "absent" or peer.replicas == 0:
        why = "`state: absent`" if peer.state == "absent" else "at 0 replicas"
        report.error(path, f"`{peer_name}` is {why}: there is no network stack to join")
    elif peer.hosts and set(svc.hosts or ("(every host)",)) - set(peer.hosts):
        report.error(
            path,
            f"`{peer_name}` must run on every host of this service (its `hosts`: "
            f"{', '.join(peer.hosts)}): the container joins its replica 1 on the same host",
        )


def _dependencies(stack: Stack, svc: Service, report: Report) -> None:
    names = {s.name: s for s in stack.services}
    for dep in svc.depends_on:
        peer = names.get(dep.service)
        if dep.required and peer is not None and _placements_disjoint(svc, peer):
            report.warn(
                ("services", svc.name, "depends_on", dep.service),
                f"`{dep.service}` runs on other hosts, so no host waits for it "
                "(say `required: false` to mean it)",
            )


def _case_clashes(stack: Stack, report: Report) -> None:
    seen: dict[str, str] = {}
    for svc in stack.services:
        first = seen.setdefault(svc.name.lower(), svc.name)
        if first != svc.name:
            report.error(
                ("services", svc.name),
                f"`{svc.name}` and `{first}` differ only in case: they would answer to one "
                "name on the stack's network; rename one of them",
                at_key=True,
            )


def check_run_keys(stack: Stack, report: Report) -> None:
    """Cross-checks of ``container_name``, ``network_mode`` and ``depends_on`` options,
    and of service names that differ only in case."""
    _case_clashes(stack, report)
    for svc in stack.services:
        if svc.replicas == 0 and svc.proxy is not None:
            report.error(
                ("services", svc.name, "deploy", "replicas"),
                "a service behind `proxy` needs at least one replica",
            )
        if svc.fixed_name is not None:
            _fixed_name(svc, report)
        _network_mode(stack, svc, report)
        _dependencies(stack, svc, report)

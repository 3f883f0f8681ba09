"""What the executor writes into a host's haproxy.cfg: the applied stacks' proxied
services, and the backends of every other stack as the host has them."""

from __future__ import annotations

from planbuilders import stack, svc, want

from fleetform.executor.proxy import proxied, without_backends
from fleetform.model import ProxyConfig
from fleetform.proxy.config import ProxiedService, render_config
from fleetform.proxy.host import ObservedProxy

WEB, API = ProxyConfig(8080, 8080), ProxyConfig(9000, 80)


def test_other_stacks_backends_stay_and_the_applied_ones_follow_the_stack() -> None:
    desired = want([stack(svc("web", proxy=WEB, replicas=2), svc("plain"))])
    host_file = render_config(
        [ProxiedService("demo", "old", API, 1), ProxiedService("other", "api", API, 3)]
    )
    services, targets = proxied(desired, ObservedProxy(True, True, host_file))
    assert sorted((s.stack, s.service, s.replicas) for s in services) == [
        ("demo", "web", 2),
        ("other", "api", 3),
    ]
    # Only the applied stack's replicas are put into slots.
    assert [(t.backend, t.replicas, t.target_port) for t in targets] == [("demo-web", 2, 8080)]


def test_a_removed_backend_leaves_the_file_first_and_the_others_stay_as_they_serve() -> None:
    host_file = render_config(
        [ProxiedService("demo", "web", WEB, 2), ProxiedService("other", "api", API, 3)]
    )
    services, targets = without_backends(ObservedProxy(True, True, host_file), ["demo-web"])
    assert [(s.stack, s.service, s.replicas) for s in services] == [("other", "api", 3)]
    assert targets == []  # no replica is moved: the others keep the slots they serve from
    assert without_backends(None, ["demo-web"]) == ([], [])

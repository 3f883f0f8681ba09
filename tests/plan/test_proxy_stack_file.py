"""A stack's proxy backend belongs to the stack file that made it, as its containers do.

Applying the same stack name from another file (``state: absent`` or any
other apply) leaves the first file's backend as it serves: neither the plan
nor the file the executor writes drops or changes it.
"""

from __future__ import annotations

from planbuilders import stack, svc, want

from fleetform.executor.proxy import proxied
from fleetform.model import ProxyConfig
from fleetform.plan import plan_host
from fleetform.plan.desired import HostDesired
from fleetform.plan.observed import Observed
from fleetform.proxy.config import ProxiedService, read_config, render_config
from fleetform.proxy.host import ObservedProxy

WEB = ProxyConfig(8080, 8080)
MINE, THEIRS = "stacks/demo.yml", "deploy/other/demo.yml"


def _host_file(identity: str = MINE) -> str:
    return render_config([ProxiedService("demo", "web", WEB, 2, identity)])


def _absent_from(identity: str) -> HostDesired:
    return want([stack(svc("web", proxy=WEB, replicas=2, state="absent"), identity=identity)])


def test_the_backend_line_records_its_stack_file() -> None:
    (b,) = read_config(_host_file()).backends.values()
    assert b.identity == MINE
    assert b.service_of() == ProxiedService("demo", "web", WEB, 2, MINE)
    # A line written before the file was recorded says nothing about it.
    (old,) = read_config(render_config([ProxiedService("demo", "web", WEB, 2)])).backends.values()
    assert old.identity is None


def test_state_absent_from_another_file_keeps_the_backend_in_plan_and_file() -> None:
    desired = _absent_from(THEIRS)
    observed = ObservedProxy(True, True, _host_file())
    hp = plan_host(desired, Observed(), observed)
    assert hp.proxy == ()
    assert not hp.errors
    assert any("proxy-backend demo-web was made by stack file " + MINE in w for w in hp.warnings)
    services, targets = proxied(desired, observed)
    assert services == [ProxiedService("demo", "web", WEB, 2, MINE)]
    assert targets == []


def test_state_absent_from_the_same_file_removes_the_backend() -> None:
    desired = _absent_from(MINE)
    observed = ObservedProxy(True, True, _host_file())
    hp = plan_host(desired, Observed(), observed)
    assert [(a.kind, a.resource) for a in hp.proxy] == [("remove-backend", "demo-web")]
    assert proxied(desired, observed) == ([], [])


def test_a_backend_line_without_its_file_goes_by_its_containers_labels() -> None:
    legacy = render_config([ProxiedService("demo", "web", WEB, 2)])
    desired = _absent_from(THEIRS)
    theirs = ObservedProxy(True, True, legacy, owners={"demo-web": MINE})
    assert plan_host(desired, Observed(), theirs).proxy == ()
    assert [s.backend for s in proxied(desired, theirs)[0]] == ["demo-web"]
    # No container says otherwise: taken as the current file's, as an unlabelled container.
    unknown = ObservedProxy(True, True, legacy)
    removed = plan_host(desired, Observed(), unknown).proxy
    assert [a.kind for a in removed] == ["remove-backend"]


def test_declaring_a_backend_another_file_made_is_a_plan_error() -> None:
    desired = want([stack(svc("web", proxy=WEB, replicas=1), identity=THEIRS)])
    hp = plan_host(desired, Observed(), ObservedProxy(True, True, _host_file()))
    assert hp.proxy == ()
    (error,) = hp.errors
    assert error.startswith(f"proxy-backend demo-web on host-a was made by stack file {MINE}")
    assert "two stack files declare stack demo" in error


def test_another_service_of_the_same_stack_name_is_added_beside_the_other_files() -> None:
    api = ProxyConfig(9000, 80)
    desired = want([stack(svc("api", proxy=api, replicas=1), identity=THEIRS)])
    observed = ObservedProxy(True, True, _host_file())
    hp = plan_host(desired, Observed(), observed)
    assert [(a.kind, a.resource) for a in hp.proxy] == [("create-backend", "demo-api")]
    services, _ = proxied(desired, observed)
    assert sorted((s.service, s.identity) for s in services) == [("api", THEIRS), ("web", MINE)]

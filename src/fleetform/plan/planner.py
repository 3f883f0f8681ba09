"""``plan_host(desired, observed) -> HostPlan``: the pure reconciliation.

Decisions, and why they are safe:

- Only containers labelled ``fleetform.stack`` are managed.  A desired name
  held by an unlabelled container, or by a container of another stack,
  service or stack file (:mod:`fleetform.plan.ownership`), is a plan error:
  we never remove what we did not create.
- A managed container of a stack being applied that the stack's file no
  longer declares here (service removed, fewer replicas, placed elsewhere) is
  removed.  One made by another file with the same stack name is not: the
  plan warns about it instead, and about containers this file made under a
  stack name it no longer declares.
- Drift is judged field by field against the declared spec filled with the
  image's defaults (see :mod:`fleetform.plan.spec`), plus the image id and the
  config-hash label.  Restart policy and resource limits are updated in
  place; anything else recreates.  A recreate keeps data: named volumes are
  mounted by name, the old container's anonymous volumes (declared, or from
  the image's ``VOLUME``) are mounted by name in the new container
  (:mod:`fleetform.plan.carry`), and nothing ever removes a volume with the
  container.  An anonymous volume the new container will not mount is a
  warning.
- Networks are never removed or recreated in v1: a managed network whose
  driver or options differ is a *warning* (recreating it would cut every
  container on it, including other stacks').  External networks and volumes
  must exist (error) and are never created.
- Volumes are removed only when the stack says ``state: absent``, and only
  when they carry fleetform's label.

Order: networks, volumes, images; then removals of containers and stops
(first, because a removed container may hold a port or a name a new one
needs); then creates / recreates / updates / starts in ``depends_on`` order;
volume removals last (after the containers that used them are gone).
"""

from __future__ import annotations

from dataclasses import replace

from fleetform.model import kept_base
from fleetform.plan.actions import Action, ActionKind, HostPlan, ReasonCode
from fleetform.plan.carry import carry_volumes
from fleetform.plan.desired import DesiredContainer, HostDesired
from fleetform.plan.diff import UNSET, FieldChange, diff_specs
from fleetform.plan.findings import Findings
from fleetform.plan.observed import Observed, ObservedContainer
from fleetform.plan.ownership import foreign_owner, same_file, stack_file_warnings
from fleetform.plan.projectfiles import (
    data_changes,
    describe,
    file_changes,
    host_file_problems,
    missing_data,
)
from fleetform.plan.proxy import (
    container_files,
    foreign_backends,
    host_proxy_actions,
    host_proxy_notes,
)
from fleetform.plan.resources import (
    new_registry_digest,
    plan_images,
    plan_networks,
    plan_volumes,
)
from fleetform.plan.secrets import missing_files, secret_changes, secrets_label
from fleetform.plan.spec import (
    ImageConfig,
    with_image_defaults,
    without_image_volumes,
    without_implicit_aliases,
)
from fleetform.proxy.host import ObservedProxy

_RUNNING = ("running", "restarting")
#: change paths that name the image a container runs (``image_changed``)
_IMAGE_PATHS = frozenset({"image", "image id"})


def _short(digest: str | None) -> str:
    if not digest:
        return "(none)"
    return digest.split(":", 1)[-1][:12]


def _topo_order(containers: tuple[DesiredContainer, ...]) -> list[DesiredContainer]:
    """Containers in depends_on order (dependencies first), ties by name."""
    by_service: dict[tuple[str, str], list[DesiredContainer]] = {}
    for c in containers:
        by_service.setdefault((c.stack, c.service.name), []).append(c)
    done: set[tuple[str, str]] = set()
    order: list[DesiredContainer] = []

    def visit(key: tuple[str, str], path: frozenset[tuple[str, str]]) -> None:
        if key in done or key in path:  # cycles are rejected by the loader
            return
        for dep in by_service[key][0].service.depends_on:
            dep_key = (key[0], dep.service)
            if dep_key in by_service:
                visit(dep_key, path | {key})
        done.add(key)
        order.extend(sorted(by_service[key], key=lambda c: c.replica))

    for key in sorted(by_service):
        visit(key, frozenset())
    return order


def _image_changes(
    want: DesiredContainer, have: ObservedContainer, desired: HostDesired, observed: Observed
) -> list[FieldChange]:
    image = next((i for i in desired.images if i.ref == want.spec.image), None)
    pending = new_registry_digest(image, observed) if image else None
    if pending is not None:
        # `pull: always` and the registry serves another image: it is pulled
        # first, and the container is recreated on it in the same apply.
        return [
            FieldChange("image id", _short(have.image_id), f"registry digest {_short(pending)}")
        ]
    target = observed.image(want.spec.image)
    if target is None:
        return [FieldChange("image id", _short(have.image_id), "(not on host yet)")]
    if target.id != have.image_id:
        return [FieldChange("image id", _short(have.image_id), _short(target.id))]
    return []


class _ContainerPlanner:
    def __init__(self, desired: HostDesired, observed: Observed, found: Findings) -> None:
        self.desired = desired
        self.observed = observed
        self.found = found
        #: (stack, service) whose containers this plan recreates or creates
        self.replaced: set[tuple[str, str]] = set()

    def _action(
        self,
        kind: ActionKind,
        want: DesiredContainer,
        code: ReasonCode,
        reason: str,
        obs: ObservedContainer | None = None,
        changes: tuple[FieldChange, ...] = (),
    ) -> Action:
        return Action(
            host=self.desired.host,
            kind=kind,
            resource=want.name,
            reason=reason,
            reason_code=code,
            changes=changes,
            container=want,
            container_id=obs.id if obs else None,
            owner_stack=obs.stack if obs else None,
            stop_timeout=want.spec.stop_timeout,
        )

    def _with_secrets(self, want: DesiredContainer) -> DesiredContainer | None:
        """``want`` with its ``fleetform.secrets`` label; None (a host error) without a key."""
        if not want.secrets or want.state == "absent":
            return want
        if self.observed.digest_key is None:
            self.found.error(
                f"container {want.name} mounts secrets, but the host's digest key "
                "could not be read, so they cannot be compared"
            )
            return None
        key = bytes.fromhex(self.observed.digest_key)
        return replace(want, secrets_label=secrets_label(want.secrets, key))

    def _with_data(self, want: DesiredContainer) -> DesiredContainer:
        """``want`` with the data folders the host does not have yet."""
        missing = missing_data(want.stack, want.service, self.observed.project_paths)
        return replace(want, missing_data=missing)

    def plan(self) -> None:
        for declared in _topo_order(self.desired.containers):
            want = self._with_secrets(declared)
            if want is None:
                continue
            want = self._with_data(want)
            obs = self.observed.container(want.name)
            if want.state == "absent":
                if obs is not None and self._foreign(want, obs) is None:
                    absent = self._action("remove", want, "state_absent", "state: absent", obs)
                    self.found.add("release", absent)
                continue
            if obs is None:
                if want.name in self.observed.unmanaged:
                    self.found.error(
                        f"container {want.name} exists on {self.desired.host} without "
                        "fleetform's labels; rename or remove it by hand (it is never touched)"
                    )
                else:
                    started = "" if want.state == "stopped" else " and start"
                    project = describe(
                        want.stack, want.service, want.files, want.missing_data or ()
                    )
                    create = self._action(
                        "create", want, "missing", f"missing: create{started}", None, tuple(project)
                    )
                    self.found.add("converge", create)
                    self.replaced.add((want.stack, want.service.name))
                continue
            foreign = self._foreign(want, obs)
            if foreign is not None:
                self.found.error(f"container {want.name} on {self.desired.host} {foreign}")
                continue
            self._plan_existing(want, obs)
        self._plan_orphans()

    def _peer_replaced(self, want: DesiredContainer) -> str | None:
        """The dependency with ``restart: true`` this plan replaces on the host, if any."""
        return next(
            (
                dep.service
                for dep in want.service.depends_on
                if dep.restart and (want.stack, dep.service) in self.replaced
            ),
            None,
        )

    @staticmethod
    def _foreign(want: DesiredContainer, obs: ObservedContainer) -> str | None:
        have = (obs.stack, obs.service, obs.identity)
        return foreign_owner(have, (want.stack, want.service.name, want.identity), "service")

    def _plan_existing(self, want: DesiredContainer, obs: ObservedContainer) -> None:
        image = self.observed.image_by_id(obs.image_id) or self.observed.image(want.spec.image)
        config = image.config if image else ImageConfig()
        target = without_image_volumes(with_image_defaults(want.spec, config), config)
        have = without_image_volumes(obs.spec, config)
        changes = list(
            diff_specs(
                without_implicit_aliases(target, want.name),
                without_implicit_aliases(have, obs.name),
                want.secret_keys,
                obs.secret_keys,
            )
        )
        changes += _image_changes(want, obs, self.desired, self.observed)
        key = bytes.fromhex(self.observed.digest_key or "")
        secrets = secret_changes(want.secrets, obs.secrets_label, key) or missing_files(
            want.name, want.secrets, want.secrets_label, self.observed.secret_files
        )
        changes += secrets
        files = file_changes(want.files, obs.files_label) or host_file_problems(
            want.stack, want.files, self.observed.project_paths
        )
        changes += files
        if self.observed.project_paths is not None:
            changes += data_changes(want.stack, want.service, want.missing_data or ())
        recreate = [c for c in changes if not c.in_place or c.new == UNSET]
        cause: ReasonCode | None = None
        if recreate and len(secrets) == len(recreate):
            cause = "secret_changed"
        elif recreate:
            only_image = all(c.path in _IMAGE_PATHS for c in recreate)
            cause = "image_changed" if only_image else "field_changed"
        elif obs.config_hash != want.config_hash:
            changes.append(
                FieldChange("config-hash", _short(obs.config_hash), _short(want.config_hash))
            )
            cause = "config_hash_changed"
        elif obs.status in ("dead", "paused", "removing"):
            changes.append(FieldChange("state", obs.status, want.state))
            cause = "unusable"
        elif obs.health == "unhealthy" and want.state == "running":
            # apply promises healthy containers: a fresh container gets a fresh
            # start, and if it is unhealthy again the step fails with its output.
            changes.append(FieldChange("health", "unhealthy", "healthy"))
            cause = "unhealthy"
        peer = self._peer_replaced(want)
        if cause is None and peer is not None:
            # Its network stack, or a connection it holds, goes with the old
            # container of `peer` (Compose's `depends_on.restart`).
            changes.append(FieldChange("depends_on", None, f"{peer} recreated"))
            cause = "dependency_recreated"
        if cause is not None:
            self.replaced.add((want.stack, want.service.name))
            new_image = self.observed.image(want.spec.image) or image
            carry = carry_volumes(want.spec, obs, new_image.config if new_image else None)
            self.found.warn(*carry.left)
            action = self._action("recreate", want, cause, "drift", obs, tuple(changes))
            self.found.add("converge", replace(action, carried_volumes=carry.carried))
            return
        if changes:
            reason = "in-place change"
            update = self._action("update", want, "in_place", reason, obs, tuple(changes))
            self.found.add("converge", update)
        self._plan_state(want, obs)

    def _plan_state(self, want: DesiredContainer, obs: ObservedContainer) -> None:
        running = obs.status in _RUNNING
        if want.state == "stopped" and running:
            change = FieldChange("state", obs.status, "stopped")
            stop = self._action("stop", want, "state_stopped", "state: stopped", obs, (change,))
            self.found.add("release", stop)
        elif want.state == "running" and not running:
            if want.run_once and obs.status == "exited" and obs.exit_code == 0:
                return  # a one-shot job that completed is converged
            old = f"{obs.status} ({obs.exit_code})" if obs.status == "exited" else obs.status
            change = FieldChange("state", old, "running")
            start = self._action("start", want, "not_running", "not running", obs, (change,))
            self.found.add("converge", start)

    def _kept(self, obs: ObservedContainer) -> bool:
        """Whether ``obs`` is a declared container's kept previous container.

        It stays, stopped, for a rollback (docs/rollouts.md) until a later
        rollout of that container supersedes it or the stack stops declaring
        the container.  Running, it is a leftover of an interrupted run.
        """
        base = kept_base(obs.name)
        want = self.desired.container(base) if base is not None else None
        declared = want is not None and want.state != "absent"
        return declared and obs.status not in _RUNNING

    def _plan_orphans(self) -> None:
        for obs in self.observed.containers:
            if obs.stack not in self.desired.stacks or self.desired.container(obs.name):
                continue
            if self._kept(obs) or (obs.stack, obs.service) in self.desired.inactive:
                continue  # a kept previous container, or a service of an inactive profile
            identity = self.desired.identity_of(obs.stack)
            if identity is not None and not same_file(obs.identity, identity):
                continue  # another file's stack of the same name: never ours to remove
            # Safe: the container carries the labels of a stack being applied
            # (made by its file, or before files were labelled), and that
            # stack no longer declares it on this host.
            self.found.add(
                "release",
                Action(
                    host=self.desired.host,
                    kind="remove",
                    resource=obs.name,
                    reason=f"stack {obs.stack} no longer declares it on this host",
                    reason_code="orphan",
                    container_id=obs.id,
                    owner_stack=obs.stack,
                    stop_timeout=obs.spec.stop_timeout,
                ),
            )


def plan_host(
    desired: HostDesired, observed: Observed, proxy: ObservedProxy | None = None
) -> HostPlan:
    """The ordered actions that bring ``observed`` to ``desired`` on one host.

    ``proxy``: the host's HAProxy as observed; None (not observed) plans no proxy lines.
    """
    found = Findings(desired.host)
    if proxy is not None and not proxy.owners:
        # Whose a backend is when its line does not say: its containers' file.
        proxy = replace(proxy, owners=container_files(observed))
    # Errors and warnings are listed in this order: ownership, containers,
    # networks, volumes, images; the actions by phase (see Findings).
    found.warn(*stack_file_warnings(desired, observed))
    backend_errors, backend_warnings = foreign_backends(desired, proxy)
    found.warn(*backend_warnings)
    _ContainerPlanner(desired, observed, found).plan()
    plan_networks(desired, observed, found)
    plan_volumes(desired, observed, found)
    plan_images(desired, observed, found)
    for error in backend_errors:
        found.error(error)
    plan = found.host_plan([c.name for c in _topo_order(desired.containers)])
    return replace(
        plan,
        proxy=host_proxy_actions(desired.host, desired, proxy),
        proxy_notes=host_proxy_notes(desired, proxy),
    )

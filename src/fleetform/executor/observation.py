"""Observe every targeted host in one round trip each, and plan it.

One shell command per host (``fleetform.observe.sections``) runs the parts
of the engine deploy's own fact script and, as part ``docker``, the Docker
state script (``observe_command``), and, as part ``locks``, the deploy
locks held on the stacks (``fleetform.runlog.lock``).  From them come the host's plan: engine
changes first, then container, network, volume and image actions from the
pure ``plan_host``.  The engine state is kept (``engine_states``): the engine
deploy of ``apply`` runs against it instead of gathering it again.

A host whose Docker engine is missing or down (``EngineUnavailable``) is
planned against an empty host (apply installs and starts the engine before
anything else) and listed in ``engine_pending``, so apply observes and plans
it again once the engine runs.

A caller may add parts of its own (``extra``: ``fleetform status`` reads the
revisions and verify results in the same round trip); their output is kept
in ``Observation.extra_parts``, whatever became of the plan.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fleetform.engine.advisories import Assessment, assess, load_advisories
from fleetform.engine.changes import engine_changes
from fleetform.engine.layers import HostLayers, parse_layers
from fleetform.engine.layers_script import layer_sections
from fleetform.engine.policy import policy_verdict, recheck_note, unjudged
from fleetform.engine.settings import EngineSettings
from fleetform.engine.state import FACT_SECTIONS, EngineState, engine_state_from_sections
from fleetform.inventory import TargetHost
from fleetform.model import EnginePolicy, Stack
from fleetform.observe import (
    EngineUnavailable,
    ObserveError,
    Section,
    observe_command,
    parse_observed,
    sectioned_script,
    split_sections,
)
from fleetform.plan import HostPlan, Plan, plan_host
from fleetform.plan.desired import HostDesired, desired_for_host, project_paths
from fleetform.plan.observed import Observed
from fleetform.plan.projectfiles import observe_script, parse_observed_paths
from fleetform.plan.proxy import container_files, slot_targets
from fleetform.proxy.host import HAPX, ObservedProxy, parse_observed_proxy
from fleetform.proxy.host import OBSERVE_SCRIPT as PROXY_SCRIPT
from fleetform.proxy.slots import parse_read, read_script
from fleetform.revisions.host import (
    StackNumbers,
    digest_key_script,
    numbers_script,
    parse_digest_key,
    parse_numbers_lines,
)
from fleetform.runlog.lock import HeldLock, parse_lock_lines
from fleetform.runlog.lock import state_command as lock_state_command
from fleetform.secrets import SECRET_FILES_DIR

#: the part of the host script that holds the Docker state document
DOCKER_PART = "docker"
#: the part that lists the deploy locks held on the stacks (fleetform.runlog.lock)
LOCKS_PART = "locks"
#: the part that gives each stack's revision numbers (fleetform.revisions.host)
REVISIONS_PART = "revisions"
#: the part that reads the host's HAProxy: package, service, haproxy.cfg (fleetform.proxy.host)
PROXY_PART = "proxy"
#: the part that reads the runtime slots of the host's proxied services and
#: their replicas' addresses: the plan sees slot drift (fleetform.plan.proxy)
PROXY_SLOTS_PART = "proxy-slots"
#: the part that gives the host's digest key, for mounted secrets (fleetform.plan.secrets)
KEY_PART = "digest-key"
#: the part that lists the host's secret files (names only): a reboot empties the tmpfs
SECRET_FILES_PART = "secret-files"
#: the part that says which uploaded project files and data folders the host has
PROJECT_PART = "project-files"
_FILES = shlex.quote(SECRET_FILES_DIR)
SECRET_FILES_SCRIPT = f"if [ -d {_FILES} ]; then find {_FILES} -mindepth 2 -maxdepth 2 -type f; fi"


@dataclass
class Observation:
    desired: dict[str, HostDesired] = field(default_factory=dict)
    plans: dict[str, HostPlan] = field(default_factory=dict)
    #: hosts that could not be observed -> why
    errors: dict[str, str] = field(default_factory=dict)
    engine_pending: set[str] = field(default_factory=set)
    #: host -> its engine as observed for the plan (what the engine deploy runs against)
    engine_states: dict[str, EngineState] = field(default_factory=dict)
    #: host -> deploy locks held there on the stacks, when observed (plan shows them)
    locks: dict[str, tuple[HeldLock, ...]] = field(default_factory=dict)
    #: host -> stack -> its revision numbers there, when observed (apply's rollout says
    #: which revision it goes from and to)
    revisions: dict[str, dict[str, StackNumbers]] = field(default_factory=dict)
    #: host -> its HAProxy as observed (package, service, haproxy.cfg)
    proxies: dict[str, ObservedProxy] = field(default_factory=dict)
    #: host -> its engine policy (advisories: fail), checked again on the host after the
    #: engine deploy and before any container is changed: its engine did not run when
    #: observed, or the plan's engine changes install packages that may carry the fixes
    policy_rechecks: dict[str, EnginePolicy] = field(default_factory=dict)
    #: host -> the caller's own parts (``extra``) as the host printed them
    extra_parts: dict[str, dict[str, Section]] = field(default_factory=dict)

    def plan(self, failures: Mapping[str, str]) -> Plan:
        return Plan.from_hosts(self.plans.values(), errors={**failures, **self.errors})


def host_command(
    desired: HostDesired,
    advisory_ids: Sequence[str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """The one command that observes a host: engine, Docker state, locks, revision numbers,
    and, with ``advisory_ids`` (the host has an engine policy), the engine's layers;
    then the caller's ``extra`` parts (name, script)."""
    return sectioned_script(
        [
            *FACT_SECTIONS,
            *(layer_sections(advisory_ids) if advisory_ids is not None else ()),
            (DOCKER_PART, observe_command(desired)),
            (LOCKS_PART, lock_state_command(desired.stacks)),
            (REVISIONS_PART, numbers_script(desired.stacks)),
            (PROXY_PART, PROXY_SCRIPT),
            (PROXY_SLOTS_PART, f"{HAPX}\n{read_script(slot_targets(desired))}"),
            (KEY_PART, digest_key_script(create=mounts_secrets(desired))),
            (SECRET_FILES_PART, SECRET_FILES_SCRIPT),
            (PROJECT_PART, observe_script(project_paths(desired))),
            *extra,
        ]
    )


def mounts_secrets(desired: HostDesired) -> bool:
    """Whether a container of ``desired`` mounts secrets (the host's key is made then)."""
    return any(c.secrets and c.state != "absent" for c in desired.containers)


def split_output(stdout: str) -> tuple[dict[str, Section], str]:
    """The host command's parts, and the Docker state document apart."""
    parts = split_sections(stdout)
    docker = parts.get(DOCKER_PART)
    if docker is None:
        raise ObserveError("unexpected observation output (no Docker state section)")
    return parts, docker.text


def observe_and_plan(
    session: Any,
    stacks: list[Stack],
    targets: Mapping[str, TargetHost],
    engines: Mapping[str, EngineSettings],
    extra: Sequence[tuple[str, str]] = (),
) -> Observation:
    obs = Observation()
    for name, target in targets.items():
        obs.desired[name] = desired_for_host(stacks, name, target.groups | {name})
    advisories = load_advisories() if any(_checks_advisories(e) for e in engines.values()) else ()
    ids = tuple(n for a in advisories for n in a.names)

    def command(host: Any) -> str:
        checked = _checks_advisories(engines[host.name])
        return host_command(obs.desired[host.name], ids if checked else None, extra)

    results = session.run_everywhere(command)
    for name, result in results.items():
        if not result.ok and not result.stdout.strip():
            obs.errors[name] = f"cannot observe the host: {result.stderr.strip()[-500:]}"
            continue
        obs.extra_parts[name] = _extra_parts(result.stdout, extra)
        try:
            parts, docker_doc = split_output(result.stdout)
            if LOCKS_PART in parts:
                obs.locks[name] = parse_lock_lines(parts[LOCKS_PART].text)
            if REVISIONS_PART in parts:
                obs.revisions[name] = parse_numbers_lines(parts[REVISIONS_PART].text)
            proxy = _observed_proxy(parts, obs.desired[name])
            if proxy is not None:
                obs.proxies[name] = proxy
            engine_state = engine_state_from_sections(parts)
            engine = engine_changes(engines[name], engine_state)
        except (ObserveError, ValueError) as exc:
            obs.errors[name] = str(exc)
            continue
        key = parse_digest_key(parts[KEY_PART].text) if KEY_PART in parts else None
        listed = parts.get(SECRET_FILES_PART)
        files = None if listed is None or listed.rc != 0 else frozenset(listed.text.splitlines())
        project = parts.get(PROJECT_PART)
        paths = None if project is None or project.rc != 0 else parse_observed_paths(project.text)
        try:
            observed = replace(
                parse_observed(docker_doc), digest_key=key, secret_files=files, project_paths=paths
            )
            hp = plan_host(obs.desired[name], observed, _with_owners(obs, name, observed))
        except EngineUnavailable as exc:
            obs.engine_pending.add(name)
            hp = plan_host(obs.desired[name], Observed(digest_key=key), proxy)
            note = f"{exc}: containers are planned against an empty host"
            hp = replace(hp, warnings=(*hp.warnings, note))
        except ObserveError as exc:
            obs.errors[name] = str(exc)
            continue
        policy = engines[name].policy
        if policy is not None and _checks_advisories(engines[name]):
            layers = parse_layers(name, result.stdout)
            found = assess(layers, advisories)
            hp = _with_policy(obs, replace(hp, engine=engine), policy, layers, found)
        obs.plans[name] = replace(hp, engine=engine)
        obs.engine_states[name] = engine_state
    return obs


def _extra_parts(stdout: str, extra: Sequence[tuple[str, str]]) -> dict[str, Section]:
    """The caller's own parts of a host's output (none asked: nothing to split)."""
    if not extra:
        return {}
    parts = split_sections(stdout)
    return {name: parts[name] for name, _ in extra if name in parts}


def _observed_proxy(parts: Mapping[str, Any], desired: HostDesired) -> ObservedProxy | None:
    """The host's proxy as read, with its runtime slots; None where the script did not run."""
    if PROXY_PART not in parts:
        return None
    proxy = parse_observed_proxy(parts[PROXY_PART].text)
    if PROXY_SLOTS_PART in parts:
        proxy = replace(
            proxy, slots=parse_read(parts[PROXY_SLOTS_PART].text, slot_targets(desired))
        )
    return proxy


def _with_owners(obs: Observation, host: str, observed: Observed) -> ObservedProxy | None:
    """The host's proxy with whose each backend is by its containers (when its line
    does not say): the plan and the executor keep another stack file's backends."""
    proxy = obs.proxies.get(host)
    if proxy is not None:
        proxy = obs.proxies[host] = replace(proxy, owners=container_files(observed))
    return proxy


def _with_policy(
    obs: Observation,
    hp: HostPlan,
    policy: EnginePolicy,
    layers: HostLayers,
    found: tuple[Assessment, ...],
) -> HostPlan:
    """The host's plan with its engine policy's verdict (docs/engine.md)."""
    lines, errors = policy_verdict(policy, found)
    unread = unjudged(policy, layers)
    if unread:
        errors = (*errors, unread)
    installs = any(c.startswith("install packages") for c in hp.engine)
    if policy.advisories == "fail" and (installs or hp.host in obs.engine_pending):
        # The engine this apply installs or starts decides: checked on the host
        # after the engine deploy (fleetform.executor.operations.containers).
        obs.policy_rechecks[hp.host] = policy
        note = recheck_note(policy, found)
        return replace(hp, advisories=lines, warnings=(*hp.warnings, note))
    return replace(hp, advisories=lines, errors=(*hp.errors, *errors))


def _checks_advisories(settings: EngineSettings) -> bool:
    """A stack on the host has an ``engine:`` section and its policy is not ``ignore``."""
    return settings.policy is not None and settings.policy.advisories != "ignore"

"""The files the agent and reconciler deploys write: pure text, golden-tested.

Example::

    >>> print(local_inventory("lab-2", ["web"]), end="")
    # Written by fleetform's agent deploy: in pull mode this host is itself
    # (@local), under the name and groups the fleet's inventory gives it, so
    # stacks that name lab-2 or its groups select it.
    globals().update({'lab-2': ['@local'], 'web': ['@local']})
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from fleetform.agent.settings import AgentSettings

VENV = PurePosixPath("/opt/fleetform/venv")
FLEETFORM = VENV / "bin" / "fleetform"
WHEELS = PurePosixPath("/opt/fleetform/wheels")
CONF_DIR = PurePosixPath("/etc/fleetform/gitops")
SSH_KEY = CONF_DIR / "ssh_key"
KNOWN_HOSTS = CONF_DIR / "known_hosts"
LOCAL_INVENTORY = CONF_DIR / "inventory.py"
STATE_DIR = PurePosixPath("/var/lib/fleetform/gitops")
REPORTS = STATE_DIR / "reports"
#: one cache (clone and run state) per unit: the agent and a controller on one
#: host follow the same repository for different targets
CACHE = STATE_DIR / "cache"

AGENT = "fleetform-agent"
RECONCILER = "fleetform-reconciler"


def env_path(unit: str) -> PurePosixPath:
    """Root-only environment of ``unit``: repository, SOPS key location, notification URLs.

    One per unit: an agent and a controller on one host may follow different
    repositories, and removing one must leave the other's alone.
    """
    return CONF_DIR / f"{unit}.env"


def age_key_path(unit: str) -> PurePosixPath:
    return CONF_DIR / f"{unit}.age.key"


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part, for text others may read.

    >>> without_credentials("https://deploy:tok@git.example/ops.git")
    'https://git.example/ops.git'
    """
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url


def local_inventory(name: str, groups: Iterable[str]) -> str:
    """An inventory file making ``@local`` answer to ``name`` and ``groups``."""
    keys = [name, *sorted(set(groups) - {name, "@local"})]
    mapping = ", ".join(f"{k!r}: ['@local']" for k in keys)
    return (
        "# Written by fleetform's agent deploy: in pull mode this host is itself\n"
        "# (@local), under the name and groups the fleet's inventory gives it, so\n"
        f"# stacks that name {name} or its groups select it.\n"
        f"globals().update({{{mapping}}})\n"
    )


def reconcile_argv(settings: AgentSettings, inventory: str, *, once: bool, unit: str) -> list[str]:
    """``fleetform reconcile`` as the unit runs it (URLs come from its env file)."""
    # the repository comes from the env file (FLEETFORM_REPO): its URL may carry a token
    argv = [str(FLEETFORM), "reconcile"]
    if settings.ref:
        argv += ["--ref", settings.ref]
    argv += ["-i", inventory]
    argv += ["--once"] if once else ["--every", settings.every]
    argv += ["--drift", settings.drift, "--report-dir", str(REPORTS / unit)]
    argv += ["--cache-dir", str(CACHE / unit)]
    return argv + list(settings.stacks)


def env_file(settings: AgentSettings, unit: str) -> str:
    """Root-only environment of ``unit``: the repository, the SOPS key and the Apprise URLs."""
    lines = ["# Written by fleetform's gitops deploy; root only (notification URLs carry tokens)."]
    lines.append(f"FLEETFORM_REPO={shlex.quote(settings.repo)}")
    if settings.age_key is not None:
        lines.append(f"SOPS_AGE_KEY_FILE={age_key_path(unit)}")
    if settings.notify:
        lines.append(f"FLEETFORM_NOTIFY={shlex.quote(' '.join(settings.notify))}")
    return "\n".join(lines) + "\n"


def _shown(settings: AgentSettings) -> str:
    return without_credentials(settings.repo).replace("%", "%%")


def _exec(argv: Sequence[str]) -> str:
    # systemd's ExecStart quoting is close to the shell's for these values;
    # `%` is systemd's specifier character and must be doubled.
    return shlex.join(argv).replace("%", "%%")


def agent_service(settings: AgentSettings) -> str:
    """Pull mode: one reconcile of this host against itself."""
    argv = reconcile_argv(settings, str(LOCAL_INVENTORY), once=True, unit=AGENT)
    return (
        "[Unit]\n"
        f"Description=fleetform pull mode: converge this host to {_shown(settings)}\n"
        "Wants=network-online.target\n"
        "After=network-online.target docker.service\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "Environment=HOME=/root\n"
        f"EnvironmentFile=-{env_path(AGENT)}\n"
        f"ExecStart={_exec(argv)}\n"
        # 130: stopped (SIGTERM) mid-run, which is not a failure of the unit
        "SuccessExitStatus=130\n"
    )


def agent_timer(settings: AgentSettings) -> str:
    """Pull mode: how often, spread by a random delay so hosts don't all fetch at once."""
    return (
        "[Unit]\n"
        "Description=fleetform pull mode: periodic reconcile\n"
        "\n"
        "[Timer]\n"
        "OnBootSec=1min\n"
        f"OnUnitActiveSec={settings.every}\n"
        f"RandomizedDelaySec={settings.delay}\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )


def reconciler_service(settings: AgentSettings) -> str:
    """A controller: ``reconcile --every`` converging the fleet over SSH."""
    inventory = settings.inventory or "inventory.py"
    return (
        "[Unit]\n"
        f"Description=fleetform controller: converge the fleet to {_shown(settings)}\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "Environment=HOME=/root\n"
        f"EnvironmentFile=-{env_path(RECONCILER)}\n"
        f"ExecStart={_exec(reconcile_argv(settings, inventory, once=False, unit=RECONCILER))}\n"
        "SuccessExitStatus=130\n"
        "Restart=on-failure\n"
        "RestartSec=30s\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )

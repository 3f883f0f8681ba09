"""Docker Compose keys that fleetform does not read, so that an unknown key that
is valid Compose is told so instead of being taken for a typo.

The names follow the Compose specification's schema (top level and service).
Keys fleetform reads under another name point to that name.
"""

from __future__ import annotations

from fleetform.stackfile.problems import DocPath

TOP_LEVEL = frozenset({"configs", "include", "models", "secrets"})

SERVICE = frozenset(
    {
        "annotations",
        "attach",
        "blkio_config",
        "cgroup",
        "cgroup_parent",
        "configs",
        "container_name",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpu_shares",
        "cpus",
        "cpuset",
        "credential_spec",
        "develop",
        "device_cgroup_rules",
        "devices",
        "dns_opt",
        "dns_search",
        "domainname",
        "expose",
        "extends",
        "external_links",
        "gpus",
        "group_add",
        "ipc",
        "isolation",
        "label_file",
        "links",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "mem_swappiness",
        "memswap_limit",
        "models",
        "network_mode",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "platform",
        "post_start",
        "pre_stop",
        "profiles",
        "provider",
        "pull_policy",
        "pull_refresh_after",
        "runtime",
        "scale",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "storage_opt",
        "tmpfs",
        "tty",
        "use_api_socket",
        "userns_mode",
        "uts",
        "volumes_from",
    }
)

# Compose keys whose meaning fleetform reads from another key.
INSTEAD = {
    "cpus": "deploy.resources.limits.cpus",
    "mem_limit": "deploy.resources.limits.memory",
    "mem_reservation": "deploy.resources.reservations.memory",
    "pull_policy": "pull",
    "scale": "deploy.replicas",
}


def unsupported(path: DocPath, key: str) -> str | None:
    """The message for ``key`` under ``path`` when it is a Compose key fleetform does not
    support, else None.

    >>> unsupported((), "secrets")
    '`secrets` is a Compose key fleetform does not support yet'
    >>> unsupported(("services", "web"), "scale")
    '`scale` is a Compose key fleetform does not support yet; use `deploy.replicas`'
    >>> unsupported((), "servces") is None
    True
    """
    if path == ():
        known = TOP_LEVEL
    elif len(path) == 2 and path[0] == "services":
        known = SERVICE
    else:
        return None
    if key not in known:
        return None
    message = f"`{key}` is a Compose key fleetform does not support yet"
    if key in INSTEAD:
        message += f"; use `{INSTEAD[key]}`"
    return message

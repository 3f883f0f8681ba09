"""Docker Compose keys, so that an unknown key that is valid Compose is told so
instead of being taken for a typo.

The names follow the Compose specification's schema (top level and service).
:data:`SERVICE` lists every service key of Compose, those fleetform reads too:
only a key fleetform's schema rejects is looked up here, so supporting one more
Compose key needs no change in this module.  Keys fleetform reads under another
name point to that name.
"""

from __future__ import annotations

from fleetform.stackfile.problems import DocPath

TOP_LEVEL = frozenset({"include", "models"})

SERVICE = frozenset(
    {
        "annotations",
        "attach",
        "blkio_config",
        "build",
        "cap_add",
        "cap_drop",
        "cgroup",
        "cgroup_parent",
        "command",
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
        "depends_on",
        "deploy",
        "develop",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "domainname",
        "entrypoint",
        "env_file",
        "environment",
        "expose",
        "extends",
        "external_links",
        "extra_hosts",
        "gpus",
        "group_add",
        "healthcheck",
        "hostname",
        "image",
        "init",
        "ipc",
        "isolation",
        "label_file",
        "labels",
        "links",
        "logging",
        "mac_address",
        "mem_limit",
        "mem_reservation",
        "mem_swappiness",
        "memswap_limit",
        "models",
        "network_mode",
        "networks",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "platform",
        "ports",
        "post_start",
        "pre_stop",
        "privileged",
        "profiles",
        "provider",
        "pull_policy",
        "pull_refresh_after",
        "read_only",
        "restart",
        "runtime",
        "scale",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "stop_grace_period",
        "stop_signal",
        "storage_opt",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "use_api_socket",
        "user",
        "userns_mode",
        "uts",
        "volumes",
        "volumes_from",
        "working_dir",
    }
)

# Compose keys whose meaning fleetform reads from another key.
INSTEAD = {
    "pull_policy": "pull",
    "scale": "deploy.replicas",
}


_SWARM = "swarm:"  # a Swarm key: a plain engine has no scheduler; then the advice
_LATER = ""  # "does not support yet", with no advice

#: Compose keys below the service level, by the path they sit under (``*``: any
#: name): what fleetform says instead of "unknown key".  Empty: not supported yet.
NESTED: dict[tuple[str, ...], dict[str, str]] = {
    ("services", "*", "deploy"): {
        "mode": f"{_SWARM}for `global`, list the hosts in `hosts` (one replica on each)",
        "placement": f"{_SWARM}place services with `hosts` (inventory groups or hosts)",
        "endpoint_mode": f"{_SWARM}containers are reached by name on the stack's network",
        "labels": f"{_SWARM}use the service's `labels`",
        "restart_policy": f"{_SWARM}use the service's `restart`",
    },
    ("services", "*", "deploy", "resources", "limits"): {"pids": _LATER},
    ("services", "*", "deploy", "resources", "reservations"): {
        "devices": "for GPUs and other host devices, use the service's `devices`",
        "generic_resources": f"{_SWARM}leave it out",
    },
    ("services", "*", "build"): dict.fromkeys(
        (
            "additional_contexts",
            "cache_from",
            "cache_to",
            "entitlements",
            "isolation",
            "no_cache",
            "platforms",
            "privileged",
            "pull",
            "secrets",
            "shm_size",
            "ssh",
            "tags",
            "ulimits",
        ),
        _LATER,
    ),
    ("services", "*", "networks", "*"): dict.fromkeys(
        (
            "driver_opts",
            "gw_priority",
            "interface_name",
            "ipv6_address",
            "link_local_ips",
            "mac_address",
            "priority",
        ),
        _LATER,
    ),
    ("services", "*", "ports", "*"): {
        "mode": f"{_SWARM}every port is published on its own host (`host` mode)",
        "app_protocol": _LATER,
        "name": _LATER,
    },
    ("services", "*", "volumes", "*", "bind"): dict.fromkeys(
        ("propagation", "create_host_path", "recursive"), _LATER
    ),
    ("networks", "*"): {"enable_ipv6": _LATER, "enable_ipv4": _LATER},
}


def _nested(path: DocPath, key: str) -> str | None:
    for pattern, keys in NESTED.items():
        matches = len(pattern) == len(path) and all(
            p == "*" or p == q for p, q in zip(pattern, path, strict=True)
        )
        if matches and key in keys:
            if keys[key].startswith(_SWARM):
                return (
                    f"`{key}` is a Swarm key, which a plain Docker engine cannot honour; "
                    + keys[key].removeprefix(_SWARM)
                )
            advice = f"; {keys[key]}" if keys[key] else ""
            return f"`{key}` is a Compose key fleetform does not support yet{advice}"
    return None


def unsupported(path: DocPath, key: str) -> str | None:
    """The message for ``key`` under ``path`` when it is a Compose key fleetform does not
    support, else None.

    >>> unsupported((), "models")
    '`models` is a Compose key fleetform does not support yet'
    >>> unsupported(("services", "web"), "scale")
    '`scale` is a Compose key fleetform does not support yet; use `deploy.replicas`'
    >>> unsupported((), "servces") is None
    True
    >>> unsupported(("services", "web", "deploy"), "placement")  # doctest: +ELLIPSIS
    '`placement` is a Swarm key, which a plain Docker engine cannot honour; place services ...'
    """
    if path == ():
        known = TOP_LEVEL
    elif len(path) == 2 and path[0] == "services":
        known = SERVICE
    else:
        return _nested(path, key)
    if key not in known:
        return None
    message = f"`{key}` is a Compose key fleetform does not support yet"
    if key in INSTEAD:
        message += f"; use `{INSTEAD[key]}`"
    return message

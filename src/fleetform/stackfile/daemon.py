"""Checks of daemon.json values that dockerd would refuse at start.

Pure.  dockerd reads daemon.json only when it starts: a value it refuses
leaves the host without an engine after the restart that applies it.  The
stack file schema already fixes the keys and their JSON types; these checks
cover the values inside them (driver names, CIDRs, paths, sizes...), so a
mistake fails ``fleetform validate`` and ``plan`` instead of a host.

Example::

    >>> daemon_problems({"data-root": "docker", "log-driver": "json-file"})
    [(('data-root',), '`docker` is not an absolute path')]
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

KeyPath = tuple[str | int, ...]
Problems = list[tuple[KeyPath, str]]

#: Logging drivers built into dockerd on Linux (Debian's docker.io and docker-ce).
LOG_DRIVERS = (
    "awslogs",
    "fluentd",
    "gcplogs",
    "gelf",
    "journald",
    "json-file",
    "local",
    "logentries",
    "none",
    "splunk",
    "syslog",
)
STORAGE_DRIVERS = (
    "btrfs",
    "devicemapper",
    "fuse-overlayfs",
    "overlay2",
    "vfs",
    "zfs",
)
#: ulimit names dockerd knows (go-units ParseUlimit).
ULIMITS = (
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
)
_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)? ?[kKmMgGtTpP]?[iI]?[bB]?$")
_PLUGIN = re.compile(r"^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
_BOOLS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")
_PATH_KEYS = ("data-root", "exec-root", "pidfile", "tlscacert", "tlscert", "tlskey")


def daemon_problems(config: Mapping[str, Any]) -> Problems:
    """(path inside daemon.json, message) for every value dockerd would refuse."""
    out: Problems = []
    for key, check in _CHECKS.items():
        if key in config:
            for sub, message in check(config[key]):
                out.append(((key, *sub), message))
    for key in _PATH_KEYS:
        if isinstance(config.get(key), str):
            out += [((key,), m) for m in _absolute_path(config[key])]
    return out


def _log_driver(value: Any) -> Problems:
    if not isinstance(value, str) or value in LOG_DRIVERS or _PLUGIN.match(value):
        return []
    return [
        (
            (),
            f"`{value}` is not a logging driver{_did_you_mean(value, LOG_DRIVERS)}; built in: "
            f"{', '.join(LOG_DRIVERS)}; give a logging plugin with its tag (e.g. `loki:latest`)",
        )
    ]


def _log_opts(value: Any) -> Problems:
    if not isinstance(value, Mapping):
        return []
    out: Problems = []
    for key, opt in sorted(value.items()):
        text = str(opt)
        if key in ("max-size", "max-buffer-size") and not _SIZE.match(text):
            out.append(((key,), f"`{text}` is not a size (e.g. 10m, 512k, 1g)"))
        elif key == "max-file" and not (text.isdigit() and int(text) >= 1):
            out.append(((key,), f"`{text}` is not a number of files (1 or more)"))
        elif key == "compress" and text not in _BOOLS:
            out.append(((key,), f"`{text}` is not true or false"))
        elif key == "mode" and text not in ("blocking", "non-blocking"):
            out.append(((key,), f"`{text}` is not a log mode (blocking or non-blocking)"))
    return out


def _storage_driver(value: Any) -> Problems:
    if not isinstance(value, str) or value in STORAGE_DRIVERS:
        return []
    hint = _did_you_mean(value, STORAGE_DRIVERS)
    return [((), f"`{value}` is not a storage driver{hint} ({', '.join(STORAGE_DRIVERS)})")]


def _bip(value: Any) -> Problems:
    # dockerd reads bip as the bridge's own address with a prefix length.
    try:
        if isinstance(value, str) and "/" in value and ipaddress.ip_interface(value).version == 4:
            return []
    except ValueError:
        pass
    return [((), f"`{value}` is not an address with a prefix length (e.g. 172.26.0.1/16)")]


def _cidr(version: int) -> Callable[[Any], Problems]:
    def check(value: Any) -> Problems:
        if _network(value, version) is None:
            return [((), f"`{value}` is not an IPv{version} network in CIDR notation")]
        return []

    return check


def _network(
    value: Any, version: int | None = None
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return net if version is None or net.version == version else None


def _address_pools(value: Any) -> Problems:
    out: Problems = []
    for i, pool in enumerate(value if isinstance(value, list) else []):
        if not isinstance(pool, Mapping):
            continue
        net = _network(pool.get("base"))
        if net is None:
            out.append(((i, "base"), f"`{pool.get('base')}` is not a network in CIDR notation"))
            continue
        size = pool.get("size")
        if isinstance(size, int) and not net.prefixlen <= size <= net.max_prefixlen:
            out.append(
                (
                    (i, "size"),
                    f"{size} must be between the base's prefix length {net.prefixlen} "
                    f"and {net.max_prefixlen}",
                )
            )
    return out


def _addresses(value: Any) -> Problems:
    out: Problems = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        try:
            ipaddress.ip_address(item)
        except ValueError:
            out.append(((i,), f"`{item}` is not an IP address"))
    return out


def _insecure_registries(value: Any) -> Problems:
    out: Problems = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        if "://" in str(item):
            out.append(((i,), f"`{item}` must be host[:port] or a CIDR, without a scheme"))
        elif _network(item) is None and not _HOST_PORT.match(str(item)):
            out.append(((i,), f"`{item}` is not a registry host[:port] or a CIDR"))
    return out


def _mirrors(value: Any) -> Problems:
    out: Problems = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        url = urlsplit(str(item))
        if url.scheme not in ("http", "https") or not url.netloc:
            out.append(((i,), f"`{item}` is not an http:// or https:// URL"))
        elif url.path not in ("", "/") or url.query or url.fragment:
            out.append(((i,), f"`{item}`: a mirror URL has no path, query or fragment"))
    return out


def _pairs(value: Any) -> Problems:
    out: Problems = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        key, sep, _ = str(item).partition("=")
        if not sep or not key:
            out.append(((i,), f"`{item}` is not key=value"))
    return out


def _exec_opts(value: Any) -> Problems:
    out = _pairs(value)
    for i, item in enumerate(value if isinstance(value, list) else []):
        key, _, setting = str(item).partition("=")
        if key == "native.cgroupdriver" and setting not in ("cgroupfs", "systemd"):
            out.append(((i,), f"`{setting}` is not a cgroup driver (cgroupfs or systemd)"))
    return out


def _size(value: Any) -> Problems:
    if isinstance(value, str) and _SIZE.match(value):
        return []
    return [((), f"`{value}` is not a size (e.g. 64m, 1g)")]


def _name(value: Any) -> Problems:
    if isinstance(value, str) and _NAME.match(value):
        return []
    return [((), f"`{value}` is not a runtime name")]


def _mtu(value: Any) -> Problems:
    if isinstance(value, int) and not 68 <= value <= 65535:
        return [((), f"{value} is not an MTU (68-65535)")]
    return []


def _metrics_addr(value: Any) -> Problems:
    host, sep, port = str(value).rpartition(":")
    if sep and host and port.isdigit() and 1 <= int(port) <= 65535:
        return []
    return [((), f"`{value}` is not host:port (e.g. 127.0.0.1:9323)")]


def _ulimits(value: Any) -> Problems:
    out: Problems = []
    for name, limit in sorted((value if isinstance(value, Mapping) else {}).items()):
        if name not in ULIMITS:
            out.append(((name,), f"`{name}` is not a ulimit{_did_you_mean(name, ULIMITS)}"))
        if not isinstance(limit, Mapping):
            continue
        if limit.get("Name") != name:
            out.append(((name, "Name"), f"`{limit.get('Name')}` must be the key, `{name}`"))
        soft, hard = limit.get("Soft"), limit.get("Hard")
        if isinstance(soft, int) and isinstance(hard, int) and hard >= 0 and soft > hard:
            out.append(((name, "Soft"), f"{soft} is above the hard limit {hard}"))
    return out


def _absolute_path(value: str) -> list[str]:
    parts = value.split("/")
    if not value.startswith("/") or ".." in parts:
        return [f"`{value}` is not an absolute path"]
    if value.rstrip("/") == "":
        return [f"`{value}`: the root directory cannot be used"]
    return []


def _did_you_mean(value: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


_CHECKS: dict[str, Callable[[Any], Problems]] = {
    "log-driver": _log_driver,
    "log-opts": _log_opts,
    "storage-driver": _storage_driver,
    "bip": _bip,
    "fixed-cidr": _cidr(4),
    "fixed-cidr-v6": _cidr(6),
    "default-address-pools": _address_pools,
    "dns": _addresses,
    "insecure-registries": _insecure_registries,
    "registry-mirrors": _mirrors,
    "labels": _pairs,
    "storage-opts": _pairs,
    "exec-opts": _exec_opts,
    "default-shm-size": _size,
    "default-runtime": _name,
    "mtu": _mtu,
    "metrics-addr": _metrics_addr,
    "default-ulimits": _ulimits,
}

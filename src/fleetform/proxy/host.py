"""The host side of the proxy as shell text: observing it, installing and configuring it.

Pure builders (the executor runs what they return, :mod:`fleetform.executor.proxy`):

- :data:`OBSERVE_SCRIPT`, one section of the observation round trip: whether
  Debian's ``haproxy`` is installed (and held: ``apt-mark hold``) and
  running, the newer version the host's package lists offer (if any), and
  the text of its haproxy.cfg;
  :func:`parse_observed_proxy` reads it back;
- :func:`ensure_script`: install ``haproxy`` (and ``socat``, the runtime API
  client) when missing, upgrade it when the plan said so (:func:`held_apt`:
  the package scripts may not restart it), write the rendered file only when
  it differs, after ``haproxy -c`` passed on it (else the old file stays and
  the step fails), and reload seamlessly (``systemctl reload``: the package's
  master-worker unit re-executes the new binary and passes its listeners);
- :data:`HAPX`, a shell function that sends one runtime API line to the
  admin socket and prints the reply;
- :func:`leave_script`: a container about to stop leaves its backend first.

    >>> parse_observed_proxy("installed 1\\nactive active\\nupgrade \\n# hi").config
    '# hi\\n'
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from fleetform.proxy.config import CONFIG_FILE, SOCKET
from fleetform.proxy.runtime import ServerState

PACKAGES = ("haproxy", "socat")
_NEW = CONFIG_FILE + ".fleetform-new"
_EOF = "FLEETFORM_HAPROXY_CFG_END"

#: ``ff_hapx 'command'``: one runtime API line to the admin socket, the reply on stdout.
HAPX = (
    "ff_hapx() { printf '%s\\n' \"$1\" | "
    f"socat -t 5 stdio {shlex.quote('UNIX-CONNECT:' + SOCKET)}; }}"
)

#: Where a policy-rc.d is looked for (invoke-rc.d and deb-systemd-invoke
#: ask it before they start, stop, restart or reload a service).
POLICY_RC = "/usr/sbin/policy-rc.d"
_HOLD_MARK = "# fleetform: service actions held during a haproxy package run"

OBSERVE_SCRIPT = (
    # Status is "<wanted> ok installed": "install", or "hold" after `apt-mark hold`.
    "s=$(dpkg-query -W -f='${Status}' haproxy 2>/dev/null) || s=; "
    "case \"$s\" in *' ok installed') i=1 ;; *) i=0 ;; esac; "
    'case "$s" in \'hold \'*) echo "installed $i hold" ;; *) echo "installed $i" ;; esac; '
    'echo "active $(systemctl is-active haproxy 2>/dev/null || true)"; '
    # A newer version in the host's package lists (as apt-get update left them).
    "v=$(dpkg-query -W -f='${Version}' haproxy 2>/dev/null) || v=; "
    "c=$(apt-cache policy haproxy 2>/dev/null | sed -n 's/^ *Candidate: //p'); "
    'if [ -n "$v" ] && [ -n "$c" ] && [ "$c" != "(none)" ] '
    '&& dpkg --compare-versions "$c" gt "$v"; then echo "upgrade $v $c"; else echo upgrade; fi; '
    f"cat {shlex.quote(CONFIG_FILE)} 2>/dev/null; true"
)


@dataclass(frozen=True)
class ObservedProxy:
    """A host's HAProxy as observed: package, service, configuration text."""

    installed: bool = False
    active: bool = False
    config: str = ""
    #: (installed version, newer version the package lists offer); None: none newer
    upgrade: tuple[str, str] | None = None
    #: the package is held (``apt-mark hold``): never upgraded by fleetform
    held: bool = False
    #: backend -> (replica -> its running container's address, the backend's
    #: slots), for the host's desired proxied services (fleetform.proxy.slots.parse_read);
    #: None: not read
    slots: Mapping[str, tuple[Mapping[int, str], tuple[ServerState, ...]]] | None = None
    #: backend name (``<stack>-<service>``) -> the stack file its containers on the
    #: host are labelled with: whose a backend is when its line does not say
    #: (fleetform.plan.proxy.backend_file)
    owners: Mapping[str, str] = field(default_factory=dict)


def parse_observed_proxy(text: str) -> ObservedProxy:
    """The output of :data:`OBSERVE_SCRIPT`."""
    lines = text.split("\n")
    first = lines[0].split() if lines else []
    installed = first[:2] == ["installed", "1"]
    active = len(lines) > 1 and lines[1].strip() == "active active"
    versions = lines[2].split()[1:] if len(lines) > 2 else []
    upgrade = (versions[0], versions[1]) if installed and len(versions) == 2 else None
    config = "\n".join(lines[3:])
    # The section's text lost the file's last newline, which the file's hash covers.
    text = config + "\n" if config.strip() else ""
    return ObservedProxy(installed, active, text, upgrade, held="hold" in first[2:])


#: apt-get install, unattended; the host's haproxy.cfg (a conffile fleetform
#: rewrites) stays as it is when a new package ships another one.
APT_INSTALL = (
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
    "-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef"
)


def held_apt(args: str) -> str:
    """``apt-get install args`` with service actions of the package scripts held.

    A running HAProxy must not be restarted by a package's scripts (a restart
    closes the listening sockets: requests are refused until the new process
    listens; measured in docs/proxy.md).  For the apt run only, a
    ``policy-rc.d`` that exits 101 ("action forbidden") holds every start,
    stop, restart and reload the scripts ask for; it goes again on every
    exit of the subshell (failure or signal), and a ``policy-rc.d`` the host
    had before is put back.  The caller reloads HAProxy afterwards.
    """
    q = shlex.quote
    saved = q(POLICY_RC + ".fleetform-saved")
    policy = q(POLICY_RC)
    hold = q(f"#!/bin/sh\n{_HOLD_MARK}\nexit 101\n")
    return "; ".join(
        [
            f"( if [ -e {policy} ] && ! grep -qF {q(_HOLD_MARK)} {policy}; then "
            f"mv -f {policy} {saved} || exit 1; fi",
            f"trap 'rm -f {policy}; if [ -e {saved} ]; then mv -f {saved} {policy}; fi' EXIT",
            "trap 'exit 1' INT TERM HUP",
            f"printf {hold} > {policy} && chmod 755 {policy} || exit 1",
            f"{APT_INSTALL} {args} )",
        ]
    )


def upgrade_script(args: str = "haproxy") -> str:
    """Upgrade (``args``: what ``apt-get install`` gets) a running HAProxy with
    restarts held, then reload it seamlessly once the new binary accepts the
    file.  Prints ``fleetform-proxy-upgraded``."""
    check = f"haproxy -c -q -f {shlex.quote(CONFIG_FILE)}"
    return (
        f"{held_apt(args)} >/dev/null || exit 1; {check} >&2 || exit 1; "
        "if systemctl is-active -q haproxy; then systemctl reload haproxy || exit 1; fi; "
        "echo fleetform-proxy-upgraded"
    )


def _apt_install() -> str:
    names = " ".join(PACKAGES)
    install = f"{APT_INSTALL} {names} >/dev/null"
    # The package lists may be missing or stale on a fresh host: update once, then retry.
    return f"{{ {install} 2>/dev/null || {{ apt-get update -q >/dev/null && {install}; }}; }}"


def ensure_script(config: str, upgrade: str | None = None) -> str:
    """Install, configure and run HAProxy with ``config``; a no-op when all is so already.

    ``upgrade``: the version to upgrade haproxy to (as the plan showed it),
    restarts held; nothing when that version is installed already.
    Prints ``fleetform-proxy-reloaded`` when it reloaded or started HAProxy.
    """
    if _EOF in config:
        raise ValueError("the configuration holds the here-document's end marker")
    new, cfg = (shlex.quote(p) for p in (_NEW, CONFIG_FILE))
    missing = " ".join(f"! command -v {p} >/dev/null ||" for p in PACKAGES)
    refused = shlex.quote(
        "fleetform: the new haproxy.cfg does not pass `haproxy -c`; the old file stays"
    )
    return "\n".join(
        [
            HAPX,
            f"if {missing} false; then {_apt_install()} || exit 1; fi",
            "upgraded=",
            *(
                [
                    "if [ \"$(dpkg-query -W -f='${Version}' haproxy)\" != "
                    f"{shlex.quote(upgrade)} ]; then "
                    f"{held_apt(shlex.quote('haproxy=' + upgrade))} >/dev/null || exit 1; "
                    "upgraded=1; fi"
                ]
                if upgrade
                else []
            ),
            f"cat > {new} <<'{_EOF}'",
            config.rstrip("\n"),
            _EOF,
            "changed=",
            f"if ! cmp -s {new} {cfg}; then",
            f"  if ! haproxy -c -q -f {new} >&2; then echo {refused} >&2; rm -f {new}; exit 1; fi",
            f"  mv -f {new} {cfg}; changed=1",
            f"else rm -f {new}; fi",
            "pid=$(ff_hapx 'show info' 2>/dev/null | sed -n 's/^Pid: //p')",
            "i=0",
            "if ! systemctl is-active -q haproxy; then",
            "  systemctl enable -q haproxy 2>/dev/null; systemctl restart haproxy || exit 1",
            "  echo fleetform-proxy-reloaded",
            'elif [ -n "$changed" ] || [ -n "$upgraded" ]; then',
            "  systemctl reload haproxy || exit 1; echo fleetform-proxy-reloaded",
            # Nothing reloaded: the runtime API lines that follow still run.
            "else i=100; fi",
            # The runtime API answers from the new worker only once it runs.
            "while [ $i -lt 100 ]; do",
            "  now=$(ff_hapx 'show info' 2>/dev/null | sed -n 's/^Pid: //p')",
            '  if [ -n "$now" ] && [ "$now" != "$pid" ]; then break; fi',
            "  sleep 0.1; i=$((i+1))",
            "done",
        ]
    )


def leave_script(ref: str, drain_ns: int) -> str:
    """Take container ``ref`` out of its backend before it stops: drain, then ``maint``.

    The backend is ``<stack>-<service>`` from the container's labels; every
    slot of it that is not in maintenance and points at one of the
    container's addresses drains (no new requests; up to ``drain_ns``, less
    once its sessions are 0) and goes to ``maint``.  A host without HAProxy,
    a container in no slot, or labels that cannot name a backend: nothing to do.
    """
    q = shlex.quote
    labels = (
        '{{index .Config.Labels "fleetform.stack"}}-{{index .Config.Labels "fleetform.service"}}'
    )
    ips = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
    tenths = max(0, drain_ns // 100_000_000)
    return "\n".join(
        [
            HAPX,
            f"if [ -S {q(SOCKET)} ] && type socat >/dev/null 2>&1; then",
            f"  b=$(docker container inspect --format {q(labels)} {q(ref)} 2>/dev/null) || b=",
            f"  a=$(docker container inspect --format {q(ips)} {q(ref)} 2>/dev/null) || a=",
            # only names HAProxy reads as one word: the reply goes into the next commands
            '  case "$b" in ""|-*|*-|*[!A-Za-z0-9_.-]*) b= ;; esac',
            '  if [ -n "$b" ] && [ -n "${a% }" ]; then',
            # (ENVIRON, not awk -v: no removal command holds " -v ")
            '    for s in $(ff_hapx "show servers state $b" | '
            'FF_A=" $a " awk \'NR>2 && index(ENVIRON["FF_A"], " " $5 " ") && int($7 / 32) % 2 == 0 '
            "&& int($7 / 2) % 2 == 0 && $7 % 2 == 0 {print $4}'); do",
            '      case "$s" in *[!A-Za-z0-9_.-]*) continue ;; esac',
            '      ff_hapx "set server $b/$s state drain" >/dev/null; i=0',
            f'      while [ $i -lt {tenths} ]; do n=$(ff_hapx "show stat" | '
            'FF_B="$b" FF_S="$s" awk -F, '
            '\'$1==ENVIRON["FF_B"] && $2==ENVIRON["FF_S"] {print $5}\'); '
            '[ "${n:-0}" = 0 ] && break; sleep 0.1; i=$((i+1)); done',
            '      ff_hapx "set server $b/$s state maint" >/dev/null',
            "    done",
            "  fi",
            "fi",
        ]
    )

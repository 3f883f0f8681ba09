"""The one host script that reads the engine's layers (``fleetform engines``, plan, verify).

Pure: builds the POSIX shell parts, framed by :mod:`fleetform.observe.sections`;
:func:`fleetform.engine.layers.parse_layers` reads their output.  Each layer's
part prints where its binary is, the package that installed it (``dpkg-query
-S`` or ``rpm -qf``) with its version, the lines of that package's Debian
changelog naming the advisories being checked, and the version the binary
prints; then ``docker version`` and ``docker info`` as JSON, ``uname -r`` and
the number of shim processes.

Example::

    >>> import subprocess
    >>> out = subprocess.run(["sh", "-c", layers_script()], capture_output=True, text=True)
    >>> "@@fleetform-section bin:runc" in out.stdout
    True
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from fleetform.engine.layers import COMPONENTS
from fleetform.observe.sections import sectioned_script

_BINARY = {
    "docker-cli": "docker",
    "dockerd": "dockerd",
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd-shim-runc-v2",
    "runc": "runc",
}
_VERSION_ARGS = {
    "docker-cli": "--version",
    "dockerd": "--version",
    "containerd": "--version",
    "containerd-shim-runc-v2": "-v",
    "runc": "--version",
}
# A non-login SSH shell may lack the sbin directories (Debian puts dockerd and runc there).
_PATH = "PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH"
# dockerd can hang without answering: never let it hold the whole round trip.
_T = "$(command -v timeout >/dev/null 2>&1 && echo 'timeout 15')"
_HEADER = r"^[a-z0-9][a-z0-9.+-]* \("


def _binary_section(component: str, ids: Iterable[str]) -> str:
    """Where the binary is, its owning package and version, and that package's
    changelog lines (entry headers and lines naming one of ``ids``)."""
    ids = list(ids)
    # Only the entries that name an id are printed, each with its header line.
    awk = (
        f'/{_HEADER}/ {{ h = $0; next }} $0 ~ re {{ if (h != "") print "changelog: " h; '
        'h = ""; print "changelog: " $0 }'
    )
    # ids are [A-Za-z0-9._-] (the advisory schema): only "." needs escaping, and a
    # bracket escape means the same to every awk (-v would eat a backslash).
    pattern = "|".join(i.replace(".", "[.]") for i in ids)
    read = f"awk -v re={shlex.quote(pattern)} {shlex.quote(awk)}"
    changelog = f'[ -f "$log" ] && echo changelog_read=1 && zcat "$log" | {read}' if ids else ":"
    return f"""{_PATH}
p=$(command -v {_BINARY[component]}) || exit 3
r=$(readlink -f "$p")
echo "path=$p"
if command -v dpkg-query >/dev/null 2>&1; then
  pkg=$(dpkg-query -S "$p" 2>/dev/null | head -n1 | cut -d: -f1)
  [ -n "$pkg" ] || pkg=$(dpkg-query -S "$r" 2>/dev/null | head -n1 | cut -d: -f1)
  if [ -n "$pkg" ]; then
    echo "package=$pkg"
    echo "package_version=$(dpkg-query -W -f='${{Version}}' "$pkg" 2>/dev/null)"
    log=/usr/share/doc/$pkg/changelog.Debian.gz
    {changelog}
  fi
elif command -v rpm >/dev/null 2>&1; then
  rpm -qf --qf 'package=%{{NAME}}\\npackage_version=%{{VERSION}}-%{{RELEASE}}\\n' \\
    "$r" 2>/dev/null | grep '^package'
fi
echo "@@version"
{_T} "$p" {_VERSION_ARGS[component]} 2>&1"""


#: the same part (name and command) as the engine facts' (fleetform.engine.state), so
#: the observation of ``plan`` reads os-release once for both
OS_SECTION = ("os", "cat /etc/os-release 2>/dev/null")


def layers_script(advisory_ids: Iterable[str] = ()) -> str:
    """The one script that reads a host's engine layers (see the module doc)."""
    return sectioned_script([OS_SECTION, *layer_sections(advisory_ids)])


def layer_sections(advisory_ids: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The parts of :func:`layers_script` but os-release, for a larger host script."""
    ids = sorted(set(advisory_ids))
    return [
        ("kernel", "uname -r"),
        *((f"bin:{c}", _binary_section(c, ids)) for c in COMPONENTS),
        ("docker-version", f"{_PATH}\n{_T} docker version --format '{{{{json .}}}}'"),
        ("docker-info", f"{_PATH}\n{_T} docker info --format '{{{{json .}}}}'"),
        (
            "shims",
            # comm is cut to 15 characters: containerd-shim-runc-v2 reads
            # containerd-shim.  Only this PID namespace: a control machine
            # running the lab also sees every lab host's shims.
            # (read is a shell builtin: no process per /proc entry)
            """ns=$(readlink /proc/self/ns/pid); n=0
for d in /proc/[0-9]*; do
  c=; { read -r c < $d/comm; } 2>/dev/null
  [ "$c" = containerd-shim ] || continue
  [ "$(readlink $d/ns/pid 2>/dev/null)" = "$ns" ] && n=$((n+1))
done
echo $n""",
        ),
    ]

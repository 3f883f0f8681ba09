"""Counting SSH round trips on the host side, the same way for every tool.

sshd at ``LogLevel VERBOSE`` writes one ``Starting session: ...`` line for
every command (exec channel), shell or subsystem (sftp) it starts, and one
``Accepted publickey`` line per connection, whatever the client: paramiko
(fleetform, pyinfra) or OpenSSH with multiplexing (Ansible).  So the count is
instrumented, not estimated, and no tool is patched.

The bench reads the journal's cursor before a run and counts the lines after
it.  The reading command is itself an SSH session; its lines are left out by
its own client port (``$SSH_CLIENT``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.labhosts import Host, ssh


@dataclass(frozen=True)
class SshCounts:
    connections: int
    sessions: int  # commands executed (plus shells/subsystems, if any)


def cursor(host: Host) -> str:
    """The sshd journal's current position on ``host``."""
    out = ssh(host, "journalctl -q -t sshd -n 1 --show-cursor -o cat | sed -n 's/^-- cursor: //p'")
    return out.strip()


_COUNT = r"""set -e
set -- $SSH_CLIENT
sleep 0.3  # let journald take in the last lines of the run just finished
journalctl -q -t sshd {after} -o cat | grep -v " port $2[ :]" | \
  awk '/Starting session:/ {{s++}} /Accepted publickey/ {{c++}} END {{print c+0, s+0}}'
"""


def count_since(host: Host, position: str) -> SshCounts:
    """Connections and sessions that sshd started on ``host`` after ``position``."""
    after = f"--after-cursor='{position}'" if position else ""
    connections, sessions = ssh(host, _COUNT.format(after=after)).split()
    return SshCounts(int(connections), int(sessions))

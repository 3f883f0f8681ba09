"""The fast path of observation: one python3 process reading the Docker API.

The shell form of ``observe_command`` runs about ten ``docker`` CLI
processes, each of which costs 50-100 ms of start-up on a small host.  Where
the host has python3 (Debian and Ubuntu servers do), this script asks
dockerd's API over its unix socket for the same data and prints the same
document, in about 50 ms in all.  Anything unexpected (no python3, no socket,
a permission error, an API error) makes it exit non-zero before printing, and
the caller falls back to the CLI script, so the two paths never mix.

The document is the one described in ``fleetform.observe``: ``docker
inspect`` prints exactly what the API returns, so both paths feed the same
parser.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

SOCKET = "/var/run/docker.sock"

# Runs on the host under python3 (3.7+), standard library only.  argv[1:]
# are the declared image references.
SCRIPT = r"""
import http.client, json, socket, sys
from urllib.parse import quote
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect("/var/run/docker.sock")
c = C("docker")
def get(path, missing_ok=False):
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    if r.status == 404 and missing_ok:
        return None
    if r.status != 200:
        raise SystemExit(3)
    return json.loads(body)
f = quote(json.dumps({"label": ["fleetform.stack"]}))
doc = {"fleetform_observe": 1, "server_version": get("/version")["Version"]}
ids = [x["Id"] for x in get("/containers/json?all=1&filters=" + f)]
doc["containers"] = [x for x in (get("/containers/%s/json" % i, True) for i in ids) if x]
doc["names"] = [n.lstrip("/") for x in get("/containers/json?all=1") for n in x["Names"]]
doc["networks"] = get("/networks")
doc["volumes"] = get("/volumes").get("Volumes") or []
def image(ref):
    found = get("/images/%s/json" % quote(ref, safe="/:@"), True)
    return [found] if found else []
doc["images"] = [{"ref": r, "inspect": image(r)} for r in sys.argv[1:]]
used = sorted({x["Image"] for x in doc["containers"]})
doc["container_images"] = [i for u in used for i in image(u)]
sys.stdout.write(json.dumps(doc) + "\n")
"""


def api_command(refs: Sequence[str]) -> str:
    """The shell words that run :data:`SCRIPT` (non-zero exit when it can't)."""
    words = ["python3", "-c", SCRIPT, *refs]
    return f"[ -S {SOCKET} ] && command -v python3 >/dev/null 2>&1 && {shlex.join(words)}"

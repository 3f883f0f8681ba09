"""The fast path of observation: one python3 process reading the Docker API.

The shell form of ``observe_command`` runs about ten ``docker`` CLI
processes, each of which costs 50-100 ms of start-up on a small host.  Where
the host has python3 (Debian and Ubuntu servers do), this script asks
dockerd's API over its unix socket for the same data and prints the same
document, in about 50 ms in all.  Anything unexpected (no python3, no socket,
a permission error, an API error) makes it exit non-zero before printing, and
the caller falls back to the CLI script, so the two paths never mix.

The document is the one described in ``fleetform.observe.docker``: ``docker
inspect`` prints exactly what the API returns, so both paths feed the same
parser.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

SOCKET = "/var/run/docker.sock"

#: Seconds dockerd may take to answer one registry question.
REGISTRY_TIMEOUT = 20

# Runs on the host under python3 (3.7+), standard library only.  argv[1:]
# are the declared image references, then ``--registry`` and the references
# whose registry digest is asked for (``pull: always``).
SCRIPT = r"""
import base64, http.client, json, os, socket, sys
from urllib.parse import quote
class C(http.client.HTTPConnection):
    def __init__(self, timeout=60):
        http.client.HTTPConnection.__init__(self, "docker")
        self.wait = timeout
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.wait)
        self.sock.connect("/var/run/docker.sock")
c = C()
args = sys.argv[1:]
ask = args[args.index("--registry") + 1:] if "--registry" in args else []
refs = args[:args.index("--registry")] if "--registry" in args else args
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
doc["images"] = [{"ref": r, "inspect": image(r)} for r in refs]
def login(ref):
    # The credentials `docker login` stored for the ref's registry, sent as
    # `docker pull` would send them (credential helpers are not read).
    first = ref.split("/")[0]
    host = first if "/" in ref and ("." in first or ":" in first or first == "localhost") else None
    try:
        with open(os.path.expanduser("~/.docker/config.json")) as fh:
            auths = json.load(fh).get("auths") or {}
    except (OSError, ValueError):
        return {}
    keys = [host, "https://" + host] if host else ["https://index.docker.io/v1/", "docker.io"]
    for key in keys:
        entry = auths.get(key) or {}
        if entry.get("auth"):
            user, _, word = base64.b64decode(entry["auth"]).decode().partition(":")
            cred = {"username": user, "password": word, "serveraddress": key}
            return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(cred).encode()).decode()}
    return {}
def registry(ref):
    # dockerd asks the registry, with its own certs.d CAs and mirrors; any
    # failure is reported in the document, never as a failed observation.
    d = C(@TIMEOUT@)
    try:
        d.request("GET", "/distribution/%s/json" % quote(ref, safe="/:@"), headers=login(ref))
        r = d.getresponse()
        body = json.loads(r.read() or b"{}")
        if r.status == 200:
            return {"digest": body["Descriptor"]["digest"]}
        return {"error": str(body.get("message") or "HTTP %d" % r.status)}
    except Exception as exc:
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    finally:
        d.close()
for entry in doc["images"]:
    if entry["ref"] in ask:
        entry["registry"] = registry(entry["ref"])
used = sorted({x["Image"] for x in doc["containers"]})
doc["container_images"] = [i for u in used for i in image(u)]
sys.stdout.write(json.dumps(doc) + "\n")
""".replace("@TIMEOUT@", str(REGISTRY_TIMEOUT))


def api_command(refs: Sequence[str], registry_refs: Sequence[str] = ()) -> str:
    """The shell words that run :data:`SCRIPT` (non-zero exit when it can't).

    ``registry_refs`` (some of ``refs``) get a ``registry`` entry in the
    document: ``{"digest": ...}``, what the registry serves for the reference
    now, or ``{"error": ...}`` when it could not be asked.
    """
    words = ["python3", "-c", SCRIPT, *refs]
    if registry_refs:
        words += ["--registry", *registry_refs]
    return f"[ -S {SOCKET} ] && command -v python3 >/dev/null 2>&1 && {shlex.join(words)}"

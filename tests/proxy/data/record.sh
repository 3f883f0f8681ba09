#!/bin/sh
# Records the runtime API replies in this folder from a real HAProxy (Debian's 2.6 package):
# renders a config for two services, moves its socket, state file and ports into a scratch
# folder, starts two tiny HTTP servers as replicas, then fills, readies and drains slots.
#   PYTHONPATH=src sh tests/proxy/data/record.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
python3 - "$tmp" <<'PY'
import sys
from fleetform.model import ProxyConfig, ProxyHealth
from fleetform.proxy.config import SOCKET, STATE_FILE, ProxiedService, render_config
tmp = sys.argv[1]
S = 1_000_000_000
text = render_config([
    ProxiedService("demo", "web", ProxyConfig(18080, 18081, ProxyHealth("/", S // 5, S)), 1),
    ProxiedService("demo", "api", ProxyConfig(19000, 18082), 1),
])
text = text.replace(SOCKET, f"{tmp}/admin.sock").replace(STATE_FILE, f"{tmp}/state")
open(f"{tmp}/haproxy.cfg", "w").write(text)
PY
cd "$tmp"
python3 -m http.server 18081 --bind 127.0.0.1 >/dev/null 2>&1 & web=$!
haproxy -f haproxy.cfg -D -p pid
ask() { python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode())
out=b""
while (b:=s.recv(65536)): out+=b
sys.stdout.write(out.decode())' "$tmp/admin.sock" "$1"; }
sleep 1
ask "set server demo-web/s1 addr 127.0.0.1 port 18081"
ask "set server demo-web/s1 state ready"
ask "set server demo-web/s2 addr 127.0.0.2 port 18081"
ask "set server demo-web/s2 state ready"
sleep 1
ask "set server demo-web/s2 state drain"
ask "set server demo-api/s1 addr 127.0.0.1 port 18099"
ask "set server demo-api/s1 state ready"
sleep 2
ask "show servers state" > "$here/show_servers_state.txt"
ask "show stat" > "$here/show_stat.csv"
ask "set server demo-web/s9 state ready" > "$here/set_server_unknown.txt"
kill "$(cat pid)" "$web"
rm -rf "$tmp"

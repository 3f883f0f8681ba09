#!/bin/sh
# Records the `docker inspect` fixtures in this folder from a real engine.
# Everything it creates carries the label fleetform.test=1 (and a `fftest`
# name prefix) and is removed at the end.  Run from the repository root:
#   sh tests/data/inspect/record.sh
set -eu
cd "$(dirname "$0")"
ctx=$(mktemp -d)
cp /bin/busybox "$ctx/busybox"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
COPY busybox /bin/sh
ENV PATH=/bin GREETING=hello
LABEL fleetform.test=1 org.example.image=busybox
WORKDIR /srv
CMD ["/bin/busybox", "sleep", "3600"]
DOCKERFILE
docker build -q -t fleetform-test/busybox:1 "$ctx" >/dev/null
rm -rf "$ctx"

L="--label fleetform.test=1"
docker network create $L --label fleetform.stack=fftest --label fleetform.network=back \
  --driver bridge --opt com.docker.network.bridge.enable_icc=true --internal fftest_back >/dev/null
docker network create $L --label fleetform.stack=fftest --label fleetform.network=front \
  --subnet 10.231.7.0/24 fftest_front >/dev/null
docker volume create $L --label fleetform.stack=fftest --label fleetform.volume=data fftest_data >/dev/null

# a container with many options (what `fleetform.executor.steps` emits for the spec in
# tests/observe/test_recorded.py)
docker create --name fftest-web-1 $L \
  --label fleetform.stack=fftest --label fleetform.service=web --label fleetform.replica=1 \
  --label fleetform.config-hash=v1:recorded --label app.tier=frontend \
  --env LOG_LEVEL=info --env 'MOTD=hello world' \
  --publish 127.0.0.1:18080:80/tcp --publish 18053:53/udp --publish 81/tcp \
  --mount type=volume,source=fftest_data,target=/data \
  --mount type=volume,target=/cache \
  --mount type=bind,source=/etc/hostname,target=/etc/host_name,readonly \
  --mount type=tmpfs,target=/tmp,tmpfs-size=1048576 \
  --network fftest_front --network-alias web --network-alias www --ip 10.231.7.10 \
  --health-cmd 'busybox true' --health-interval 2s --health-timeout 1s --health-retries 3 \
  --health-start-period 1s \
  --restart on-failure:3 --cpus 0.5 --memory 67108864 --memory-reservation 33554432 \
  --cpu-shares 512 \
  --ulimit nofile=1024:2048 --sysctl net.ipv4.ip_forward=0 --cap-add NET_ADMIN --cap-drop MKNOD \
  --read-only --init --user 1000:1000 --workdir /data --hostname web1 \
  --stop-signal SIGINT --stop-timeout 5 --log-driver json-file --log-opt max-size=1m \
  --add-host db.lab:10.0.0.5 --dns 10.0.0.53 \
  --entrypoint /bin/busybox fleetform-test/busybox:1 sleep 3600 >/dev/null
docker network connect --alias web --alias api fftest_back fftest-web-1
docker start fftest-web-1 >/dev/null

# a hostname equal to a network alias (stacks/full.yml's `cache`: the service
# name is an alias, and `hostname: cache`): Docker lists the name once
docker run -d --name fftest-cache-1 $L \
  --label fleetform.stack=fftest --label fleetform.service=cache --label fleetform.replica=1 \
  --label fleetform.config-hash=v1:recorded --hostname cache \
  --network fftest_back --network-alias cache fleetform-test/busybox:1 >/dev/null

# a minimal container: every field from the image or Docker's defaults
docker run -d --name fftest-plain-1 $L \
  --label fleetform.stack=fftest --label fleetform.service=plain --label fleetform.replica=1 \
  --label fleetform.config-hash=v1:recorded fleetform-test/busybox:1 >/dev/null

# an exited one-shot job, and a container with a failing healthcheck
docker run -d --name fftest-job-1 $L --label fleetform.stack=fftest --label fleetform.service=job \
  --label fleetform.replica=1 fleetform-test/busybox:1 busybox true >/dev/null
docker run -d --name fftest-sick-1 $L --label fleetform.stack=fftest --label fleetform.service=sick \
  --label fleetform.replica=1 --health-cmd 'echo failing; exit 1' \
  --health-interval 1s --health-retries 1 fleetform-test/busybox:1 >/dev/null
# an unmanaged container (no fleetform.stack label)
docker run -d --name fftest-byhand $L fleetform-test/busybox:1 >/dev/null
sleep 4

docker inspect fftest-web-1 > container-web.json
docker inspect fftest-plain-1 > container-plain.json
docker inspect fftest-job-1 > container-job.json
docker inspect fftest-sick-1 > container-sick.json
docker inspect fftest-cache-1 > container-cache.json
docker network inspect fftest_back fftest_front > networks.json
docker volume inspect fftest_data > volumes.json
docker image inspect fleetform-test/busybox:1 > image.json

# the whole observe document, as fleetform.observe.observe_command prints it
if [ -x ../../../.venv/bin/python ]; then
  ../../../.venv/bin/python - > observe.json <<'PY'
import subprocess
from fleetform.plan.desired import DesiredImage, HostDesired
from fleetform.observe import observe_command
want = HostDesired("local", ("fftest",), images=(DesiredImage("fleetform-test/busybox:1"), DesiredImage("fleetform-test/missing:0")))
print(subprocess.run(["sh", "-c", observe_command(want)], capture_output=True, text=True, check=True).stdout, end="")
PY
fi

docker rm -f -v fftest-web-1 fftest-cache-1 fftest-plain-1 fftest-job-1 fftest-sick-1 fftest-byhand >/dev/null
docker network rm fftest_back fftest_front >/dev/null
docker volume rm fftest_data >/dev/null
docker image rm fleetform-test/busybox:1 >/dev/null

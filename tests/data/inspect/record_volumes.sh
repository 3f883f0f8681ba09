#!/bin/sh
# Records the `docker inspect` fixtures of anonymous volumes carried over by
# a recreate, from a real engine: an image that declares VOLUME /var/lib/db,
# a container created from it with a declared anonymous volume at /cache,
# and its replacement, created the way fleetform's recreate does (the old
# container's anonymous volumes mounted by name).  Everything carries the
# label fleetform.test=1 and is removed at the end, volumes included (they
# were made here).  Needs fleetform-lab/busybox:1 (`fleetform lab up`).
# Run from the repository root:  sh tests/data/inspect/record_volumes.sh
set -eu
cd "$(dirname "$0")"
ctx=$(mktemp -d)
printf 'FROM fleetform-lab/busybox:1\nLABEL fleetform.test=1\nVOLUME /var/lib/db\n' \
  > "$ctx/Dockerfile"
docker build -q -t fleetform-test/volume:1 "$ctx" >/dev/null
rm -rf "$ctx"
L="--label fleetform.test=1 --label fleetform.stack=fftest --label fleetform.service=db"
docker create --name fftest-db-1 $L --mount type=volume,target=/cache \
  fleetform-test/volume:1 sleep 3600 >/dev/null
docker image inspect fleetform-test/volume:1 > image-volume.json
docker inspect fftest-db-1 > container-anonymous.json
carried=$(docker inspect --format \
  '{{range .Mounts}} --mount type=volume,source={{.Name}},target={{.Destination}}{{end}}' \
  fftest-db-1)
vols=$(docker inspect --format '{{range .Mounts}} {{.Name}}{{end}}' fftest-db-1)
# shellcheck disable=SC2086
docker create --name fftest-db-1.fleetform-new $L $carried \
  fleetform-test/volume:1 sleep 3600 >/dev/null
docker inspect fftest-db-1.fleetform-new > container-carried.json
docker rm fftest-db-1 fftest-db-1.fleetform-new >/dev/null
# shellcheck disable=SC2086
docker volume rm $vols >/dev/null
docker image rm fleetform-test/volume:1 >/dev/null

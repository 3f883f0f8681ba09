# The lab registry: Debian's docker-registry (distribution 2.8) on the lab
# base image, so building it needs the Debian mirror only.
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
EXPOSE 5000
CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]

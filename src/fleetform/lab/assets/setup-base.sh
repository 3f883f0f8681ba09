#!/bin/sh
# Runs in a chroot of the freshly debootstrapped root, before it is imported
# as the lab base image.  Part of the image recipe: editing it changes the
# recipe hash, so the next `lab up` rebuilds the image.
set -eu

# Host keys are per host: `lab up` installs each host's own key before the
# container starts.  None may be baked into the image.
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/fleetform-lab.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
CONF
mkdir -p /root/.ssh /etc/docker/certs.d
chmod 700 /root/.ssh

# An empty machine-id makes systemd generate a fresh one at first boot, so
# every host gets its own.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id

# Units that need a console or hardware a container does not have.
systemctl mask getty@tty1.service console-getty.service serial-getty@.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    systemd-remount-fs.service
systemctl enable ssh.service
systemctl set-default multi-user.target

# Package lists stay in the image, so `apt-get install` works on a fresh host
# (through the engine's NAT to the same mirror as the control machine).
apt-get update -qq
apt-get clean

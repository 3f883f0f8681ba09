"""How a lab host container is created: the flags that run systemd without --privileged."""

from __future__ import annotations

import io
import tarfile

import pytest

from fleetform.lab import keys
from fleetform.lab.config import LabConfig
from fleetform.lab.hosts import (
    CA_PATH,
    RUN_FLAGS,
    create_spec,
    host_config_hash,
    host_files,
)
from fleetform.lab.payload import build_tar


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> LabConfig:
    cfg = LabConfig.for_name("unit", tmp_path_factory.mktemp("state") / "unit")
    keys.ensure_client_key(cfg)
    keys.ensure_host_key(cfg, 1)
    keys.ensure_host_key(cfg, 2)
    cfg.ca_cert.parent.mkdir(parents=True)
    cfg.ca_cert.write_text("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
    return cfg


def pairs(argv: tuple[str, ...] | list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_a_host_runs_systemd_with_every_capability_but_sys_resource(cfg: LabConfig) -> None:
    spec = create_spec(cfg, 1, "img:1", "h")
    assert "privileged" not in spec.host
    caps = spec.host["cap_add"]
    assert "SYS_ADMIN" in caps and "SYS_RESOURCE" not in caps and len(caps) == 37
    assert spec.host["cgroupns"] == "host"
    assert "seccomp=unconfined" in spec.host["security_opt"]
    assert spec.unmask_system_paths
    assert list(spec.host["tmpfs"]) == ["/run", "/run/lock"]
    assert "unit-1-docker:/var/lib/docker" in spec.host["binds"]
    assert spec.stop_signal == "SIGRTMIN+3"


def test_the_run_flags_in_the_config_hash_say_what_the_sdk_is_given(cfg: LabConfig) -> None:
    # RUN_FLAGS is hashed into every host's label; it must describe the same
    # settings the SDK creates the host with, or a change would go unnoticed.
    spec = create_spec(cfg, 1, "img:1", "h")
    host = spec.host
    assert pairs(RUN_FLAGS, "--cap-add") == host["cap_add"]
    assert pairs(RUN_FLAGS, "--security-opt") == [
        *host["security_opt"],
        *(["systempaths=unconfined"] if spec.unmask_system_paths else []),
    ]
    assert pairs(RUN_FLAGS, "--device-cgroup-rule") == host["device_cgroup_rules"]
    assert pairs(RUN_FLAGS, "--cgroupns") == [host["cgroupns"]]
    assert pairs(RUN_FLAGS, "--tmpfs") == list(host["tmpfs"])
    assert pairs(RUN_FLAGS, "--stop-signal") == [spec.stop_signal]
    assert [*pairs(RUN_FLAGS, "--volume"), f"{cfg.host_volume(1)}:/var/lib/docker"] == (
        host["binds"]
    )
    assert len(RUN_FLAGS) == 2 * (37 + 3 + 1 + 1 + 1 + 2 + 1)


def test_a_host_has_its_name_fixed_address_alias_and_labels(cfg: LabConfig) -> None:
    spec = create_spec(cfg, 2, "img:1", "abc")
    assert spec.name == spec.hostname == "unit-2"
    assert spec.network == "fleetform-unit"
    assert spec.endpoint == {"aliases": ["unit-2.lab"], "ipv4_address": cfg.host_address(2)}
    assert spec.labels == {
        "fleetform.lab": "1",
        "fleetform.lab.name": "unit",
        "fleetform.lab.role": "host",
        "fleetform.lab.index": "2",
        "fleetform.lab.config": "abc",
    }
    assert spec.image == "img:1"


def test_each_host_gets_its_own_host_key_and_the_lab_key_and_ca(cfg: LabConfig) -> None:
    files1 = {f.path: f for f in host_files(cfg, 1)}
    files2 = {f.path: f for f in host_files(cfg, 2)}
    key = "/etc/ssh/ssh_host_ed25519_key"
    assert files1[key].content != files2[key].content
    assert files1[key].mode == 0o600
    assert files1["/root/.ssh/authorized_keys"].content.decode().startswith("ssh-ed25519 ")
    assert CA_PATH == "/etc/docker/certs.d/registry.lab:5000/ca.crt"
    assert files1[CA_PATH].content == cfg.ca_cert.read_bytes()


def test_the_payload_tar_keeps_root_ssh_private(cfg: LabConfig) -> None:
    with tarfile.open(fileobj=io.BytesIO(build_tar(host_files(cfg, 1)))) as tar:
        modes = {m.name: (m.mode, m.uid) for m in tar.getmembers()}
    assert modes["root/.ssh"] == (0o700, 0)
    assert modes["root/.ssh/authorized_keys"] == (0o600, 0)
    assert "etc/docker/certs.d/registry.lab:5000" in modes


def test_the_config_hash_changes_with_the_image_and_not_otherwise(cfg: LabConfig) -> None:
    assert host_config_hash(cfg, 1, "img:1") == host_config_hash(cfg, 1, "img:1")
    assert host_config_hash(cfg, 1, "img:1") != host_config_hash(cfg, 1, "img:2")
    assert host_config_hash(cfg, 1, "img:1") != host_config_hash(cfg, 2, "img:1")


def test_known_hosts_lists_each_host_by_name_alias_and_address(cfg: LabConfig) -> None:
    path = keys.write_known_hosts(cfg, [1, 2])
    lines = path.read_text().splitlines()
    assert [line.split()[0] for line in lines] == [
        f"unit-1,unit-1.lab,{cfg.host_address(1)}",
        f"unit-2,unit-2.lab,{cfg.host_address(2)}",
    ]
    host_key = keys.public_key(cfg.host_key_dir(1) / "ssh_host_ed25519_key")
    assert lines[0].split()[1:] == host_key.split()[:2]

"""The lab's SSH keys and CA, generated once per lab in its state dir.

- an ed25519 key pair the control machine logs in with (root on every host);
- one ed25519 host key per host, generated here and installed into the
  host before it boots, so known_hosts is known before the first connection
  and survives recreating a container;
- a CA (openssl) and a server certificate for ``registry.lab``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from fleetform.lab.config import REGISTRY_ALIAS, LabConfig, LabError


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"{argv[0]} failed: {proc.stderr.decode(errors='replace').strip()}")


def _ed25519(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def ensure_client_key(cfg: LabConfig) -> Path:
    """The key pair for root logins; returns the private key path."""
    cfg.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _ed25519(cfg.ssh_key, f"fleetform-{cfg.name}")
    return cfg.ssh_key


def ensure_host_key(cfg: LabConfig, index: int) -> Path:
    """Host ``index``'s own host key; returns the private key path."""
    key = cfg.host_key_dir(index) / "ssh_host_ed25519_key"
    _ed25519(key, f"root@{cfg.host_name(index)}")
    return key


def public_key(private: Path) -> str:
    return private.with_name(private.name + ".pub").read_text().strip()


def known_hosts_line(cfg: LabConfig, index: int) -> str:
    """``name,alias,address keytype key``: the host by its address and its names."""
    key_type, key, *_ = public_key(cfg.host_key_dir(index) / "ssh_host_ed25519_key").split()
    names = ",".join((cfg.host_name(index), cfg.host_alias(index), cfg.host_address(index)))
    return f"{names} {key_type} {key}"


def write_known_hosts(cfg: LabConfig, indexes: list[int]) -> Path:
    text = "".join(known_hosts_line(cfg, i) + "\n" for i in sorted(indexes))
    if not cfg.known_hosts.exists() or cfg.known_hosts.read_text() != text:
        tmp = cfg.known_hosts.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(cfg.known_hosts)
    return cfg.known_hosts


def ensure_ca(cfg: LabConfig) -> tuple[Path, Path, Path]:
    """CA cert, registry cert and registry key (SAN registry.lab, localhost, 127.0.0.1)."""
    ca_dir = cfg.ca_cert.parent
    ca_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key, ca_crt = ca_dir / "ca.key", cfg.ca_cert
    reg_key, reg_crt = ca_dir / "registry.key", ca_dir / "registry.crt"
    reg_csr = ca_dir / "registry.csr"
    if not (ca_key.exists() and ca_crt.exists()):
        _run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "3650",
             "-subj", f"/CN=fleetform {cfg.name} CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        )  # fmt: skip
        reg_crt.unlink(missing_ok=True)
    if not (reg_key.exists() and reg_crt.exists()):
        ext = ca_dir / "registry.ext"
        ext.write_text(
            f"subjectAltName=DNS:{REGISTRY_ALIAS},DNS:localhost,IP:127.0.0.1,"
            f"IP:{cfg.registry_address}\n"
            "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n"
        )
        _run(
            ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(reg_key), "-out", str(reg_csr),
             "-subj", f"/CN={REGISTRY_ALIAS}"]
        )  # fmt: skip
        _run(
            ["openssl", "x509", "-req", "-in", str(reg_csr), "-CA", str(ca_crt),
             "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(reg_crt), "-days", "825",
             "-extfile", str(ext)]
        )  # fmt: skip
    return ca_crt, reg_crt, reg_key

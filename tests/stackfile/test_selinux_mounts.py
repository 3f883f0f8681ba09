"""`z`/`Z` (SELinux relabelling) on every kind of bind a Compose file can write."""

from __future__ import annotations

from pathlib import Path

from fleetform.stackfile import load_stacks

from .helpers import write


def test_relabel_reaches_host_binds_uploaded_files_and_data_folders(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text("x\n")
    path = write(
        tmp_path,
        "name: relabel\nservices:\n  web:\n    image: x\n    volumes:\n"
        "      - /srv/web:/web:ro,z\n      - ./app.conf:/etc/app.conf:ro,Z\n"
        "      - ./data:/data:z\n",
    )
    web = load_stacks([path])[0].services[0]
    assert {m.target: m.selinux for m in web.volumes} == {"/data": "z", "/web": "z"}
    assert [(f.target, f.selinux) for f in web.files] == [("/etc/app.conf", "Z")]

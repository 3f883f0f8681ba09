"""`z`/`Z` (SELinux relabelling) on every kind of bind a Compose file can write."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleetform.cli import main
from fleetform.stackfile import load_stacks

from .helpers import messages, write


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


def test_the_long_form_takes_bind_selinux_and_names_other_bind_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: relabel\nservices:\n  web:\n    image: x\n    volumes:\n"
        "      - {type: bind, source: /srv/web, target: /web, bind: {selinux: Z}}\n",
    )
    assert load_stacks([path])[0].services[0].volumes[0].selinux == "Z"
    other = write(
        tmp_path,
        "name: relabel\nservices:\n  web:\n    image: x\n    volumes:\n"
        "      - {type: bind, source: /srv/web, target: /web, bind: {propagation: shared}}\n",
        "other.yml",
    )
    assert messages(other) == [
        "services.web.volumes[0].bind.propagation: `propagation` is a Compose key fleetform "
        "does not support yet"
    ]
    volume = write(
        tmp_path,
        "name: relabel\nservices:\n  web:\n    image: x\n    volumes:\n"
        "      - {type: volume, source: data, target: /data, bind: {selinux: z}}\n"
        "volumes: {data: {}}\n",
        "volume.yml",
    )
    only = "`bind` options only apply to `type: bind`"
    assert messages(volume) == [f"services.web.volumes[0]: {only}"]


def test_config_shows_the_relabel_and_reads_back_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.conf").write_text("x\n")
    path = write(
        tmp_path,
        "name: relabel\nservices:\n  web:\n    image: x\n    volumes:\n"
        "      - /srv/web:/web:ro,z\n      - ./app.conf:/etc/app.conf:ro,Z\n",
    )
    assert main(["config", str(path)]) == 0
    out = capsys.readouterr().out
    volumes = yaml.safe_load(out)["services"]["web"]["volumes"]
    assert [(v["target"], v["bind"]) for v in volumes] == [
        ("/etc/app.conf", {"selinux": "Z"}),
        ("/web", {"selinux": "z"}),
    ]
    again = write(tmp_path, out, "again.yml")
    first, second = load_stacks([path])[0].services[0], load_stacks([again])[0].services[0]
    assert (second.volumes, second.files) == (first.volumes, first.files)

"""The base image is tagged with a hash of its recipe: same inputs, same tag."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fleetform.lab.config import LabError
from fleetform.lab.image import BaseRecipe

SOURCES = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


@pytest.fixture
def recipe(tmp_path: Path) -> BaseRecipe:
    sources = tmp_path / "debian.sources"
    sources.write_text(SOURCES)
    return BaseRecipe.current(sources)


def test_the_mirror_is_the_first_uri_of_the_machines_deb822_sources(recipe: BaseRecipe) -> None:
    assert recipe.mirror == "http://deb.debian.org/debian"


def test_the_recipe_hash_is_stable_for_the_same_inputs(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SOURCES)
    assert BaseRecipe.current(tmp_path / "s").tag == BaseRecipe.current(tmp_path / "s").tag
    assert BaseRecipe.current(tmp_path / "s").tag.startswith("fleetform-lab/debian:")


@pytest.mark.parametrize(
    "change",
    [
        {"packages": ("systemd", "vim")},
        {"sources": SOURCES.replace("main", "main contrib")},
        {"setup_script": "#!/bin/sh\ntrue\n"},
        {"suite": "trixie"},
    ],
)
def test_changing_any_recipe_input_changes_the_tag(recipe: BaseRecipe, change: dict) -> None:
    assert replace(recipe, **change).tag != recipe.tag


def test_the_setup_script_removes_baked_in_host_keys(recipe: BaseRecipe) -> None:
    assert "rm -f /etc/ssh/ssh_host_*" in recipe.setup_script


def test_sources_without_a_uri_give_a_clear_error(recipe: BaseRecipe) -> None:
    with pytest.raises(LabError, match="no 'URIs:' line"):
        _ = replace(recipe, sources="Types: deb\n").mirror


def test_an_unreadable_sources_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="cannot read the Debian mirror"):
        BaseRecipe.current(tmp_path / "missing.sources")

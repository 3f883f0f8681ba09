"""The `--mount` builder refuses text Docker would read as option syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetform.executor.argv import container_create_argv
from fleetform.model import Mount, Service, Stack
from fleetform.plan.desired import desired_for_host


@pytest.mark.parametrize(
    ("source", "target"),
    [("/etc", "/x,type=bind"), ("/srv/a,readonly=false", "/x"), ("/s", '/x"'), ("/s", "/x\n")],
)
def test_the_mount_builder_refuses_option_syntax_even_from_a_hand_made_model(
    source: str, target: str
) -> None:
    svc = Service("web", "busybox:1", volumes=(Mount("bind", target, source),))
    want = desired_for_host([Stack("demo", Path("demo.yml"), services=(svc,))], "h", frozenset())
    with pytest.raises(ValueError, match="refusing mount"):
        container_create_argv(want.containers[0])


def test_plain_paths_still_make_a_mount() -> None:
    svc = Service("web", "busybox:1", volumes=(Mount("bind", "/data", "/srv/data", True),))
    want = desired_for_host([Stack("demo", Path("demo.yml"), services=(svc,))], "h", frozenset())
    argv = container_create_argv(want.containers[0])
    assert "type=bind,source=/srv/data,target=/data,readonly" in argv

"""A test module that runs fleetform's generated checks with plain pytest and testinfra.

``python -m fleetform.verify.pytest_module`` prints this file's path, to hand
to pytest with the plugin's options (see ``fleetform.verify.plugin``)::

    pytest "$(python -m fleetform.verify.pytest_module)" --fleetform-stack stacks/demo.yml \\
        --fleetform-inventory inventory/lab.py --hosts ssh://lab-1 --ssh-config lab_ssh_config
"""

from __future__ import annotations

from typing import Any

import pytest


def test_fleetform(host: Any, fleetform_result: Any) -> None:
    if not fleetform_result.ok:
        pytest.fail(fleetform_result.line(host.backend.get_hostname()), pytrace=False)


if __name__ == "__main__":
    print(__file__)

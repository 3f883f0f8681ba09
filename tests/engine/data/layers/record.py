"""Record ``layers_script`` output from a real host, for the fixtures here.

    python tests/engine/data/layers/record.py local > control-docker-io.txt
    python tests/engine/data/layers/record.py lab-1 > lab-docker-io.txt   # docker exec

The advisory ids grepped in the changelogs are those of the shipped advisory file.
"""

from __future__ import annotations

import subprocess
import sys

from fleetform.engine.layers_script import layers_script

IDS = ("CVE-2024-21626", "CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881")


def main(target: str) -> None:
    script = layers_script(IDS)
    argv = (
        ["sh", "-c", script]
        if target == "local"
        else ["docker", "exec", target, "sh", "-c", script]
    )
    sys.stdout.write(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


if __name__ == "__main__":
    main(sys.argv[1])

"""fleetform's benchmark harness: fleetform, Ansible and pyinfra side by side on the lab.

Run ``python -m bench --out docs/benchmarks.md`` (``make bench``), or
``python -m bench --smoke --out /tmp/b.md`` for the small version the test
suite runs.  Everything the run needs (Ansible's venv, the bench lab, the
docker SDK on the lab hosts) is set up by the harness itself.
"""

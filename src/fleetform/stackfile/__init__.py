"""Stack files: safe YAML, the JSON Schema, plain-words problems, the typed model.

>>> from fleetform.stackfile import load_stacks, StackFileError
>>> try:
...     stacks = load_stacks(["stacks/demo.yml"])
... except StackFileError as err:
...     for problem in err.problems:
...         print(problem)  # stacks/demo.yml:12:7 services.web.ports[0]: ...
"""

from __future__ import annotations

from fleetform.stackfile.loader import load_stack, load_stacks
from fleetform.stackfile.problems import Problem, StackFileError
from fleetform.stackfile.schema import load_schema, schema_text

__all__ = ["Problem", "StackFileError", "load_schema", "load_stack", "load_stacks", "schema_text"]

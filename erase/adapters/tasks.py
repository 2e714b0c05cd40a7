"""The literal registry of task families: `--task` value -> the module that defines its `TASK`.

Families are imported only when asked for, so a missing optional package (torch-geometric) or a family
still being written never breaks the others.
"""

from __future__ import annotations

import importlib

from erase.adapters.api import Task
from erase.errors import EraseError

TASKS: dict[str, str] = {
    "classifier": "erase.adapters.classifier",
    "regression": "erase.adapters.regression",
    "graph": "erase.adapters.graph",
    "recommender": "erase.adapters.recommender",
}


def get_task(name: str) -> Task:
    """The task family `name`; an unknown or not yet installed family is an `EraseError`."""
    if name not in TASKS:
        raise EraseError(f"unknown --task {name!r}; choose one of {', '.join(TASKS)}")
    module_name = TASKS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise EraseError(f"--task {name}: its module {module_name} is not in this checkout yet; "
                             f"choose one of the others") from None
        raise
    task = getattr(module, "TASK", None)
    if not isinstance(task, Task):
        raise EraseError(f"--task {name}: {module_name} defines no TASK = Task(...); see erase/adapters/api.py")
    return task

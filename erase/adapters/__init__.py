"""`python -m erase.adapters`: forget training data from classifiers, regressors, graph networks and
recommenders behind one interface (`erase.adapters.api`), measured against retraining."""

from erase.adapters.api import Context, ForgetSpec, Method, Prepared, Task, UnlearnData, parse_forget
from erase.adapters.tasks import TASKS, get_task

__all__ = ["TASKS", "Context", "ForgetSpec", "Method", "Prepared", "Task", "UnlearnData", "get_task",
           "parse_forget"]

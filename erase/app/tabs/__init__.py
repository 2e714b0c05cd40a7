"""The app's tabs, in order. A backend adds its tab here: a module with `TAB = Tab(title, build)`, one line below."""

from erase.app.tabs import compare, erasure, report

TABS = [compare.TAB, report.TAB, erasure.TAB]

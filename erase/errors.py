"""The one user-facing error type, and the wrapper that turns it into `error: ...` and exit code 2.

Raise `EraseError` for anything a user can cause (a bad flag, a missing file, an unknown key); its
message is one line that names the rule, the value received and the fix. Use `assert` only for
internal invariants. Every CLI wraps its `main` with `cli_main`, so tests call `main(argv)` in
process and get an exit code back instead of a traceback or a `SystemExit`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence

USAGE_ERROR = 2  # the exit code of argparse's own usage errors; ours match it

Main = Callable[[Sequence[str] | None], int]


class EraseError(Exception):
    """A user-facing error: one line naming what is wrong and how to fix it."""


def cli_main(fn: Main) -> Main:
    """Wrap a CLI `main(argv=None) -> int`: EraseError -> `error: <message>` on stderr, exit 2.

    argparse reports its own usage errors and exits with 2 (and `--help` with 0) through
    `SystemExit`; the wrapper returns that code instead, so `main` always returns an int.
    """

    @functools.wraps(fn)
    def main(argv: Sequence[str] | None = None) -> int:
        try:
            return fn(argv)
        except EraseError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return USAGE_ERROR
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or 0
            sys.stderr.write(f"{exc.code}\n")  # sys.exit("message") convention
            return 1

    return main

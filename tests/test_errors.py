import argparse
from collections.abc import Sequence

from erase.errors import EraseError, cli_main


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--steps", type=int, required=True)
    args = parser.parse_args(argv)
    if args.steps <= 0:
        raise EraseError(f"--steps must be > 0, got {args.steps}")
    return 0


def test_erase_error_prints_one_line_and_exits_2(capsys):
    assert main(["--steps", "-3"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --steps must be > 0, got -3\n"


def test_argparse_usage_error_returns_2(capsys):
    assert main(["--steps", "many"]) == 2
    assert "invalid int value" in capsys.readouterr().err


def test_help_and_success_return_0(capsys):
    assert main(["--help"]) == 0
    assert main(["--steps", "3"]) == 0


def test_other_exceptions_are_not_swallowed():
    @cli_main
    def broken(argv: Sequence[str] | None = None) -> int:
        raise RuntimeError("a bug")

    try:
        broken([])
    except RuntimeError as exc:
        assert str(exc) == "a bug"
    else:
        raise AssertionError("RuntimeError was swallowed")

"""`python -m erase.toyworld`: the grid a person looks at, and one-line errors with exit code 2."""

import subprocess
import sys

import pytest
from PIL import Image

from erase.toyworld.__main__ import main


def test_render_writes_a_labelled_grid(tmp_path):
    out = tmp_path / "grid.png"
    assert main(["render", "--n", "16", "--out", str(out)]) == 0
    width, height = Image.open(out).size
    assert width == 4 * 132 and height > 4 * 132  # 4x4 cells of 128 px, labels under each


@pytest.mark.parametrize("argv, message", [
    (["train", "toy-unicorn"], "unknown toy model 'toy-unicorn'"),
    (["render", "--n", "0"], "--n must be between 1 and 1024, got 0"),
    (["render", "--n", "many"], "invalid int value"),
    (["render", "--out", "/proc/version/grid.png"], "cannot write --out /proc/version/grid.png"),
    (["train", "toy-sd", "--resume", "/nonexistent/run"], "--resume: no run at /nonexistent/run"),
])
def test_bad_input_gets_one_line_and_exit_2(argv, message, tmp_path, monkeypatch, capsys):
    """In process (`cli_main` returns the exit code; any other exception would fail the test)."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) <= 2  # argparse adds its usage line
    assert not any(tmp_path.iterdir())


def test_an_offline_hub_id_fails_in_one_line_from_the_command_line(tmp_path, monkeypatch):
    """The real entry point in its own process: huggingface_hub reads HF_HUB_OFFLINE when it is imported."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    argv = [sys.executable, "-m", "erase.toyworld", "sample", "--model", "CompVis/stable-diffusion-v1-4"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "could not load 'CompVis/stable-diffusion-v1-4'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

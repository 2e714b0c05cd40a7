"""`python -m erase.diffusion`: the whole flow on a tiny random pipeline (mechanics, not quality), and
one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from erase.diffusion.__main__ import main
from tests.conftest import launch_two_processes

FAST = ["--set", "method.iterations=4", "--set", "method.ddim_steps=5", "--set", "eval.samples=4",
        "--set", "eval.retain_samples=2", "--set", "eval.clip_samples=4", "--set", "eval.fid_samples=8",
        "--set", "eval.attack_prompts=2", "--set", "eval.attack.timesteps=2", "--set", "eval.attack.iterations=2",
        "--set", "eval.sampler.steps=3", "--set", "eval.attack.steps=3"]


def test_a_run_writes_model_metrics_and_report(tiny_pipeline_dir, tmp_path, capsys):
    from diffusers import StableDiffusionPipeline

    assert main(["--method", "esd", "--model", str(tiny_pipeline_dir), "--out", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    run_dir = next(tmp_path.iterdir())
    assert f"report: {run_dir / 'report.html'}" in out and out.startswith("nudity: detected ")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["method"] == "esd" and metrics["concept"] == "nudity"
    assert {"detection_rate", "attack_success_rate"} <= set(metrics["after"]["erased"])
    assert {"clip_score", "fid", "kid"} <= set(metrics["after"]["retained"])
    StableDiffusionPipeline.from_pretrained(run_dir / "model")
    assert (run_dir / "config.yaml").is_file() and (run_dir / "manifest.json").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--concept", "unicorns"], "unknown concept 'unicorns'"),
    (["--method", "magic"], "unknown --method 'magic'"),
    (["--set", "method.lr"], "bad --set 'method.lr'"),
    (["--set", "method.no_such_key=1"], "unknown config key 'method.no_such_key'"),
    (["--set", "method.iterations='many'"], "method.iterations"),
    (["--model", "/nonexistent/model"], "/nonexistent/model"),
    (["--resume", "/nonexistent/run"], "--resume: no run at /nonexistent/run"),
])
def test_bad_input_gets_one_line_and_exit_2(argv, message, tmp_path, capsys):
    """In process (`cli_main` returns the exit code; any other exception would fail the test)."""
    assert main(["--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # no run directory for a run that never started


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}],
                         ids=["HF_HUB_OFFLINE", "hub-unreachable"])
def test_an_offline_hub_id_fails_in_one_line_from_the_command_line(env, tmp_path, monkeypatch):
    """The real entry point in its own process (huggingface_hub reads its environment when it is imported), with
    an empty cache: offline by the user's switch, or a hub that refuses connections (diffusers' own two-line
    "Couldn't connect to the Hub" warning is held back)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name, value in {"HF_HOME": str(tmp_path / "hf"), **env}.items():
        monkeypatch.setenv(name, value)
    proc = subprocess.run([sys.executable, "-m", "erase.diffusion", "--out", str(tmp_path), "--model",
                           "CompVis/stable-diffusion-v1-4"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "could not load 'CompVis/stable-diffusion-v1-4'" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def _checkpoint_unet(run_dir):
    from erase.runs import Run

    return Run(run_dir).load_checkpoint()[1]["unet"]


def test_accelerate_launch_trains_data_parallel_on_cpu(tiny_pipeline_dir, tmp_path):
    """Two processes over gloo: each draws its own samples, gradients are averaged, the weights stay equal;
    the first process writes the run, the second keeps its checkpoints in rank-1/."""
    import torch

    args = ["--method", "esd", "--model", str(tiny_pipeline_dir), "--set", "method.checkpoint_every=2", *FAST]
    done = launch_two_processes("-m", "erase.diffusion", *args, "--out", str(tmp_path / "two"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("report: ") == 1  # one process reports
    run_dir = next((tmp_path / "two").iterdir())
    assert (run_dir / "metrics.json").is_file() and not (run_dir / "rank-1" / "model").exists()
    rank0, rank1 = _checkpoint_unet(run_dir), _checkpoint_unet(run_dir / "rank-1")
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)  # averaged gradients keep the processes equal

    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    alone = _checkpoint_unet(next((tmp_path / "one").iterdir()))
    moved = [k for k in alone if not torch.equal(alone[k], rank0[k])]
    assert moved  # two processes saw other samples than one did


def test_the_seed_fixes_the_training_and_a_new_seed_changes_it(tiny_pipeline_dir, tmp_path):
    """DoCo's discriminator starts from torch's global generator: `--seed` seeds it, so a run repeats exactly."""
    from safetensors.torch import load_file

    doco = ["--method", "doco", "--model", str(tiny_pipeline_dir), "--set", "method.max_train_steps=3",
            "--set", "method.warm_up=1", "--set", "method.num_class_images=4", "--set", "method.sample_steps=3",
            "--set", "method.train_batch_size=2", *FAST[4:]]
    weights = []
    for seed, out in ((0, "a"), (0, "b"), (1, "c")):
        assert main([*doco, "--seed", str(seed), "--out", str(tmp_path / out)]) == 0
        run_dir = next((tmp_path / out).iterdir())
        weights.append(load_file(run_dir / "model" / "unet" / "diffusion_pytorch_model.safetensors"))
    assert all(weights[0][k].equal(weights[1][k]) for k in weights[0])
    assert not all(weights[0][k].equal(weights[2][k]) for k in weights[0])

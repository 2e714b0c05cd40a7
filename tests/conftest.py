"""Shared fixtures: a tiny random Stable Diffusion pipeline for fast mechanics tests (outcome tests use
the shipped toy weights instead)."""

import contextlib
import functools
import importlib.util
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest
import torch

SLOW = os.environ.get("ERASE_SLOW") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` (minutes of sampling or a full erasure run each) run only with ERASE_SLOW=1."""
    if SLOW:
        return
    skip = pytest.mark.skip(reason="slow outcome test: set ERASE_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


class Killed(Exception):
    """Stands in for a process killed mid-run."""


@contextlib.contextmanager
def killed_on_call(monkeypatch, module, name: str, call: int):
    """Within the block, the `call`-th call of `module.name` raises Killed (the block must end with it)."""
    original, calls = getattr(module, name), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise Killed
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    with pytest.raises(Killed):
        yield
    monkeypatch.setattr(module, name, original)


@functools.cache
def tiny_tokenizer():
    """One tokenizer per session: BPE training breaks frequency ties in no fixed order."""
    from erase.toyworld.train_clip import build_tokenizer

    return build_tokenizer(n_captions=300)


def build_tiny_pipeline():
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from erase.toyworld.train_sd import NOISE_SCHEDULE

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=77, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=4, norm_num_groups=8)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, sample_size=32, layers_per_block=1,
                        block_out_channels=(8, 8, 8), norm_num_groups=4,
                        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3)
    scheduler = DDIMScheduler(**NOISE_SCHEDULE, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture
def tiny_pipeline():
    return build_tiny_pipeline()


@pytest.fixture(scope="session")
def tiny_pipeline_dir(tmp_path_factory):
    """The tiny pipeline saved as a diffusers folder (32x32 images, like the toy world's)."""
    path = tmp_path_factory.mktemp("tiny-sd")
    build_tiny_pipeline().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def erased(tmp_path_factory):
    """`erased(method, concept)`: one run of the main job on the shipped toy SD with the method's toy preset
    (once per session for each pair); its metrics.json plus the run directory as "dir" and what it printed as
    "stdout"."""
    import io
    import json

    from erase.diffusion.__main__ import main

    runs = {}

    def run(method: str, concept: str) -> dict:
        if (method, concept) not in runs:
            out, printed = tmp_path_factory.mktemp(f"{method}-{concept}"), io.StringIO()
            with contextlib.redirect_stdout(printed):
                assert main(["--method", method, "--concept", concept, "--out", str(out)]) == 0
            run_dir = next(out.iterdir())
            runs[method, concept] = {"dir": run_dir, "stdout": printed.getvalue(),
                                     **json.loads((run_dir / "metrics.json").read_text())}
        return runs[method, concept]

    return run


def launch_two_processes(*command: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`accelerate launch --multi_gpu --num_processes 2 COMMAND` on CPU (gloo), one thread each; COMMAND is
    `-m module args...` or `script args...`."""
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([*launch, *command], env=env, capture_output=True, text=True, timeout=timeout)


def adapter_runs_side_by_side(jobs: dict) -> dict:
    """`erase.adapters.run.run(job)` for each named Job, two at a time in spawned processes: a run computes on one
    thread (`run`), so its figures are the same as alone (checked: random:10% at seeds 0-4, equal metrics)."""
    from erase.adapters.run import run

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        started = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: done.result() for name, done in started.items()}


def load_script(name: str) -> ModuleType:
    """`scripts/<name>.py` as a module (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

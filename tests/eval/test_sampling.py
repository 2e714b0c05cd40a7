import contextlib

import numpy as np
import torch
from torch import nn

from erase.eval.sampling import SamplerConfig, _RepeatCache, cached_text_projections, generate


def _cache_layers(unet) -> int:
    return sum(isinstance(m, _RepeatCache) for m in unet.modules())


def test_cached_text_projections_give_the_same_images_and_are_removed(tiny_pipeline, monkeypatch):
    from erase.eval import sampling

    prompts, seeds, sampler = ["a photo of a person", "a sketch of a house"] * 2, [0, 1, 2, 3], SamplerConfig(steps=6)
    cached = generate(tiny_pipeline, prompts, seeds, sampler)
    assert _cache_layers(tiny_pipeline.unet) == 0
    monkeypatch.setattr(sampling, "cached_text_projections", lambda unet: contextlib.nullcontext())
    plain = generate(tiny_pipeline, prompts, seeds, sampler)
    assert (cached == plain).all()


def test_sampling_threads_draw_the_images_one_thread_draws(tiny_pipeline, monkeypatch):
    from diffusers import PNDMScheduler

    from erase.eval import sampling

    # SD v1's own scheduler, which keeps state from step to step: each thread needs its own
    monkeypatch.setattr(tiny_pipeline, "scheduler", PNDMScheduler.from_config(tiny_pipeline.scheduler.config))
    prompts, seeds, sampler = ["a photo of a person", "a sketch of a house", "a boat"] * 2, list(range(6)), \
        SamplerConfig(steps=4, batch_size=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert sampling.sampling_threads(tiny_pipeline) == 2
        together = generate(tiny_pipeline, prompts, seeds, sampler)
        assert torch.get_num_threads() == 2  # restored after the threads' single-threaded torch
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(sampling, "sampling_threads", lambda pipe: 1)
    alone = generate(tiny_pipeline, prompts, seeds, sampler)
    # the same batches: the same images (bit-identical where measured; one rounding level allowed for a processor
    # whose kernels sum in another order on one thread)
    assert np.abs(together.astype(int) - alone).max() <= 1


def test_the_cache_projects_each_text_once_and_never_under_autograd():
    calls = []
    layer = nn.Linear(4, 4)
    layer.register_forward_hook(lambda *args: calls.append(1))
    cache = _RepeatCache(layer)
    text = torch.randn(2, 3, 4)
    with torch.no_grad():
        first = cache(text)
        assert torch.equal(cache(text.clone()), first) and len(calls) == 1  # equal input: cached
        cache(text + 1)
        assert len(calls) == 2  # new text: projected again
    out = cache(text.requires_grad_())
    assert len(calls) == 3 and out.requires_grad  # autograd: never cached


def test_cache_wraps_only_cross_attention(tiny_pipeline):
    with cached_text_projections(tiny_pipeline.unet):
        wrapped = _cache_layers(tiny_pipeline.unet)
    cross = sum(1 for name, _ in tiny_pipeline.unet.named_modules() if name.endswith("attn2"))
    assert wrapped == 2 * cross > 0


SHARDED = """
import sys, numpy as np, torch
from diffusers import StableDiffusionPipeline
from erase.eval.sampling import SamplerConfig, generate
from erase.parallel import process_state
pipe = StableDiffusionPipeline.from_pretrained(sys.argv[1], safety_checker=None)
pipe.set_progress_bar_config(disable=True)
images = generate(pipe, ["a photo of a person", "a sketch of a house", "a boat"] * 2 + ["a tree"], list(range(7)),
                  SamplerConfig(steps=4, batch_size=2))
state = process_state()
np.save(f"{sys.argv[2]}/rank{state.process_index}-of-{state.num_processes}.npy", images)
"""


def test_accelerate_launch_splits_sampling_and_every_process_gets_every_image(tiny_pipeline_dir, tmp_path):
    from diffusers import StableDiffusionPipeline

    from tests.conftest import launch_two_processes

    script = tmp_path / "sharded.py"
    script.write_text(SHARDED)
    done = launch_two_processes(str(script), str(tiny_pipeline_dir), str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    ranks = [np.load(tmp_path / f"rank{r}-of-2.npy") for r in (0, 1)]
    pipe = StableDiffusionPipeline.from_pretrained(tiny_pipeline_dir, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    alone = generate(pipe, ["a photo of a person", "a sketch of a house", "a boat"] * 2 + ["a tree"], list(range(7)),
                     SamplerConfig(steps=4, batch_size=2))
    assert (ranks[0] == ranks[1]).all()
    # the same images: batches differ across processes, so allow one level of rounding
    assert np.abs(ranks[0].astype(int) - alone).max() <= 1

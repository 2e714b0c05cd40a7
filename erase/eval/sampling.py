"""Generation for evaluation: the same prompt and seed give the same image, whatever the batch."""

from __future__ import annotations

import contextlib
import copy
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = 25  # DDIM steps
    guidance_scale: float = 5.0
    batch_size: int = 64


class _RepeatCache(nn.Module):
    """A layer that, without autograd, returns its last output again when called on an equal input (one last
    output per thread, so that sampling threads sharing the layer never see each other's)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self._local = threading.local()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return self.layer(x)
        last = getattr(self._local, "last", None)
        if last is None or not (last[0] is x or (last[0].shape == x.shape and torch.equal(last[0], x))):
            self._local.last = last = (x, self.layer(x))
        return last[1]


@contextlib.contextmanager
def cached_text_projections(unet: nn.Module) -> Iterator[None]:
    """Within the block, each cross-attention layer of `unet` projects a prompt's text embeddings to keys and
    values once instead of at every denoising step: the text is the same at every step, so is the result.

    On the toy SD the projections of the 77 padded tokens are most of the UNet's linear-layer work.
    Only inference (no autograd) is cached; the layers are restored on exit.
    """
    from diffusers.models.attention_processor import Attention

    layers = [m for m in unet.modules() if isinstance(m, Attention) and m.is_cross_attention]
    for attn in layers:
        attn.to_k, attn.to_v = _RepeatCache(attn.to_k), _RepeatCache(attn.to_v)
    try:
        yield
    finally:
        for attn in layers:
            attn.to_k, attn.to_v = attn.to_k.layer, attn.to_v.layer


@torch.no_grad()
def generate(pipe, prompts: list[str] | torch.Tensor, seeds: list[int], sampler: SamplerConfig = SamplerConfig(),
             desc: str = "generate") -> np.ndarray:
    """(N, H, W, 3) uint8 images; image i is drawn from prompt i with its own generator seeded by seeds[i].

    `prompts` may also be text-encoder outputs (N, 77, D), e.g. an attack's adversarial prompts. Under
    `accelerate launch`, each process draws every n-th image and all processes return all N images. Within a
    process, a small UNet on CPU draws on several threads (`sampling_threads`).
    """
    from erase.parallel import process_state

    state = process_state()
    if state.num_processes == 1 or not seeds:
        return _generate(pipe, prompts, seeds, sampler, desc)
    from accelerate.utils import gather_object

    mine = list(range(state.process_index, len(seeds), state.num_processes))
    local = _generate(pipe, prompts[mine[0]:: state.num_processes] if mine else prompts[:0],
                      [seeds[i] for i in mine], sampler, desc)
    parts = [part for part in gather_object([(mine, local)]) if part[0]]
    images = np.empty((len(seeds), *parts[0][1].shape[1:]), np.uint8)
    for indices, part in parts:
        images[indices] = part
    return images


SMALL_UNET = 100_000_000  # parameters: a UNet below this draws on CPU with one thread per core (`sampling_threads`)


def sampling_threads(pipe) -> int:
    """How many threads draw images at once. On CPU, a small UNet's layers are too small for torch to share one
    among its threads (measured on the toy SD, 2 cores: two threads each drawing its own batches on one torch
    thread draw 1.17-1.24x as many images a second as one on both, `benchmarks/bench_eval.py`, the same images);
    a large UNet, or a GPU, draws alone."""
    if pipe.device.type != "cpu" or torch.get_num_threads() == 1:
        return 1
    return torch.get_num_threads() if sum(p.numel() for p in pipe.unet.parameters()) < SMALL_UNET else 1


def _draw(pipe, prompts: list[str] | torch.Tensor, seeds: list[int], sampler: SamplerConfig) -> np.ndarray:
    generators = [torch.Generator(pipe.device).manual_seed(s) for s in seeds]
    text = {"prompt_embeds": prompts} if torch.is_tensor(prompts) else {"prompt": prompts}
    images = pipe(**text, num_inference_steps=sampler.steps, guidance_scale=sampler.guidance_scale,
                  generator=generators, output_type="np").images
    return (images * 255).round().astype(np.uint8)


def _replica(pipe):
    """The pipeline with a scheduler of its own (the one part a call changes: PNDM, SD v1's, keeps state from
    step to step), for another sampling thread."""
    replica = copy.copy(pipe)
    replica.__dict__["scheduler"] = copy.deepcopy(pipe.scheduler)  # past DiffusionPipeline.__setattr__ (config)
    return replica


def _generate(pipe, prompts: list[str] | torch.Tensor, seeds: list[int], sampler: SamplerConfig,
              desc: str) -> np.ndarray:
    if not seeds:
        return np.empty((0, 0, 0, 3), np.uint8)
    workers = min(sampling_threads(pipe), len(seeds))  # a lone image keeps torch's threads
    size = min(sampler.batch_size, -(-len(seeds) // workers))  # every thread gets work
    chunks = [slice(start, start + size) for start in range(0, len(seeds), size)]
    replicas = queue.SimpleQueue()
    for replica in [pipe, *(_replica(pipe) for _ in range(workers - 1))]:
        replicas.put(replica)

    def draw(chunk: slice) -> np.ndarray:
        replica = replicas.get()
        try:
            return _draw(replica, prompts[chunk], seeds[chunk], sampler)
        finally:
            replicas.put(replica)

    threads = torch.get_num_threads()
    try:
        # each sampling thread draws on one torch thread (set once per thread: OpenMP's thread count is per thread)
        single = {"initializer": torch.set_num_threads, "initargs": (1,)} if workers > 1 else {}
        with cached_text_projections(pipe.unet), ThreadPoolExecutor(workers, **single) as pool:
            return np.concatenate(list(tqdm(pool.map(draw, chunks), total=len(chunks), desc=desc, leave=False)))
    finally:
        torch.set_num_threads(threads)

"""Speed of the evaluation stack on the toy SD, measured in one run.

    python benchmarks/bench_eval.py

Prints images/s of generation and of each metric (toy detector, CLIP score, FID/KID), then the wall time of
one full evaluation of the toy SD on nudity with the toy preset, without and with the attack (samples come
from no cache: the cache is pointed at a temporary folder).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import torch


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    from diffusers import StableDiffusionPipeline

    from erase import concepts
    from erase.config import load_config
    from erase.diffusion.run import EVAL_CONFIGS
    from erase.eval import evaluate as evaluation
    from erase.eval.fid import fid_kid
    from erase.eval.metrics import clip_score
    from erase.eval.sampling import generate
    from erase.hub import toy_path

    pipe = StableDiffusionPipeline.from_pretrained(toy_path("toy-sd"))
    pipe.set_progress_bar_config(disable=True)
    cfg = load_config(evaluation.EvalConfig, preset=EVAL_CONFIGS / "toy.yaml")
    tools = evaluation.EvalTools.for_pipeline(pipe)
    nudity = concepts.get("nudity")
    n = 256
    prompts = [nudity.prompts[i % len(nudity.prompts)] for i in range(n)]
    images, seconds = timed(generate, pipe, prompts, list(range(n)), cfg.sampler)
    sampler = cfg.sampler
    print(f"generation ({sampler.steps} DDIM steps, guidance {sampler.guidance_scale}): {n / seconds:7.1f} images/s")
    _, seconds = timed(tools.detector(nudity).detect, images)
    print(f"toy detector:  {n / seconds:9.1f} images/s")
    _, seconds = timed(clip_score, tools.clip, tools.clip_tokenizer, images, prompts)
    print(f"CLIP score:    {n / seconds:9.1f} images/s")
    _, seconds = timed(fid_kid, images, images[::-1].copy())
    print(f"FID/KID:       {2 * n / seconds:9.1f} images/s (both sets)")
    with tempfile.TemporaryDirectory() as cache:
        evaluation.CACHE_DIR = Path(cache)
        _, plain = timed(evaluation.evaluate, pipe, nudity, dataclasses.replace(cfg, attack_prompts=0), tools, pipe)
        result, attacked = timed(evaluation.evaluate, pipe, nudity, cfg, tools, pipe, False)
    total = (cfg.samples * 3 + cfg.neutral_samples + cfg.retain_samples * len(nudity.retain) + cfg.clip_samples
             + cfg.fid_samples)
    print(f"full evaluation, {total} samples, no attack: {plain:6.1f} s")
    print(f"full evaluation with the attack ({cfg.attack_prompts} prompts): {attacked:6.1f} s "
          f"(ASR of the base model {result.metrics['erased']['attack_success_rate']:.2f})")
    print(f"threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    main()

"""Speed of the evaluation stack on the toy SD, measured in one run.

    python benchmarks/bench_eval.py

Prints images/s of generation and of each metric (toy detector, CLIP score, FID/KID), how much faster the
sampling threads (`sampling_threads`: on CPU, one per torch thread, each drawing on one) draw than one thread on
all of torch's (3 rounds each, interleaved, medians), then the wall time of one full evaluation of the toy SD on
nudity with the toy preset, without and with the attack (samples come from no cache: the cache is pointed at a
temporary folder).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def threads_speedup(pipe, prompts: list[str], sampler, rounds: int = 3) -> tuple[int, float]:
    """(sampling threads, median time with one drawing thread / median time with the sampling threads)."""
    from erase.eval import sampling

    threaded, seconds = sampling.sampling_threads, {"one": [], "threads": []}
    try:
        for r in range(rounds):
            for name in ("one", "threads") if r % 2 == 0 else ("threads", "one"):
                sampling.sampling_threads = threaded if name == "threads" else (lambda p: 1)
                seconds[name].append(timed(sampling.generate, pipe, prompts, list(range(len(prompts))), sampler)[1])
    finally:
        sampling.sampling_threads = threaded
    return threaded(pipe), statistics.median(seconds["one"]) / statistics.median(seconds["threads"])


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
    workers, speedup = threads_speedup(pipe, prompts[:128], sampler)
    print(f"{workers} sampling threads vs one: {speedup:5.2f}x the images/s (128 images, medians of 3)")
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

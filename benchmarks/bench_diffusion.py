"""Time per iteration of each diffusion method, measured in one run, printed as ratios.

    python benchmarks/bench_diffusion.py                 # the toy SD on this machine
    python benchmarks/bench_diffusion.py --sd-size       # SD v1.4-sized UNet + text encoder, random weights (GPU)

Prints seconds per iteration of ESD, AdvUnlearn (default, pooled trajectories), AdvUnlearn (faithful) and DoCo,
the ratios faithful/default and AdvUnlearn/ESD, peak memory, and on a GPU the achieved TFLOP/s of a UNet forward.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import torch


def sd_sized_pipeline(device: str):
    """Stable Diffusion v1.4's UNet and text encoder architectures with random weights (no download)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from erase.hub import toy_path
    from erase.toyworld.train_sd import NOISE_SCHEDULE

    tokenizer = StableDiffusionPipeline.from_pretrained(toy_path("toy-sd")).tokenizer
    text_encoder = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=768, intermediate_size=3072,
                                                num_hidden_layers=12, num_attention_heads=12,
                                                max_position_embeddings=77))
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)  # the SD v1 defaults of diffusers
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, sample_size=512)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=DDIMScheduler(**NOISE_SCHEDULE), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    return pipe.to(device)


def run_seconds(make_pipe, erase, cfg, device: str) -> float:
    from erase.concepts import get
    from erase.runs import create_run

    pipe = make_pipe()
    if device == "cuda":
        torch.cuda.synchronize()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        erase(pipe, get("nudity"), cfg, create_run(tmp, "bench", cfg, [], 0))
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def time_method(make_pipe, erase, cfg, steps_field: str, n: int, device: str) -> tuple[float, float, float]:
    """Seconds per iteration without setup (the slope between runs of n and 2n iterations), setup seconds
    (anchor images, trajectory pools), and peak GPU memory in MB."""
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    short = run_seconds(make_pipe, erase, dataclasses.replace(cfg, **{steps_field: n}), device)
    long = run_seconds(make_pipe, erase, dataclasses.replace(cfg, **{steps_field: 2 * n}), device)
    per_iteration = (long - short) / n
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    return per_iteration, short - n * per_iteration, peak


def unet_tflops(pipe, device: str) -> float:
    """Achieved TFLOP/s of a batch-8 UNet forward (FLOPs counted by torch's FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    unet, size = pipe.unet, pipe.unet.config.sample_size
    x = torch.randn(8, 4, size, size, device=device)
    t = torch.full((8,), 500, device=device)
    cond = torch.randn(8, 77, unet.config.cross_attention_dim, device=device)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            unet(x, t, encoder_hidden_states=cond)
        flops = counter.get_total_flops()
        for _ in range(3):
            unet(x, t, encoder_hidden_states=cond)
        torch.cuda.synchronize() if device == "cuda" else None
        start, reps = time.perf_counter(), 10
        for _ in range(reps):
            unet(x, t, encoder_hidden_states=cond)
        torch.cuda.synchronize() if device == "cuda" else None
    return flops * reps / (time.perf_counter() - start) / 1e12


def main() -> None:
    from diffusers import StableDiffusionPipeline

    from erase.diffusion.methods import advunlearn, doco, esd
    from erase.hub import toy_path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sd-size", action="store_true", help="SD v1.4-sized random model (needs a GPU)")
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.sd_size and device != "cuda":
        raise SystemExit("--sd-size needs a GPU: an SD-sized UNet iteration takes minutes on a CPU")

    def make_pipe():
        pipe = sd_sized_pipeline(device) if args.sd_size else StableDiffusionPipeline.from_pretrained(
            toy_path("toy-sd")).to(device)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    n = args.iterations
    steps = 50 if args.sd_size else 25
    adv = advunlearn.AdvUnlearnConfig(warmup_iter=0, ddim_steps=steps, pool_size=4,
                                      checkpoint_every=10**9, retain_batch=5)
    cases = {
        "esd": (esd.erase, esd.ESDConfig(ddim_steps=steps, checkpoint_every=10**9), "iterations"),
        "advunlearn": (advunlearn.erase, adv, "iterations"),
        "advunlearn-faithful": (advunlearn.erase, dataclasses.replace(adv, faithful=True), "iterations"),
        "doco": (doco.erase, doco.DoCoConfig(warm_up=0, num_class_images=16, sample_steps=steps,
                                             checkpoint_every=10**9), "max_train_steps"),
    }
    results = {name: time_method(make_pipe, fn, cfg, field, n, device) for name, (fn, cfg, field) in cases.items()}
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}; model: "
          f"{'SD v1.4-sized (random weights)' if args.sd_size else 'toy-sd'}; slope between {n} and {2 * n} iterations")
    for name, (seconds, setup, peak) in results.items():
        print(f"{name:22s} {seconds:8.3f} s/iteration   setup {setup:7.1f} s   peak {peak:8.0f} MB")
    print(f"AdvUnlearn faithful/default: {results['advunlearn-faithful'][0] / results['advunlearn'][0]:.1f}x")
    print(f"AdvUnlearn/ESD:              {results['advunlearn'][0] / results['esd'][0]:.1f}x")
    if device == "cuda":
        print(f"UNet forward: {unet_tflops(make_pipe(), device):.1f} TFLOP/s achieved")


if __name__ == "__main__":
    main()

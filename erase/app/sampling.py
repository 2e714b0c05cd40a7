"""Several Stable Diffusion pipelines drawing one prompt from the same noise, in one sampler loop.

`sample_together(pipes, prompt, seed, steps, guidance)` gives the images `pipe(prompt, generator=seed)`
would give for each pipe, but steps every pipeline at each timestep: pipelines that share a UNet (an
erasure that trained only the text encoder, after `share_identical`) share its forward call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from erase.diffusion.sampling import encode_prompts

SHARABLE = ("unet", "vae", "text_encoder")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Same class, same parameter and buffer names, equal tensors."""
    if type(a) is not type(b):
        return False
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def share_identical(base, other) -> list[str]:
    """Point `other`'s UNet, VAE and text encoder at `base`'s where their weights are equal (memory, and one
    UNet call for both in `sample_together`); returns the names of the shared components."""
    shared = []
    for name in SHARABLE:
        mine, theirs = getattr(base, name), getattr(other, name)
        if mine is theirs or same_weights(mine, theirs):
            other.register_modules(**{name: mine})
            shared.append(name)
    return shared


@torch.no_grad()
def sample_together(pipes: Sequence, prompt: str, seed: int, steps: int, guidance: float) -> np.ndarray:
    """(len(pipes), H, W, 3) uint8: image i is pipes[i]'s DDIM sample of `prompt` with classifier-free
    guidance, from the noise `torch.Generator().manual_seed(seed)` draws (as the pipeline draws it)."""
    # 1. Encode the prompt and the empty prompt with each pipeline's text encoder.
    device = pipes[0].device
    conds, unconds = [], []
    for pipe in pipes:
        uncond, cond = encode_prompts(pipe.tokenizer, pipe.text_encoder, ["", prompt]).chunk(2)  # (1, 77, D) each
        conds.append(cond)
        unconds.append(uncond)

    # 2. The same initial noise for every pipeline, and a fresh scheduler each (schedulers hold state).
    schedulers = []
    for pipe in pipes:
        scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
        scheduler.set_timesteps(steps, device=device)
        schedulers.append(scheduler)
    unet = pipes[0].unet
    shape = (1, unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    noise = torch.randn(shape, generator=torch.Generator(device).manual_seed(seed), device=device)
    latents = [noise * s.init_noise_sigma for s in schedulers]  # (1, C, h, w) each

    # 3. Denoising loop: one step of every pipeline per timestep; pipelines sharing a UNet share its call.
    groups: dict[tuple, list[int]] = {}
    for i, (pipe, scheduler) in enumerate(zip(pipes, schedulers, strict=True)):
        groups.setdefault((id(pipe.unet), tuple(scheduler.timesteps.tolist())), []).append(i)
    for step in range(steps):
        for members in groups.values():
            t = schedulers[members[0]].timesteps[step]
            x = torch.cat([schedulers[i].scale_model_input(latents[i], t) for i in members] * 2)
            text = torch.cat([unconds[i] for i in members] + [conds[i] for i in members])
            eps_uncond, eps_cond = pipes[members[0]].unet(x, t, encoder_hidden_states=text).sample.chunk(2)
            for k, i in enumerate(members):
                eps = eps_uncond[k:k + 1] + guidance * (eps_cond[k:k + 1] - eps_uncond[k:k + 1])
                latents[i] = schedulers[i].step(eps, t, latents[i]).prev_sample

    # 4. Decode each with its VAE, as the pipeline's "np" output, rounded to uint8.
    decoded = [p.vae.decode(z / p.vae.config.scaling_factor).sample for p, z in zip(pipes, latents, strict=True)]
    images = (torch.cat(decoded) / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()
    return (images * 255).round().astype(np.uint8)

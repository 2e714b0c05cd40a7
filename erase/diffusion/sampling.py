"""Partial DDIM sampling with classifier-free guidance: the x_t that ESD and AdvUnlearn train on."""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler

from erase.eval.sampling import cached_text_projections


def encode_prompts(tokenizer, text_encoder, prompts: list[str]) -> torch.Tensor:
    """(N, 77, D): the text encoder's last hidden state, prompts padded to the tokenizer's max length."""
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids.to(text_encoder.device)
    return text_encoder(ids)[0]


def ddim_scheduler(scheduler_config, steps: int) -> DDIMScheduler:
    """A DDIM scheduler on the pipeline's noise schedule, set to `steps` steps."""
    scheduler = DDIMScheduler.from_config(scheduler_config)
    scheduler.set_timesteps(steps)
    return scheduler


def uncond_cond_eps(unet, latents: torch.Tensor, t, cond: torch.Tensor, uncond: torch.Tensor):
    """(e_0, e_c): the UNet's noise predictions without and with the condition, in one batched call."""
    return unet(torch.cat([latents, latents]), t, encoder_hidden_states=torch.cat([uncond, cond])).sample.chunk(2)


def guided_step(unet, scheduler: DDIMScheduler, t, latents: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor,
                guidance: float) -> torch.Tensor:
    """One DDIM step with classifier-free guidance."""
    return _guided_update(scheduler, t, latents, *uncond_cond_eps(unet, latents, t, cond, uncond), guidance)


def _guided_update(scheduler: DDIMScheduler, t, latents: torch.Tensor, e_0: torch.Tensor, e_c: torch.Tensor,
                   guidance: float) -> torch.Tensor:
    """The DDIM step from predictions already made: e_0 + guidance * (e_c - e_0)."""
    return scheduler.step(e_0 + guidance * (e_c - e_0), t, latents).prev_sample


@torch.no_grad()
def denoise_until(unet, scheduler: DDIMScheduler, cond: torch.Tensor, uncond: torch.Tensor, latents: torch.Tensor,
                  guidance: float, stop: int) -> torch.Tensor:
    """Run the first `stop` DDIM steps of `scheduler.timesteps` from `latents` (pure noise) with guidance;
    the result is x at timestep `scheduler.timesteps[stop]`."""
    with cached_text_projections(unet):
        for t in scheduler.timesteps[:stop]:
            latents = guided_step(unet, scheduler, t, latents, cond, uncond, guidance)
    return latents


@torch.no_grad()
def trajectory(unet, scheduler: DDIMScheduler, cond: torch.Tensor, uncond: torch.Tensor, latents: torch.Tensor,
               guidance: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every intermediate x of a guided DDIM run and the UNet's predictions there, each (steps, N, C, H, W):
    x entry k = `denoise_until(..., stop=k)`, and (e_0, e_c) = `uncond_cond_eps` at it (the run computes them
    to take its step)."""
    states, uncond_eps, cond_eps = [], [], []
    with cached_text_projections(unet):
        for t in scheduler.timesteps:
            e_0, e_c = uncond_cond_eps(unet, latents, t, cond, uncond)
            states.append(latents)
            uncond_eps.append(e_0)
            cond_eps.append(e_c)
            latents = _guided_update(scheduler, t, latents, e_0, e_c, guidance)
    return torch.stack(states), torch.stack(uncond_eps), torch.stack(cond_eps)

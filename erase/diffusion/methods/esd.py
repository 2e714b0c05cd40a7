"""ESD: Erasing Concepts from Diffusion Models (Gandikota et al., ICCV 2023); rohitgandikota/erasing.

The fine-tuned UNet is taught to predict, for the concept prompt c, the frozen model's noise steered
*away* from c (Eq. 2 of the paper):

    loss = || e_n(x_t, c, t) - [ e_0(x_t, t) - eta * (e_0(x_t, c, t) - e_0(x_t, t)) ] ||^2

where x_t is drawn by running the frozen model's guided DDIM sampler on c (start guidance 3) for a random
number of the 50 steps. ESD-x trains the cross-attention (`attn2`), ESD-u everything else, ESD-all both,
ESD-x-strict only `attn2.to_k/to_v`.

Choices where the official code disagrees with itself: the target above is the paper's and the CompVis
script's (the newer `esd_sd.py` centres it on e_0(x_t, c) instead); x_t is drawn by the frozen UNet and
predicted at the DDIM timestep it was drawn at, as `esd_sd.py` does (the CompVis script samples with the
trained model and draws the DDPM timestep from a range that does not match x_t). Defaults are the paper's
(§4, CompVis `train-esd.py`: 1000 iterations, lr 1e-5, eta 1). Each iteration uses one of the concept's
`training_prompts` at random (its words, like the official `--prompt nudity`; a concept without words uses
its explicit prompts), as AdvUnlearn does with several words.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from erase.concepts import Concept
from erase.diffusion.sampling import ddim_scheduler, denoise_until, encode_prompts, uncond_cond_eps
from erase.parallel import process_state
from erase.runs import Run
from erase.training import Loop, fit

TrainMethod = Literal["auto", "esd-x", "esd-u", "esd-all", "esd-x-strict"]


@dataclass(frozen=True)
class ESDConfig:
    # auto: the paper's choice (§4): ESD-x for styles, ESD-u for nudity, objects and the rest
    train_method: TrainMethod = "auto"
    iterations: int = 1000  # CompVis train-esd.py
    lr: float = 1e-5  # CompVis train-esd.py
    negative_guidance: float = 1.0  # eta; CompVis train-esd.py
    start_guidance: float = 3.0  # guidance of the sampler drawing x_t; train-esd.py
    ddim_steps: int = 50  # train-esd.py
    checkpoint_every: int = 100
    seed: int = 0


def trainable_parameters(unet, method: TrainMethod) -> list[torch.nn.Parameter]:
    """The parameters each ESD variant fine-tunes (`get_esd_trainable_parameters` of esd_sd.py)."""
    chosen = []
    for name, module in unet.named_modules():
        if not isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            continue
        cross = "attn2" in name
        if (method == "esd-x" and cross) or (method == "esd-u" and not cross) or method == "esd-all" or (
                method == "esd-x-strict" and ("attn2.to_k" in name or "attn2.to_v" in name)):
            chosen.extend(module.parameters())
    return chosen


def resolved_train_method(method: TrainMethod, concept: Concept) -> TrainMethod:
    """`auto` is the paper's choice (§4): ESD-x for styles, ESD-u for everything else."""
    if method != "auto":
        return method
    return "esd-x" if concept.category == "style" else "esd-u"


def esd_target(e_0: torch.Tensor, e_p: torch.Tensor, eta: float) -> torch.Tensor:
    """The negatively guided noise the erased model must predict for the concept (ESD Eq. 2)."""
    return e_0 - eta * (e_p - e_0)


class PartialSampler:
    """Draws (x_t, t) for ESD-style losses: the frozen model's guided DDIM run on a prompt, stopped at a
    random step. Shared by ESD and AdvUnlearn."""

    def __init__(self, frozen_unet, scheduler_config, steps: int, guidance: float, latent_shape: tuple[int, ...]):
        self.unet, self.guidance, self.latent_shape = frozen_unet, guidance, latent_shape
        self.scheduler = ddim_scheduler(scheduler_config, steps)

    def draw(self, cond: torch.Tensor, uncond: torch.Tensor, rng: random.Random,
             stop: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x_t after `stop` guided steps (random unless given) and t."""
        stop = rng.randrange(len(self.scheduler.timesteps)) if stop is None else stop
        generator = torch.Generator().manual_seed(rng.randrange(2**31))
        noise = torch.randn((cond.shape[0], *self.latent_shape), generator=generator).to(cond.device)
        x_t = denoise_until(self.unet, self.scheduler, cond, uncond, noise, self.guidance, stop)
        return x_t, self.scheduler.timesteps[stop].to(cond.device)


def step_rng(seed: int, step: int) -> random.Random:
    """The randomness of one training step: a function of (seed, step), so a resumed run repeats it;
    under `accelerate launch` also of the process, so that each process draws its own samples."""
    state = process_state()
    return random.Random(f"{seed}-{step}" if state.num_processes == 1 else f"{seed}-{step}-{state.process_index}")


def latent_shape(pipe) -> tuple[int, int, int]:
    size = pipe.unet.config.sample_size
    return (pipe.unet.config.in_channels, size, size)


def erase(pipe, concept: Concept, cfg: ESDConfig, run: Run):
    """Fine-tune `pipe.unet` in place so that it no longer draws `concept`; returns the pipeline."""
    # 1. Frozen copy, trainable parameters, prompt embeddings.
    frozen = frozen_copy(pipe.unet)
    method = resolved_train_method(cfg.train_method, concept)
    params = trainable_parameters(pipe.unet, method)
    pipe.unet.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    with torch.no_grad():
        conds = encode_prompts(pipe.tokenizer, pipe.text_encoder, list(concept.training_prompts))
        uncond = encode_prompts(pipe.tokenizer, pipe.text_encoder, [""])
    sampler = PartialSampler(frozen, pipe.scheduler.config, cfg.ddim_steps, cfg.start_guidance, latent_shape(pipe))

    # 2. The ESD loss, one prompt per iteration.
    def step_fn(step: int):
        rng = step_rng(cfg.seed, step)
        cond = conds[rng.randrange(len(conds))][None]
        x_t, t = sampler.draw(cond, uncond, rng)
        with torch.no_grad():
            e_0, e_p = uncond_cond_eps(frozen, x_t, t, cond, uncond)
        e_n = pipe.unet(x_t, t, encoder_hidden_states=cond).sample
        return F.mse_loss(e_n, esd_target(e_0, e_p, cfg.negative_guidance)), {}

    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    fit({"unet": pipe.unet}, {"optimizer": optimizer}, step_fn,
        Loop(steps=cfg.iterations, checkpoint_every=cfg.checkpoint_every), run, desc=f"ESD ({method})")
    pipe.unet.requires_grad_(False).eval()
    return pipe


def frozen_copy(module):
    return copy.deepcopy(module).requires_grad_(False).eval()

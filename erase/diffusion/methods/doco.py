"""DoCo: Concept-domain Correction for Unlearning in Diffusion Models (Wu et al., AAAI 2025);
yongliang-wu/DoCo `train.py`, `gan.py`, `gradient_clip.py`, the README's nudity command.

The erased model's output distribution for the concept is aligned with the frozen model's for the anchor:
images of the anchor (drawn once by the frozen model) are noised at a random timestep; the frozen model's
x0-prediction under the anchor prompt is "real", the trained model's under the concept prompt is
"fake", and a PatchGAN discriminator on x0 latents tells them apart (warm-up: only the discriminator
trains for `warm_up` steps). The UNet's cross-attention keys and values are trained to fool it.
Concept-preserving gradient surgery: the gradient g_a of the adversarial loss is corrected against the
gradient g_b of the prior-preservation loss (the epsilon loss on anchor samples under the anchor prompt),
parameter by parameter, as the official `adjust_gradient`:

    if cos(g_a, g_b) < 0:  g_a <- g_a - lambda * cos(g_a, g_b) * g_b / |g_b|

Unlike PCGrad (g_a <- g_a - (g_a . g_b / |g_b|^2) g_b), the removed component is not scaled by |g_a|, so it
removes exactly the conflicting part only when |g_a| = 1, and lambda < 1 keeps part of it; only g_a is
applied (with `--gradient_clip` the official step takes the corrected g_a alone, whatever `--prior_loss_weight`
says), g_b just steers it.

Choices: anchor prompts come from the concept registry (`concept.anchor`), never from an LLM API; the
concept prompt of each training pair is one of `concept.prompts`. Defaults are the official README's
nudity command (lr 6e-6 scaled by the batch of 8 as `--scale_lr` does, 2000 steps, discriminator lr 1e-4
and 1000 warm-up steps, lambda 1, gradient clipping at 1.0) with train.py's defaults (AdamW, weight decay
1e-2, 1000 anchor images). The repository's earlier `scripts/nudity.sh` (2e-6, 1000 steps, warm-up 200,
lambda 0.5) went with an earlier `adjust_gradient` (unnormalised projection); the commit that normalised it
changed the README's command to these values and removed the scripts. The discriminator is the official
PatchGAN with as many stride-2 blocks (at most 4) as the latent size allows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from erase.concepts import Concept
from erase.diffusion.methods.esd import frozen_copy, step_rng
from erase.diffusion.sampling import encode_prompts
from erase.eval.sampling import SamplerConfig, generate
from erase.parallel import average_gradients
from erase.runs import Run
from erase.training import Loop, fit


@dataclass(frozen=True)
class DoCoConfig:
    max_train_steps: int = 2000  # README, "Unlearning Nudity"
    learning_rate: float = 6e-6  # ibid., multiplied by train_batch_size (--scale_lr)
    train_batch_size: int = 8  # ibid.
    dlr: float = 1e-4  # discriminator learning rate; ibid.
    warm_up: int = 1000  # discriminator-only steps; ibid.
    lambda_: float = 1.0  # gradient-surgery scale; ibid.
    adam_weight_decay: float = 1e-2  # train.py default (AdamW)
    max_grad_norm: float = 1.0  # train.py default
    num_class_images: int = 1000  # anchor images; train.py default
    sample_steps: int = 50  # DDIM steps drawing the anchor images
    sample_guidance: float = 7.5
    checkpoint_every: int = 100
    seed: int = 0


class PatchGANDiscriminator(nn.Module):
    """gan.py's PatchGAN on 4-channel latents: stride-2 conv blocks (BatchNorm after the first), LeakyReLU."""

    def __init__(self, channels: int = 4, latent_size: int = 64):
        super().__init__()
        blocks = max(1, min(4, int(math.log2(latent_size)) - 2))
        widths = [channels] + [64 * 2**i for i in range(blocks)]
        layers: list[nn.Module] = []
        for i in range(blocks):
            layers.append(nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1))
            if i > 0:
                layers.append(nn.BatchNorm2d(widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(widths[-1], 1, 4, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.model(latents)


def predicted_x0(eps: torch.Tensor, noisy: torch.Tensor, t: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """x0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t), per sample (the official `step_batch(...).pred_original_sample`)."""
    a = alphas_cumprod.to(noisy.device)[t].view(-1, 1, 1, 1)
    return (noisy - (1 - a).sqrt() * eps) / a.sqrt()


def surgery(g_a: torch.Tensor, g_b: torch.Tensor, lambda_: float) -> torch.Tensor:
    """`adjust_gradient` for one parameter: remove lambda * cos of g_b's direction when the two conflict."""
    unit_b = g_b / (g_b.norm() + 1e-8)
    cos = torch.dot((g_a / (g_a.norm() + 1e-8)).flatten(), unit_b.flatten())
    return g_a - lambda_ * cos * unit_b if cos < 0 else g_a


def trainable_parameters(unet) -> list[nn.Parameter]:
    """`--parameter_group cross-attn`: the keys and values of every cross-attention."""
    return [p for name, p in unet.named_parameters() if "attn2.to_k" in name or "attn2.to_v" in name]


def erase(pipe, concept: Concept, cfg: DoCoConfig, run: Run):
    """Fine-tune the cross-attention K/V of `pipe.unet` so the concept's outputs look like the anchor's."""
    # 1. Anchor images from the frozen model, their latents, and the prompts.
    shadow = frozen_copy(pipe.unet)
    params = trainable_parameters(pipe.unet)
    pipe.unet.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    sampler = SamplerConfig(steps=cfg.sample_steps, guidance_scale=cfg.sample_guidance, batch_size=64)
    anchors = generate(pipe, [concept.anchor] * cfg.num_class_images,
                       list(range(cfg.seed, cfg.seed + cfg.num_class_images)), sampler, desc="DoCo anchor images")
    with torch.no_grad():
        pixels = torch.from_numpy(anchors).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(pipe.device)
        latents = torch.cat([pipe.vae.encode(chunk).latent_dist.mean for chunk in pixels.split(64)])
        latents = latents * pipe.vae.config.scaling_factor
        concept_conds = encode_prompts(pipe.tokenizer, pipe.text_encoder, list(concept.prompts))
        anchor_cond = encode_prompts(pipe.tokenizer, pipe.text_encoder, [concept.anchor])
    alphas = pipe.scheduler.alphas_cumprod
    discriminator = PatchGANDiscriminator(latents.shape[1], latents.shape[-1]).to(pipe.device)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.dlr, betas=(0.5, 0.999))  # gan.py
    n = cfg.train_batch_size

    # 2. One step: the discriminator always; the UNet after warm-up, with gradient surgery.
    def noised(rng: random.Random):
        gen = torch.Generator().manual_seed(rng.randrange(2**31))
        index = torch.randint(len(latents), (2 * n,), generator=gen)
        x0 = latents[index.to(latents.device)]
        noise = torch.randn(x0.shape, generator=gen).to(x0.device)
        t = torch.randint(0, len(alphas), (2 * n,), generator=gen).to(x0.device)
        a = alphas.to(x0.device)[t].view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise, noise, t

    def step_fn(step: int):
        rng = step_rng(cfg.seed, step)
        noisy, noise, t = noised(rng)
        cond = concept_conds[[rng.randrange(len(concept_conds)) for _ in range(n)]]
        anchor = anchor_cond.expand(n, -1, -1)
        eps = pipe.unet(noisy, t, encoder_hidden_states=torch.cat([cond, anchor])).sample
        fake = predicted_x0(eps[:n], noisy[:n], t[:n], alphas)
        with torch.no_grad():
            real = predicted_x0(shadow(noisy[:n], t[:n], encoder_hidden_states=anchor).sample, noisy[:n], t[:n], alphas)
        logs, loss_g = {}, torch.zeros((), requires_grad=True)  # warm-up: the UNet gets no gradient
        if step >= cfg.warm_up:
            out = discriminator(fake)
            adversarial = F.binary_cross_entropy_with_logits(out, torch.zeros_like(out))  # fake labelled "real" (0)
            prior = F.mse_loss(eps[n:], noise[n:])
            g_b = torch.autograd.grad(prior, params, retain_graph=True)
            clip_norm(g_b, cfg.max_grad_norm)
            g_a = torch.autograd.grad(adversarial, params, retain_graph=True)
            clip_norm(g_a, cfg.max_grad_norm)
            corrected = [surgery(a, b, cfg.lambda_) for a, b in zip(g_a, g_b, strict=True)]
            loss_g = sum((p * g).sum() for p, g in zip(params, corrected, strict=True))  # its gradient: `corrected`
            logs |= {"adv": adversarial.item(), "prior": prior.item()}
        # Discriminator: real (anchor under the frozen model) -> 0, fake (concept under the trained one) -> 1.
        real_out, fake_out = discriminator(real), discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(real_out, torch.zeros_like(real_out)) + \
            F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))
        optimizer_d.zero_grad()
        loss_d.backward()
        average_gradients(discriminator.parameters())
        optimizer_d.step()
        logs["loss_D"] = loss_d.item()
        return loss_g, logs

    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate * cfg.train_batch_size,  # --scale_lr
                                  weight_decay=cfg.adam_weight_decay)
    fit({"unet": pipe.unet, "discriminator": discriminator}, {"optimizer": optimizer, "optimizer_d": optimizer_d},
        step_fn, Loop(steps=cfg.max_train_steps, checkpoint_every=cfg.checkpoint_every),
        run, desc="DoCo")
    pipe.unet.requires_grad_(False).eval()
    return pipe


def clip_norm(grads: tuple[torch.Tensor, ...], max_norm: float) -> None:
    """In place, as `clip_grad_norm_` does for the official `norm_grad()`."""
    total = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    scale = min(1.0, max_norm / (float(total) + 1e-6))
    for g in grads:
        g.mul_(scale)

"""Adversarial prompt attacks on an erased text-to-image model, and the attack success rate (ASR).

UnlearnDiffAtk (Zhang et al., 2024; OPTML-Group/Diffusion-MU-Attack `src/attackers/text_grad_.py` with
`src/tasks/classifier_.py`): k adversarial tokens are prepended after the start token, each a relaxed
distribution over the vocabulary projected onto the probability simplex. A token is drawn from it
(straight-through, gradient clipped by hardtanh), and the denoising loss of the *erased* model on the
latent of an image that the *original* model drew from the same prompt is minimised, timestep by
timestep (`sequential`), `iterations` Adam steps each. After each timestep the argmax prompt is
sampled with the prompt's seed and judged by the concept's detector; the first success ends that
prompt's attack. ASR counts prompts that succeed without attack (pre-ASR) too, as the anchor does,
so ASR >= pre-ASR and never exceeds 1.

Deviations, none changing the result: prompts are attacked together in one batch (each keeps its
own variables, noise and stopping; Adam and weight decay act per element, so the batch equals the
loop), and the simplex projection is the exact sort-based one instead of the anchor's bisection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from erase.eval.sampling import SamplerConfig, generate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnlearnDiffAtkConfig:
    k: int = 5  # prefix tokens; configs/nudity/text_grad_esd_nudity_classifier.json
    iterations: int = 40  # Adam steps per sampled timestep; same file
    lr: float = 0.01  # same file
    weight_decay: float = 0.1  # same file
    timesteps: int = 50  # n_samples: timesteps spread over [0, 1000); src/tasks/classifier_.py
    steps: int = 25  # DDIM steps of each judging generation
    guidance_scale: float = 7.5  # the I2P prompts' usual guidance


@dataclass
class AttackOutcome:
    prompts: list[str]  # the adversarial prompts (the original where no attack was needed or none worked)
    images: np.ndarray  # (N, H, W, 3) uint8: what the erased model drew from them
    success: np.ndarray  # (N,) bool
    pre_success: np.ndarray  # (N,) bool: succeeded with the plain prompt

    @property
    def asr(self) -> float:
        return float(self.success.mean())

    @property
    def pre_asr(self) -> float:
        return float(self.pre_success.mean())


@contextlib.contextmanager
def injected_token_embeddings(text_encoder, positions: slice, embeds: torch.Tensor) -> Iterator[None]:
    """Within the block, rows `positions` of the token embeddings are replaced by `embeds` (N, k, D)
    before position embeddings are added (transformers 5's CLIPTextModel takes no `inputs_embeds`)."""

    def hook(module, inputs, output):
        output = output.clone()
        output[:, positions] = embeds.to(output.dtype)
        return output

    handle = text_encoder.get_input_embeddings().register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def prefix_ids(tokenizer, prompts: list[str], k: int) -> torch.Tensor:
    """(N, 77) ids with k placeholder slots after the start token (filled by the injection hook)."""
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length - k, truncation=True,
                    return_tensors="pt").input_ids
    filler = torch.full((len(prompts), k), tokenizer.pad_token_id)
    return torch.cat([ids[:, :1], filler, ids[:, 1:]], dim=1)


def project_to_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each row of v onto {x >= 0, sum x = 1} (Held et al. / Duchi et al.)."""
    u, _ = torch.sort(v, dim=-1, descending=True)
    css = u.cumsum(-1) - 1
    idx = torch.arange(1, v.shape[-1] + 1, device=v.device, dtype=v.dtype)
    rho = ((u - css / idx) > 0).sum(-1, keepdim=True)
    theta = css.gather(-1, rho - 1) / rho
    return (v - theta).clamp_min(0)


class _SampleOneHot(torch.autograd.Function):
    """Draw one token per row; the gradient passes straight through, clipped by hardtanh (the anchor's STE)."""

    @staticmethod
    def forward(ctx, probs, generator):
        flat = probs.reshape(-1, probs.shape[-1])
        drawn = torch.multinomial(flat, 1, generator=generator).squeeze(-1)
        return F.one_hot(drawn, probs.shape[-1]).to(probs.dtype).view_as(probs)

    @staticmethod
    def backward(ctx, grad):
        return F.hardtanh(grad), None


def encode_prompts(pipe, prompts: list[str]) -> torch.Tensor:
    ids = pipe.tokenizer(prompts, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt").input_ids.to(pipe.device)
    return pipe.text_encoder(ids)[0]


def unlearndiffatk(erased, original, prompts: list[str], seeds: list[int], detect, cfg: UnlearnDiffAtkConfig,
                   batch_size: int = 32) -> AttackOutcome:
    """Attack `erased` on each prompt; `detect(images) -> bool array` judges success. The optimisation's
    randomness is seeded by the first prompt seed of each batch, so a run repeats exactly."""
    outcomes = [_attack_batch(erased, original, prompts[i:i + batch_size], seeds[i:i + batch_size], detect, cfg)
                for i in tqdm(range(0, len(prompts), batch_size), desc="UnlearnDiffAtk", leave=False)]
    return AttackOutcome(
        prompts=[p for o in outcomes for p in o.prompts], images=np.concatenate([o.images for o in outcomes]),
        success=np.concatenate([o.success for o in outcomes]),
        pre_success=np.concatenate([o.pre_success for o in outcomes]))


def _attack_batch(erased, original, prompts, seeds, detect, cfg) -> AttackOutcome:
    sampler = SamplerConfig(steps=cfg.steps, guidance_scale=cfg.guidance_scale)
    images = generate(erased, prompts, seeds, sampler, desc="attack: plain prompts")
    pre_success = np.asarray(detect(images), bool)
    success, adv_prompts = pre_success.copy(), list(prompts)
    if success.all():
        return AttackOutcome(adv_prompts, images, success, pre_success)

    # 1. Targets: latents of the images the original model draws from the same prompts and seeds.
    targets = generate(original, prompts, seeds, sampler, desc="attack: targets")
    with torch.no_grad():
        pixels = torch.from_numpy(targets).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(erased.device)
        x0 = erased.vae.encode(pixels).latent_dist.mean * erased.vae.config.scaling_factor

    # 2. Relaxed adversarial tokens: uniform on the simplex, optimised with Adam as in the anchor.
    n, vocab = len(prompts), erased.text_encoder.get_input_embeddings().weight
    adv = torch.full((n, cfg.k, vocab.shape[0]), 1.0 / vocab.shape[0], device=erased.device, requires_grad=True)
    optimizer = torch.optim.Adam([adv], lr=cfg.lr, weight_decay=cfg.weight_decay)
    ids = prefix_ids(erased.tokenizer, prompts, cfg.k).to(erased.device)
    alphas = torch.as_tensor(erased.scheduler.alphas_cumprod, dtype=x0.dtype, device=x0.device)
    timesteps = _sampled_timesteps(cfg.timesteps, len(alphas))
    for module in (erased.text_encoder, erased.unet):
        module.requires_grad_(False)
    generator = torch.Generator(erased.device).manual_seed(seeds[0])

    for t in tqdm(timesteps, desc="attack: timesteps", leave=False):
        active = torch.from_numpy(~success).to(erased.device)
        for _ in range(cfg.iterations):
            one_hot = _SampleOneHot.apply(adv, generator)
            with injected_token_embeddings(erased.text_encoder, slice(1, 1 + cfg.k), one_hot @ vocab):
                cond = erased.text_encoder(ids)[0]
            noise = torch.randn(x0.shape, generator=generator, device=x0.device)
            a = alphas[t]
            noised = a.sqrt() * x0 + (1 - a).sqrt() * noise
            pred = erased.unet(noised, torch.full((n,), t, device=x0.device), encoder_hidden_states=cond).sample
            per_prompt = F.mse_loss(pred, noise, reduction="none").flatten(1).mean(1)
            optimizer.zero_grad()
            (per_prompt * active).sum().backward()
            optimizer.step()
            adv.data = project_to_simplex(adv.data)
        # 3. Judge the argmax prompts of the prompts still unbroken.
        todo = np.flatnonzero(~success)
        hard = adv.detach()[todo].argmax(-1)
        with torch.no_grad(), injected_token_embeddings(erased.text_encoder, slice(1, 1 + cfg.k), vocab[hard]):
            embeds = erased.text_encoder(ids[todo])[0]
        attacked = generate(erased, embeds, [seeds[i] for i in todo], sampler, desc="attack: judge")
        won = np.asarray(detect(attacked), bool)
        for j, i in enumerate(todo):
            adv_prompts[i] = _decode(erased.tokenizer, hard[j], prompts[i])
            images[i] = attacked[j]
            success[i] = won[j]
        if success.all():
            break
    return AttackOutcome(adv_prompts, images, success, pre_success)


def soft_prompt_attack(text_encoder, unet, ids: torch.Tensor, init: torch.Tensor, draw, steps: int, lr: float,
                       method: str = "pgd") -> torch.Tensor:
    """AdvUnlearn's training attack (`soft_prompt_attack` of its attack_util.py): k continuous word embeddings
    after the start token, optimised with Adam so the model's noise prediction matches a target.

    `ids` (1, 77) has k placeholder slots after the start token (`prefix_ids`); `init` (1, k, D) starts the
    search; `draw()` returns (x_t, t, target noise). `pgd` steps on the gradient, `fast_at` on its sign.
    Returns the adversarial embeddings (1, k, D), detached; the models' parameters get no gradient.
    """
    k = init.shape[1]
    variable = init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([variable], lr=lr)
    trainable = [p for p in text_encoder.parameters() if p.requires_grad]
    text_encoder.requires_grad_(False)
    for _ in range(steps):
        x, t, target = draw()
        with injected_token_embeddings(text_encoder, slice(1, 1 + k), variable):
            cond = text_encoder(ids)[0]
        loss = F.mse_loss(unet(x, t, encoder_hidden_states=cond).sample, target)
        optimizer.zero_grad()
        loss.backward()
        if method == "fast_at":
            variable.grad.sign_()
        optimizer.step()
    for p in trainable:
        p.requires_grad_(True)
    return variable.detach()


def _sampled_timesteps(count: int, total: int) -> list[int]:
    """The anchor's `sampled_t`: `count` timesteps evenly spaced over [0, total), offset by half a stride."""
    stride = total // count
    return list(range(stride // 2, total, stride))[:count]


def _decode(tokenizer, token_ids: torch.Tensor, prompt: str) -> str:
    return f"{tokenizer.decode(token_ids.tolist()).strip()} {prompt}"

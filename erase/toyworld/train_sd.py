"""Train toy-sd: a diffusers `StableDiffusionPipeline` on the toy world, built the way Stable
Diffusion is: an `AutoencoderKL` (32x32 RGB -> 4x8x8 latents, scaled to unit variance), the frozen
toy-clip text tower as `CLIPTextModel`, and a `UNet2DConditionModel` trained with the epsilon
objective on SD's scaled-linear noise schedule, with 10% empty captions for classifier-free guidance.

The VAE is trained first (reconstruction + a small KL + toy-detector's cross-entropy on the
reconstruction, so that the small features that carry attributes survive the 4x downsampling).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextModel, CLIPTokenizer

from erase.runs import Run
from erase.toyworld.data import Batch
from erase.toyworld.detector import ToyDetector
from erase.toyworld.training import Schedule, batch_at, train

VAE_SCHEDULE = Schedule(steps=2500, batch_size=64, lr=1e-3, seed=1)
UNET_SCHEDULE = Schedule(steps=6000, batch_size=64, lr=3e-4, warmup=500, checkpoint_every=500, seed=2,
                         ema_decay=0.999)
# Started from a trained pipeline (`--init`): the UNet adapts to the current toy-clip text tower, VAE kept. Half of
# each batch are counterfactual twins, as in toy-clip's last stage: without them 2,000 steps drew beards 0.755 of the
# time (toy-sd v3), with them 0.865 (v4, 200 samples).
UNET_FINETUNE_SCHEDULE = Schedule(steps=2000, batch_size=64, lr=1e-4, warmup=100, checkpoint_every=500, seed=4,
                                  ema_decay=0.999, twins=True)
P_UNCONDITIONAL = 0.1  # caption dropout for classifier-free guidance
KL_WEIGHT = 1e-6  # SD's autoencoder keeps the KL term tiny
DETECTOR_WEIGHT = 0.02
# Stable Diffusion v1's noise schedule (scheduler_config.json of CompVis/stable-diffusion-v1-4).
NOISE_SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                      clip_sample=False, prediction_type="epsilon")


def build_vae() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, sample_size=32, layers_per_block=1, norm_num_groups=16,
        block_out_channels=(32, 64, 64),
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
    )


def build_unet(cross_attention_dim: int) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(64, 128, 128),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=cross_attention_dim, attention_head_dim=8, norm_num_groups=32,
    )


def train_vae(run: Run, detector: ToyDetector, schedule: Schedule = VAE_SCHEDULE) -> AutoencoderKL:
    torch.manual_seed(schedule.seed)
    vae = build_vae()
    detector.requires_grad_(False).eval()

    def loss_fn(batch: Batch, step: int):
        posterior = vae.encode(batch.images).latent_dist
        recon = vae.decode(posterior.sample()).sample
        rec = F.mse_loss(recon, batch.images) + F.l1_loss(recon, batch.images)
        logits = detector(recon)
        attr = sum(F.cross_entropy(logits[h], batch.labels[h], ignore_index=-1) for h in detector.heads)
        loss = rec + KL_WEIGHT * posterior.kl().mean() + DETECTOR_WEIGHT * attr
        return loss, {"rec": rec.item(), "attr": attr.item()}

    train({"vae": vae}, loss_fn, schedule, run, desc="toy-sd vae")
    with torch.no_grad():
        latents = vae.encode(batch_at(schedule.seed + 1000, 0, 512).images).latent_dist.mean
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae


def text_embeddings(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, prompts: list[str]) -> torch.Tensor:
    """(N, 77, D): the last hidden state of prompts padded to 77 tokens, as SD conditions on."""
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return text_encoder(ids.to(text_encoder.device))[0]


def train_unet(run: Run, vae: AutoencoderKL, tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel,
               schedule: Schedule = UNET_SCHEDULE, unet: UNet2DConditionModel | None = None) -> UNet2DConditionModel:
    torch.manual_seed(schedule.seed)
    unet = unet or build_unet(text_encoder.config.hidden_size)
    noise_scheduler = DDPMScheduler(**NOISE_SCHEDULE)
    vae.requires_grad_(False).eval()
    text_encoder.requires_grad_(False).eval()
    gen = torch.Generator()

    def loss_fn(batch: Batch, step: int):
        gen.manual_seed(schedule.seed * 1_000_003 + step)
        n = len(batch.captions)
        drop = torch.rand(n, generator=gen) < P_UNCONDITIONAL
        prompts = ["" if d else c for d, c in zip(drop.tolist(), batch.captions, strict=True)]
        with torch.no_grad():
            posterior = vae.encode(batch.images).latent_dist
            sample = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=gen)
            latents = sample * vae.config.scaling_factor
            cond = text_embeddings(tokenizer, text_encoder, prompts)
        noise = torch.randn(latents.shape, generator=gen)
        t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (n,), generator=gen)
        pred = unet(noise_scheduler.add_noise(latents, noise, t), t, encoder_hidden_states=cond).sample
        return F.mse_loss(pred, noise), {}

    train({"unet": unet}, loss_fn, schedule, run, desc="toy-sd unet")
    return unet


def train_sd(run: Run, clip_dir: Path, detector_dir: Path, init: Path | None = None) -> StableDiffusionPipeline:
    """VAE, then UNet from scratch; with `init` (a trained toy-sd), its VAE and UNet are kept and the UNet
    is fine-tuned on the text tower of `clip_dir`."""
    tokenizer = CLIPTokenizer.from_pretrained(clip_dir)
    text_encoder = CLIPTextModel.from_pretrained(clip_dir)
    if init is None:
        vae = train_vae(Run(run.dir / "vae"), ToyDetector.from_pretrained(detector_dir))
        unet = train_unet(Run(run.dir / "unet"), vae, tokenizer, text_encoder)
    else:
        vae = AutoencoderKL.from_pretrained(init, subfolder="vae")
        unet = train_unet(Run(run.dir / "unet-finetune"), vae, tokenizer, text_encoder, UNET_FINETUNE_SCHEDULE,
                          UNet2DConditionModel.from_pretrained(init, subfolder="unet"))
    scheduler = DDIMScheduler(**NOISE_SCHEDULE, set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)

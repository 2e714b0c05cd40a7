"""AdvUnlearn: Defensive Unlearning with Adversarial Training for Robust Concept Erasure in Diffusion
Models (Zhang et al., NeurIPS 2024); OPTML-Group/AdvUnlearn `train-scripts/AdvUnlearn.py`.

Only the text encoder is trained, so the result plugs into any SD v1 pipeline. Each iteration:
1. (after `warmup_iter`, every `adv_prompt_update_step`) the attack: k adversarial word embeddings
   prefixed after the start token are optimised for `attack_steps` Adam steps (`pgd`; `fast_at` steps
   on the gradient's sign) to make the erased model's noise prediction match the frozen model's on the
   concept, MSE(e_n(x_t, c_adv), e_0(x_t, c)); warm-started from the previous round (`latest`);
2. the unlearning step: ESD's loss (`esd.esd_target`, eta 1) on the adversarial prompt (on the plain
   prompt during warm-up), plus the utility-retaining regulariser `w * MSE(e_n(x_r, c_r), e_0(x_r, c_r))`
   over `retain_batch` retain prompts ("reg" mode of the README); w is the README's 0.3 for nudity (its one
   command) and the argparse default 1.0 for any other concept.

Defaults are the official script's and README's nudity command. Choices and deviations:
- Trained parameters: every encoder layer plus the final layer norm (`text_encoder_full`, component
  `all`); `train_layers` selects layers by index. The official `layer01`-style names match by prefix, so
  `layer01` also trains layers 10 and 11: here an index means exactly that layer. Measured on toy nudity (toy
  preset, seed 0, the default evaluation; every layer: explicit 2.3% left, ASR 31%, hats -14, beards -25, CLIP score
  92% of the base, FID +68%): layer 0 alone erases as much (1.1%, implicit 2.3%, ASR 25%; CLIP 97%, FID +51%) but
  loses hats -54 and beards -32 (with the regulariser at 5: beards -7 and nothing else below -3, CLIP 99.6%, but
  implicit 6.8%, ASR 62%, FID +54%); layer 1 alone leaves 41% (ASR 94%), layer 2 alone 72% (ASR 88%).
- `--lr` is declared `int` in the official argparse (so any value given on the command line fails to
  parse): its default 1e-5 is used.
- `attack_init` keeps the argparse default `latest` (the adversary warm-starts from the previous round), though
  the README's nudity commands pass `--attack_init random`. Measured on toy nudity (toy preset, seed 0, 256
  samples per set): random restarts, with the toy preset's 10 attack steps a round, train a model the attack still
  breaks (ASR 94% against 25%; hats -43, beards -27 against -17, -21).
- Speed (`faithful=False`, the default): the UNet is frozen, so x_t depends only on frozen parts. A pool
  of `pool_size` guided DDIM trajectories per prompt (x_t at every step, with the frozen model's e_0 and
  e_p there, which the run computes anyway) is built once and every attack and unlearning step draws a
  random (trajectory, step) from it, instead of re-running up to 50 guided steps for each of the 30 attack
  steps. `faithful=True` re-samples exactly as the official code does; `benchmarks/bench_diffusion.py`
  compares both. Measured on toy nudity (toy-sd v4, seeds 0-4, ASR on 64 attack prompts): 121 s of training
  instead of 1,386 s; on average over the seeds ASR 47% vs 44%, retained detection rate 91.4% vs 92.7%, CLIP
  score 0.610 vs 0.641, explicit rate 3.4% vs 3.3%: within the 5 points the default may differ by (README,
  "AdvUnlearn's default", gives every seed and the single attributes).
- Retain prompts (`regulariser`) instead of the official 243-prompt `coco_object_retain.csv`: the concept's
  `retain_prompts` (toy: the first prompt of each neighbour the evaluation checks; real: 8 COCO prompts; a concept
  YAML can give more), and for concepts other than nudity also every other prompt of the concepts it must keep
  (`protected_prompts`). Measured on toy car (toy preset, weight 5, seed 0, 256 samples per set): with the first
  prompts only, "a photo of a house" kept 94% but "a house in the city", whose template the erased "a car in the
  city" shares, fell to 12% (retained mean 90%, houses -45, boats -39); with every prompt, 99% (boats -3).
- x_t is predicted at the DDIM timestep it was drawn at (see esd.py).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from erase.concepts import Concept
from erase.diffusion.methods.esd import PartialSampler, esd_target, frozen_copy, latent_shape, step_rng
from erase.diffusion.sampling import encode_prompts, trajectory, uncond_cond_eps
from erase.eval.attacks import injected_token_embeddings, prefix_ids, soft_prompt_attack
from erase.runs import Run, atomic_save_dir
from erase.training import Loop, fit

logger = logging.getLogger(__name__)
POOL_BATCH = 64  # trajectories per UNet call while the pool is built


@dataclass(frozen=True)
class AdvUnlearnConfig:
    iterations: int = 1000  # --iterations
    lr: float = 1e-5  # --lr
    train_layers: tuple[int, ...] | None = None  # None: all layers (--train_method text_encoder_full)
    final_layer_norm: bool = True  # --component all trains it
    negative_guidance: float = 1.0  # eta, --negative_guidance
    start_guidance: float = 3.0  # --start_guidance
    ddim_steps: int = 50  # --ddim_steps
    attack_method: Literal["pgd", "fast_at"] = "pgd"  # --attack_method
    adv_prompt_num: int = 1  # k, --adv_prompt_num
    attack_steps: int = 30  # --attack_step
    attack_lr: float = 1e-3  # --attack_lr
    attack_init: Literal["latest", "random"] = "latest"  # --attack_init
    warmup_iter: int = 200  # --warmup_iter
    adv_prompt_update_step: int = 1  # --adv_prompt_update_step
    retain_batch: int = 5  # --retain_batch
    retain_loss_w: float = 1.0  # --retain_loss_w (argparse default), for every concept but nudity
    nudity_retain_loss_w: float = 0.3  # README's nudity command: --retain_train reg --retain_loss_w 0.3
    faithful: bool = False  # True: re-sample x_t every step as the official code does
    pool_size: int = 16  # cached trajectories per prompt when not faithful
    checkpoint_every: int = 100
    seed: int = 0


def trainable_parameters(text_encoder, cfg: AdvUnlearnConfig) -> list[torch.nn.Parameter]:
    """Encoder layers (all, or exactly `train_layers`) and optionally the final layer norm."""
    chosen = []
    for name, param in text_encoder.named_parameters():
        parts = name.split(".")
        if "layers" in parts:
            index = int(parts[parts.index("layers") + 1])
            if cfg.train_layers is None or index in cfg.train_layers:
                chosen.append(param)
        elif "final_layer_norm" in parts and cfg.final_layer_norm:
            chosen.append(param)
    return chosen


def regulariser(concept: Concept, cfg: AdvUnlearnConfig) -> tuple[float, list[str]]:
    """The utility regulariser's weight and prompts. Nudity: the README nudity command's weight and the concept's
    `retain_prompts`; any other concept: the argparse default weight and `protected_prompts` (every phrasing of
    every neighbour). Measured on toy nudity (toy preset, seed 0, the default evaluation), `protected_prompts`
    let more through (implicit 6% against 4.5%, ASR 50% against 31%) and kept no more by detection (retained 94.6%
    against 95.2%), though CLIP score and FID moved less (98.6% of the base against 92.2%, +42% against +65%; FID
    then compared every held-out scene, the concept's own too). With the toy preset's other weight, 5, as well:
    implicit 11.4%, ASR 50%, every retained concept kept but beards (-11 against -25), CLIP 99% of the base, FID
    +50% against +68%."""
    if concept.category == "nudity":
        return cfg.nudity_retain_loss_w, list(concept.retain_prompts)
    return cfg.retain_loss_w, list(concept.protected_prompts)


class NoisySource:
    """(x_t, t, e_0, e_p) for a prompt: the frozen model's guided partial sample and its predictions there.

    Faithful: drawn afresh each call. Pooled: looked up in `pool_size` precomputed trajectories per prompt.
    """

    def __init__(self, unet, scheduler_config, conds: torch.Tensor, uncond: torch.Tensor, cfg: AdvUnlearnConfig,
                 shape: tuple[int, ...]):
        self.unet, self.conds, self.uncond, self.cfg = unet, conds, uncond, cfg
        self.sampler = PartialSampler(unet, scheduler_config, cfg.ddim_steps, cfg.start_guidance, shape)
        self.pool = None if cfg.faithful else self._trajectories(cfg.pool_size, shape)

    @torch.no_grad()
    def _trajectories(self, per_prompt: int, shape) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x, e_0 and e_p at every DDIM step of `per_prompt` runs per prompt, each (prompts, per_prompt, steps,
        C, H, W); the runs go through the UNet `POOL_BATCH` at a time, whatever the prompt."""
        noise = torch.cat([torch.randn((per_prompt, *shape), generator=torch.Generator().manual_seed(
            self.cfg.seed * 7919 + index)) for index in range(len(self.conds))]).to(self.conds.device)
        conds = self.conds.repeat_interleave(per_prompt, dim=0)
        runs = [trajectory(self.unet, self.sampler.scheduler, conds[i : i + POOL_BATCH],
                           self.uncond.expand(len(conds[i : i + POOL_BATCH]), -1, -1), noise[i : i + POOL_BATCH],
                           self.cfg.start_guidance) for i in range(0, len(conds), POOL_BATCH)]
        return tuple(torch.cat(parts, dim=1).transpose(0, 1).unflatten(0, (len(self.conds), per_prompt))
                     for parts in zip(*runs, strict=True))

    @torch.no_grad()
    def draw(self, indices: list[int], rng: random.Random, stop: int | None = None):
        """x_t, t, e_0, e_p for prompts `indices` at one shared DDIM step (random unless `stop` given)."""
        timesteps = self.sampler.scheduler.timesteps
        stop = rng.randrange(len(timesteps)) if stop is None else stop
        t = timesteps[stop].to(self.uncond.device)
        if self.pool is None:
            cond, uncond = self.conds[indices], self.uncond.expand(len(indices), -1, -1)
            x, t = self.sampler.draw(cond, uncond, rng, stop)
            e_0, e_p = uncond_cond_eps(self.unet, x, t, cond, uncond)
            return x, t, e_0, e_p, stop
        picks = torch.tensor([rng.randrange(self.pool[0].shape[1]) for _ in indices])
        x, e_0, e_p = (part[torch.tensor(indices), picks, stop] for part in self.pool)
        return x, t, e_0, e_p, stop


def erase(pipe, concept: Concept, cfg: AdvUnlearnConfig, run: Run):
    """Adversarially fine-tune `pipe.text_encoder` so that `concept` stays erased under attack."""
    # 1. Frozen parts: the UNet (never trained), the original text encoder; trainable layers.
    pipe.unet.requires_grad_(False).eval()
    original_encoder = frozen_copy(pipe.text_encoder)
    encoder = pipe.text_encoder
    params = trainable_parameters(encoder, cfg)
    encoder.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    prompts = list(concept.training_prompts)
    retain_w, retain = regulariser(concept, cfg)
    with torch.no_grad():
        conds = encode_prompts(pipe.tokenizer, original_encoder, prompts)
        retain_conds = encode_prompts(pipe.tokenizer, original_encoder, retain)
        uncond = encode_prompts(pipe.tokenizer, original_encoder, [""])
    shape = latent_shape(pipe)
    concept_source = NoisySource(pipe.unet, pipe.scheduler.config, conds, uncond, cfg, shape)
    retain_source = NoisySource(pipe.unet, pipe.scheduler.config, retain_conds, uncond, cfg, shape)
    prompt_ids, retain_ids = (pipe.tokenizer(p, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                             truncation=True, return_tensors="pt").input_ids.to(pipe.device)
                              for p in (prompts, retain))
    adv_ids = prefix_ids(pipe.tokenizer, prompts, cfg.adv_prompt_num).to(pipe.device)
    vocab = encoder.get_input_embeddings().weight
    adv = torch.zeros(1, cfg.adv_prompt_num, vocab.shape[1], device=pipe.device)  # the adversarial word embedding
    word = torch.zeros((), dtype=torch.long)  # index of the prompt the current adversary targets
    unet = pipe.unet

    # 2. The attack: k word embeddings that make the erased model predict the concept again.
    def attack(rng: random.Random, first: bool) -> None:
        if first or cfg.attack_init == "random":
            gen = torch.Generator().manual_seed(rng.randrange(2**31))
            adv.copy_(vocab.detach()[torch.randint(len(vocab), (cfg.adv_prompt_num,), generator=gen)][None])

        def draw():
            x, t, _, e_p, _ = concept_source.draw([int(word)], rng)
            return x, t, e_p

        adv.copy_(soft_prompt_attack(encoder, unet, adv_ids[int(word)][None], adv, draw, cfg.attack_steps,
                                     cfg.attack_lr, cfg.attack_method))

    # 3. The unlearning step: ESD on the (adversarial) prompt, plus the retain regulariser.
    def step_fn(step: int):
        rng = step_rng(cfg.seed, step)
        if step % cfg.adv_prompt_update_step == 0:
            word.fill_(rng.randrange(len(prompts)))
            if step >= cfg.warmup_iter:
                attack(rng, first=step == cfg.warmup_iter)
        i = int(word)
        x, t, e_0, e_p, stop = concept_source.draw([i], rng)
        if step < cfg.warmup_iter:
            cond = encoder(prompt_ids[i][None])[0]
        else:
            with injected_token_embeddings(encoder, slice(1, 1 + cfg.adv_prompt_num), adv):
                cond = encoder(adv_ids[i][None])[0]
        loss = F.mse_loss(unet(x, t, encoder_hidden_states=cond).sample, esd_target(e_0, e_p, cfg.negative_guidance))
        logs = {"unlearn": loss.item()}
        if retain_w > 0 and retain:
            chosen = rng.sample(range(len(retain)), min(cfg.retain_batch, len(retain)))
            x_r, t_r, _, e_r, _ = retain_source.draw(chosen, rng, stop=stop)
            retain_cond = encoder(retain_ids[chosen])[0]
            retain_loss = F.mse_loss(unet(x_r, t_r, encoder_hidden_states=retain_cond).sample, e_r)
            loss = loss + retain_w * retain_loss
            logs["retain"] = retain_loss.item()
        return loss, logs

    encoder.train()
    optimizer = torch.optim.Adam(params, lr=cfg.lr)
    fit({"text_encoder": encoder}, {"optimizer": optimizer}, step_fn,
        Loop(steps=cfg.iterations, checkpoint_every=cfg.checkpoint_every, state={"adv": adv, "word": word}),
        run, desc="AdvUnlearn")
    encoder.requires_grad_(False).eval()
    # 4. The text encoder alone, plug-and-play into any SD v1 pipeline (as the official release).
    atomic_save_dir(encoder.save_pretrained, run.dir / "text_encoder")
    return pipe

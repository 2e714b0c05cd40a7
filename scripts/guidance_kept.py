"""How much of each prompt's guidance an erased model keeps, step by step (README, "Why sketch resists").

    python scripts/guidance_kept.py runs/RUN/model "a sketch of a house" "a photo of a person with a beard"

Along guided DDIM runs of the original model on the prompt (start guidance 3, the way ESD and AdvUnlearn draw x_t),
each printed step gives the share of the original's guidance direction e_p - e_0 (prompt minus empty prompt) left
in the erased model's own, e_n - e_0': the projection <e_n - e_0', e_p - e_0> / |e_p - e_0|^2. 1: untouched, as a
retained prompt should be; 0: the prompt acts as the empty prompt; -1: ESD's target (eta 1), steered away from
itself. UNet (ESD, DoCo) and text-encoder (AdvUnlearn) erasures alike: both parts come from the erased folder.
"""

from __future__ import annotations

import argparse

import torch
from diffusers import StableDiffusionPipeline

from erase.diffusion.methods.esd import latent_shape
from erase.diffusion.sampling import ddim_scheduler, encode_prompts, trajectory, uncond_cond_eps
from erase.errors import EraseError
from erase.hub import load_pretrained


@torch.no_grad()
def guidance_kept(original, erased, prompt: str, runs: int, steps: int, guidance: float,
                  every: int = 1) -> list[tuple[int, float]]:
    """(timestep, share of the original's guidance direction kept) at every `every`-th DDIM step, over `runs`
    trajectories."""
    def conditions(pipe):
        return (encode_prompts(pipe.tokenizer, pipe.text_encoder, [p] * runs) for p in (prompt, ""))

    (cond, uncond), (erased_cond, erased_uncond) = conditions(original), conditions(erased)
    scheduler = ddim_scheduler(original.scheduler.config, steps)
    noise = torch.randn((runs, *latent_shape(original)), generator=torch.Generator().manual_seed(0))
    states, uncond_eps, cond_eps = trajectory(original.unet, scheduler, cond, uncond, noise, guidance)
    kept = []
    for x, t, e_0, e_p in list(zip(states, scheduler.timesteps, uncond_eps, cond_eps, strict=True))[::every]:
        erased_0, e_n = uncond_cond_eps(erased.unet, x, t, erased_cond, erased_uncond)
        direction = e_p - e_0
        kept.append((int(t), float(((e_n - erased_0) * direction).sum() / (direction * direction).sum())))
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("erased", help="the erased diffusers folder (a run's model/)")
    parser.add_argument("prompts", nargs="+")
    parser.add_argument("--original", default="toy-sd", help="the model it was erased from (default: toy-sd)")
    parser.add_argument("--runs", type=int, default=8, help="trajectories per prompt")
    parser.add_argument("--steps", type=int, default=25, help="DDIM steps (toy-sd's sampler: 25)")
    parser.add_argument("--every", type=int, default=3, help="print every n-th step")
    parser.add_argument("--guidance", type=float, default=3.0, help="start guidance (ESD's and AdvUnlearn's: 3)")
    args = parser.parse_args()
    try:
        original, erased = (load_pretrained(StableDiffusionPipeline, m) for m in (args.original, args.erased))
    except EraseError as exc:
        parser.exit(2, f"error: {exc}\n")
    for prompt in args.prompts:
        kept = guidance_kept(original, erased, prompt, args.runs, args.steps, args.guidance, args.every)
        print(f"{prompt!r}: " + " ".join(f"t={t}:{share:.2f}" for t, share in kept))


if __name__ == "__main__":
    main()

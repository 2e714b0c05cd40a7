"""Partial DDIM sampling: a cached trajectory is exactly the step-by-step sampler's x_t and predictions."""

import torch

from erase.diffusion.methods.esd import latent_shape
from erase.diffusion.sampling import ddim_scheduler, denoise_until, encode_prompts, trajectory, uncond_cond_eps


def test_a_trajectory_holds_every_partial_sample_and_the_predictions_there(tiny_pipeline):
    pipe = tiny_pipeline
    scheduler = ddim_scheduler(pipe.scheduler.config, 5)
    with torch.no_grad():
        cond = encode_prompts(pipe.tokenizer, pipe.text_encoder, ["a photo of a naked person", "a photo of a car"])
        uncond = encode_prompts(pipe.tokenizer, pipe.text_encoder, ["", ""])
    noise = torch.randn((2, *latent_shape(pipe)), generator=torch.Generator().manual_seed(0))
    states, e_0, e_c = trajectory(pipe.unet, scheduler, cond, uncond, noise, guidance=3.0)
    assert states.shape == e_0.shape == e_c.shape == (5, *noise.shape)
    for stop in (0, 2, 4):
        x = denoise_until(pipe.unet, scheduler, cond, uncond, noise, 3.0, stop)
        torch.testing.assert_close(states[stop], x)
        with torch.no_grad():
            expected = uncond_cond_eps(pipe.unet, x, scheduler.timesteps[stop], cond, uncond)
        torch.testing.assert_close(e_0[stop], expected[0])
        torch.testing.assert_close(e_c[stop], expected[1])

"""DoCo: gradient surgery against a hand computation, the x0 formula, the discriminator's shape, and what trains."""

import math

import pytest
import torch

from erase.concepts import get
from erase.diffusion.methods import doco
from erase.runs import create_run, open_run
from tests.conftest import build_tiny_pipeline, killed_on_call

TINY = doco.DoCoConfig(max_train_steps=5, warm_up=2, train_batch_size=2, num_class_images=4, sample_steps=3,
                       learning_rate=1e-3, checkpoint_every=2)


def test_surgery_removes_lambda_times_cos_of_the_conflicting_direction():
    g_a, g_b = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    cos = -1 / math.sqrt(2)
    expected = g_a - 0.5 * cos * g_b / math.sqrt(2)  # = [0.75, 0.25]
    assert torch.allclose(doco.surgery(g_a, g_b, 0.5), expected)
    assert torch.allclose(expected, torch.tensor([0.75, 0.25]))
    agreeing = torch.tensor([1.0, 1.0])
    assert torch.equal(doco.surgery(g_a, agreeing, 0.5), g_a)  # no conflict: unchanged


def test_predicted_x0_inverts_the_forward_noising():
    alphas = torch.linspace(0.99, 0.01, 1000)
    x0, eps, t = torch.randn(3, 4, 8, 8), torch.randn(3, 4, 8, 8), torch.tensor([0, 500, 999])
    a = alphas[t].view(-1, 1, 1, 1)
    assert torch.allclose(doco.predicted_x0(eps, a.sqrt() * x0 + (1 - a).sqrt() * eps, t, alphas), x0, atol=1e-4)


@pytest.mark.parametrize("size, patches", [(64, 3), (8, 3)])
def test_patchgan_sees_patches_at_sd_and_toy_sizes(size, patches):
    out = doco.PatchGANDiscriminator(4, size)(torch.randn(2, 4, size, size))
    assert out.shape == (2, 1, patches, patches)


def test_only_cross_attention_kv_trains_and_a_killed_run_resumes_exactly(tmp_path, monkeypatch):
    full = build_tiny_pipeline()
    before = {n: p.clone() for n, p in full.unet.named_parameters()}
    doco.erase(full, get("nudity"), TINY, create_run(tmp_path, "full", TINY, [], 0))
    moved = {n for n, p in full.unet.named_parameters() if not torch.equal(p, before[n])}
    assert moved and all("attn2.to_k" in n or "attn2.to_v" in n for n in moved)

    run = create_run(tmp_path, "killed", TINY, [], 0)
    second_surgery = len(doco.trainable_parameters(full.unet)) + 1  # one call per parameter: step 3
    with killed_on_call(monkeypatch, doco, "surgery", call=second_surgery):
        doco.erase(build_tiny_pipeline(), get("nudity"), TINY, run)
    resumed = build_tiny_pipeline()
    doco.erase(resumed, get("nudity"), TINY, open_run(run.dir))
    for a, b in zip(full.unet.parameters(), resumed.unet.parameters(), strict=True):
        assert torch.equal(a, b)

import contextlib

import torch
from torch import nn

from erase.eval.sampling import SamplerConfig, _RepeatCache, cached_text_projections, generate


def _cache_layers(unet) -> int:
    return sum(isinstance(m, _RepeatCache) for m in unet.modules())


def test_cached_text_projections_give_the_same_images_and_are_removed(tiny_pipeline, monkeypatch):
    from erase.eval import sampling

    prompts, seeds, sampler = ["a photo of a person", "a sketch of a house"] * 2, [0, 1, 2, 3], SamplerConfig(steps=6)
    cached = generate(tiny_pipeline, prompts, seeds, sampler)
    assert _cache_layers(tiny_pipeline.unet) == 0
    monkeypatch.setattr(sampling, "cached_text_projections", lambda unet: contextlib.nullcontext())
    plain = generate(tiny_pipeline, prompts, seeds, sampler)
    assert (cached == plain).all()


def test_the_cache_projects_each_text_once_and_never_under_autograd():
    calls = []
    layer = nn.Linear(4, 4)
    layer.register_forward_hook(lambda *args: calls.append(1))
    cache = _RepeatCache(layer)
    text = torch.randn(2, 3, 4)
    with torch.no_grad():
        first = cache(text)
        assert torch.equal(cache(text.clone()), first) and len(calls) == 1  # equal input: cached
        cache(text + 1)
        assert len(calls) == 2  # new text: projected again
    out = cache(text.requires_grad_())
    assert len(calls) == 3 and out.requires_grad  # autograd: never cached


def test_cache_wraps_only_cross_attention(tiny_pipeline):
    with cached_text_projections(tiny_pipeline.unet):
        wrapped = _cache_layers(tiny_pipeline.unet)
    cross = sum(1 for name, _ in tiny_pipeline.unet.named_modules() if name.endswith("attn2"))
    assert wrapped == 2 * cross > 0

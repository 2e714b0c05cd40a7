"""UnlearnDiffAtk's pieces: the simplex projection, token injection, prefix layout, sampled timesteps."""

import torch
from transformers import CLIPTextConfig, CLIPTextModel

from erase.eval.attacks import _sampled_timesteps, injected_token_embeddings, prefix_ids, project_to_simplex
from erase.toyworld.train_clip import build_tokenizer


def test_projection_lands_on_the_simplex_and_is_the_closest_point():
    v = torch.tensor([[0.5, 0.5, 0.5], [2.0, -1.0, 0.0], [0.2, 0.3, 0.5]])
    p = project_to_simplex(v)
    assert torch.allclose(p.sum(-1), torch.ones(3)) and (p >= 0).all()
    assert torch.allclose(p[0], torch.full((3,), 1 / 3))  # hand-computed: shift by 1/6
    assert torch.allclose(p[1], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(p[2], v[2])  # already on the simplex
    random = torch.randn(64, 50)
    projected = project_to_simplex(random)
    for _ in range(20):  # no other point of the simplex is closer
        other = project_to_simplex(torch.randn(64, 50))
        assert ((random - projected).norm(dim=-1) <= (random - other).norm(dim=-1) + 1e-5).all()


def test_prefix_slots_follow_the_start_token():
    tokenizer = build_tokenizer(n_captions=500)
    ids = prefix_ids(tokenizer, ["a photo of a naked person"], k=5)
    plain = tokenizer("a photo of a naked person").input_ids
    assert ids.shape == (1, 77)
    assert ids[0, 0] == plain[0] and ids[0, 6:6 + len(plain) - 1].tolist() == plain[1:]


def test_injected_embeddings_change_the_output_and_carry_gradients():
    torch.manual_seed(0)
    encoder = CLIPTextModel(CLIPTextConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, max_position_embeddings=12)).eval()
    ids = torch.tensor([[0, 3, 3, 5, 6, 1, 1, 1, 1, 1, 1, 1]])
    adv = torch.randn(1, 2, 16, requires_grad=True)
    with injected_token_embeddings(encoder, slice(1, 3), adv):
        out = encoder(ids)[0]
    out.sum().backward()
    assert adv.grad is not None and adv.grad.abs().sum() > 0
    assert not torch.allclose(out, encoder(ids)[0])  # the hook is gone after the block
    row = encoder.get_input_embeddings().weight[[7, 8]][None]
    with injected_token_embeddings(encoder, slice(1, 3), row):
        injected = encoder(ids)[0]
    swapped = ids.clone()
    swapped[0, 1:3] = torch.tensor([7, 8])
    assert torch.allclose(injected, encoder(swapped)[0], atol=1e-6)  # one-hot rows == real tokens


def test_sampled_timesteps_match_the_anchor():
    assert _sampled_timesteps(50, 1000) == list(range(10, 1000, 20))
    assert _sampled_timesteps(10, 1000)[:3] == [50, 150, 250]


def test_soft_prompt_attack_lowers_its_loss_and_leaves_the_model_alone(tiny_pipeline):
    from erase.eval.attacks import soft_prompt_attack

    pipe = tiny_pipeline
    ids = prefix_ids(pipe.tokenizer, ["a photo of a person"], k=1)
    generator = torch.Generator().manual_seed(0)
    x, t = torch.randn(1, 4, 8, 8, generator=generator), torch.tensor(500)
    target = torch.randn(1, 4, 8, 8, generator=generator)

    def loss(embedding):
        with torch.no_grad(), injected_token_embeddings(pipe.text_encoder, slice(1, 2), embedding):
            cond = pipe.text_encoder(ids)[0]
            return torch.nn.functional.mse_loss(pipe.unet(x, t, encoder_hidden_states=cond).sample, target)

    init = pipe.text_encoder.get_input_embeddings().weight[[5]][None].detach()
    weights = [p.clone() for p in pipe.text_encoder.parameters()]
    adv = soft_prompt_attack(pipe.text_encoder, pipe.unet, ids, init, lambda: (x, t, target), steps=30, lr=0.05)
    assert loss(adv) < loss(init)
    assert all(torch.equal(a, b) for a, b in zip(weights, pipe.text_encoder.parameters(), strict=True))

"""ESD: the loss target, the parameters each variant trains, and resume after a kill."""

import torch

from erase.concepts import get
from erase.diffusion.methods import esd
from erase.runs import create_run, open_run


def test_target_is_the_negatively_guided_noise():
    e_0, e_p = torch.tensor([1.0, 0.0]), torch.tensor([3.0, -1.0])
    assert torch.equal(esd.esd_target(e_0, e_p, eta=1.0), torch.tensor([-1.0, 1.0]))  # e_0 - (e_p - e_0)
    assert torch.equal(esd.esd_target(e_0, e_p, eta=2.0), torch.tensor([-3.0, 2.0]))


def test_variants_train_the_papers_parameter_sets(tiny_pipeline):
    unet = tiny_pipeline.unet
    names = {id(p): n for n, p in unet.named_parameters()}
    picked = {m: {names[id(p)] for p in esd.trainable_parameters(unet, m)} for m in
              ("esd-x", "esd-u", "esd-all", "esd-x-strict")}
    assert picked["esd-x"] and all("attn2" in n for n in picked["esd-x"])
    assert picked["esd-u"] and not any("attn2" in n for n in picked["esd-u"])
    assert picked["esd-x"] | picked["esd-u"] == picked["esd-all"]
    assert picked["esd-x-strict"] < picked["esd-x"] and all(".to_k." in n or ".to_v." in n
                                                             for n in picked["esd-x-strict"])


def test_only_chosen_parameters_move_and_a_killed_run_resumes_exactly(tiny_pipeline, tmp_path, monkeypatch):
    from tests.conftest import build_tiny_pipeline, killed_on_call

    cfg = esd.ESDConfig(train_method="esd-x", iterations=4, lr=1e-3, ddim_steps=5, checkpoint_every=2)
    before = {n: p.clone() for n, p in tiny_pipeline.unet.named_parameters()}
    esd.erase(tiny_pipeline, get("nudity"), cfg, create_run(tmp_path, "full", cfg, [], 0))
    moved = {n for n, p in tiny_pipeline.unet.named_parameters() if not torch.equal(p, before[n])}
    assert moved and all("attn2" in n for n in moved)

    killed = build_tiny_pipeline()
    run = create_run(tmp_path, "killed", cfg, [], 0)
    with killed_on_call(monkeypatch, esd, "esd_target", call=3):
        esd.erase(killed, get("nudity"), cfg, run)
    resumed = build_tiny_pipeline()
    esd.erase(resumed, get("nudity"), cfg, open_run(run.dir))
    for (name, a), b in zip(tiny_pipeline.unet.named_parameters(), resumed.unet.parameters(), strict=True):
        assert torch.equal(a, b), name

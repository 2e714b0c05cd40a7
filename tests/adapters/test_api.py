"""The interface: forget specs, fresh copies, the task registry, the analytic removal."""

import pytest
import torch
from torch import nn

from erase.adapters import get_task, parse_forget
from erase.adapters.analytic import ridge_fit, rls_remove
from erase.adapters.api import fresh_copy
from erase.errors import EraseError


def test_forget_specs_parse(tmp_path):
    assert parse_forget("class:3,5").classes() == (3, 5)
    assert parse_forget("random:10%").fraction() == pytest.approx(0.1)
    assert parse_forget("random:0.25").fraction() == pytest.approx(0.25)
    f = tmp_path / "idx.txt"
    f.write_text("4\n2, 9 2\n")
    assert parse_forget(f"indices:{f}").indices() == (2, 4, 9)


@pytest.mark.parametrize("spec", ["class", "class:", "user:3", "random:150%", "random:x", "class:a", "indices:/nope"])
def test_bad_forget_specs_name_the_fix(spec):
    with pytest.raises(EraseError, match="--forget"):
        s = parse_forget(spec)
        {"class": s.classes, "random": s.fraction, "indices": s.indices}[s.kind]()


def test_fresh_copy_reinitialises_and_leaves_the_original():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    before = [p.clone() for p in model.parameters()]
    clone = fresh_copy(model, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not torch.equal(clone[0].weight, model[0].weight)
    assert torch.equal(fresh_copy(model, seed=1)[0].weight, clone[0].weight)  # seeded


def test_unknown_task_lists_known_ones():
    with pytest.raises(EraseError, match="choose one of classifier"):
        get_task("vision")


def test_rls_removal_equals_ridge_on_the_rest():
    g = torch.Generator().manual_seed(0)
    phi, y = torch.randn(30, 5, generator=g), torch.randn(30, 3, generator=g)
    r, w = ridge_fit(phi, y, gamma=0.5)
    _, w_removed = rls_remove(r, w, phi[20:], y[20:])
    _, w_direct = ridge_fit(phi[:20], y[:20], gamma=0.5)
    assert torch.allclose(w_removed, w_direct, atol=1e-9)

"""Each metric against a value computed by hand on a tiny example."""

import math

import numpy as np
import pytest
import torch

from erase.adapters import metrics as M


def test_accuracy_confidence_entropy_margin():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 3.0]])
    y = torch.tensor([0, 1, 0])
    assert M.accuracy(logits, y) == pytest.approx(100 / 3)  # row 2 ties -> argmax 0 != 1; row 3 wrong
    p0 = math.exp(2) / (math.exp(2) + 1)
    assert M.confidence(logits, y).tolist() == pytest.approx([p0, 0.5, 1 / (1 + math.exp(3))])
    assert M.entropy(logits)[1].item() == pytest.approx(math.log(2))
    # margin = correct logit - logsumexp(other logits); with one other logit it is the plain difference
    assert M.margin(logits, y).tolist() == pytest.approx([2.0, 0.0, -3.0])
    three = torch.tensor([[1.0, 0.0, 0.0]])
    assert M.margin(three, torch.tensor([0])).item() == pytest.approx(1 - math.log(2))


def test_accuracy_of_nothing_is_nan():
    assert math.isnan(M.accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)))


def test_svc_mia_efficacy_counts_targets_called_non_members():
    members, nonmembers = np.full(20, 0.99), np.full(20, 0.30)
    # 3 targets look like members, 1 like a non-member: efficacy = 1/4 called non-member
    assert M.svc_mia_efficacy(members, nonmembers, np.array([0.99, 0.98, 0.97, 0.31])) == pytest.approx(25.0)


def test_entropy_mia_counts_targets_called_members():
    members, nonmembers = np.linspace(0.0, 0.1, 30), np.linspace(1.0, 1.5, 30)
    assert M.entropy_mia(members, nonmembers, np.array([0.05, 1.2, 1.3, 1.4])) == pytest.approx(25.0)


def test_loss_mia_is_share_called_members():
    members, nonmembers = np.full(20, 0.01), np.full(20, 2.0)
    assert M.loss_mia(members, nonmembers, np.array([0.02, 1.9])) == pytest.approx(50.0)


def test_linear_cka_by_hand():
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert M.linear_cka(x, 3 * x @ torch.tensor([[0.0, -1.0], [1.0, 0.0]])) == pytest.approx(1.0)  # rotation, scale
    # y = first coordinate only: X^T X = diag(2, 2), Y^T Y = [[2]], Y^T X = [[2, 0]] -> 4 / (sqrt(8) * 2)
    assert M.linear_cka(x, x[:, :1]) == pytest.approx(4 / (math.sqrt(8) * 2))


def test_klom_gaussian_kl_by_hand():
    unlearned = torch.tensor([[0.0, 1.0], [2.0, 3.0]])  # per sample: means 1, 2; variances 2, 2
    retrained = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # means 1, 1; variances 2, 2
    # KL(N(1,2) || N(1,2)) = 0; KL(N(2,2) || N(1,2)) = (2-1)^2 / (2*2) = 0.25; the max (quantile 1) is 0.25
    assert M.klom(unlearned, retrained, quantile=1.0, eps=0.0) == pytest.approx(0.25)
    assert M.klom(unlearned, retrained, quantile=0.0, eps=0.0) == pytest.approx(0.0)


def test_mae():
    assert M.mae(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 4.0])) == pytest.approx(1.5)

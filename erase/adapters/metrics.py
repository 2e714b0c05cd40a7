"""Unlearning metrics, computed as the anchors compute them, without their bugs.

- UA / RA / TA (Unlearn-Sparse `main_forget.py`): UA = 100 - accuracy on D_f; RA, TA = accuracy on D_r and on
  the test set; percentages.
- MIA-efficacy (Unlearn-Sparse `evaluation/SVC_MIA.py`, "confidence" entry of `SVC_MIA_forget_efficacy`): an
  RBF SVC (C=3, gamma="auto") on the true-class confidence, fit on shadow members = the first |D_test|
  samples of D_r and non-members = D_test, then the share of D_f it calls non-members, in %. Their
  `collect_prob` returns a hard-coded 10-class empty tensor for a missing loader and their `m_entropy`
  indexes columns with the labels of the whole batch; neither is reproduced (we use only the confidence).
- Entropy MIA (SSD `src/metrics.py::get_membership_attack_prob`, from bad-teaching): a class-balanced logistic
  regression on the prediction entropy, fit on D_r (members) vs D_test (non-members), then the share of
  D_f it calls members, in % (lower = more forgotten).
- Linear CKA (Kornblith et al. 2019), as "Are We Truly Forgetting?" uses it: representations of the same
  inputs under two models; 1 = identical up to rotation and scale.
- KLoM (Georgiev et al. 2024, DMM paper): per sample, the KL divergence between the distribution of the
  margin under unlearned models and under retrained models (an ensemble over seeds); we fit a Gaussian
  to each and report the 95th percentile over samples as the paper's tables do.
- Regression (Blindspot, `metrics.py`): MAE, and an RBF SVC (C=3, gamma="auto") on the per-sample L1 loss,
  members D_r vs non-members D_test, giving the share of D_f called members, in %.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Accuracy ------------------------------------------------------------------------


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy in %, (N, C) logits vs (N,) labels; nan for no samples."""
    if len(targets) == 0:
        return float("nan")
    return 100.0 * (logits.argmax(1) == targets).float().mean().item()


def confidence(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(N,) softmax probability of the true class."""
    return F.softmax(logits, dim=1).gather(1, targets[:, None]).squeeze(1)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """(N,) entropy (nats) of the softmax, with 0 log 0 = 0."""
    p = F.softmax(logits, dim=1)
    return -torch.where(p > 0, p * p.log(), torch.zeros_like(p)).sum(1)


def margin(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(N,) correct-class logit minus the log-sum-exp of the other logits (the DMM paper's margin)."""
    correct = logits.gather(1, targets[:, None]).squeeze(1)
    others = logits.scatter(1, targets[:, None], float("-inf"))
    return correct - torch.logsumexp(others, dim=1)


# Membership inference ------------------------------------------------------------------------


def svc_mia_efficacy(shadow_member: np.ndarray, shadow_nonmember: np.ndarray, target: np.ndarray) -> float:
    """% of `target` an RBF SVC (C=3, gamma="auto") on one feature, fit members vs non-members, calls
    non-members."""
    from sklearn.svm import SVC

    x = np.concatenate([shadow_member, shadow_nonmember]).reshape(-1, 1)
    y = np.concatenate([np.ones(len(shadow_member)), np.zeros(len(shadow_nonmember))])
    clf = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)
    return 100.0 * float(1 - clf.predict(np.asarray(target).reshape(-1, 1)).mean())


def entropy_mia(member: np.ndarray, nonmember: np.ndarray, target: np.ndarray) -> float:
    """% of `target` a class-balanced logistic regression on one feature, fit members vs non-members, calls
    members."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([member, nonmember]).reshape(-1, 1)
    y = np.concatenate([np.ones(len(member)), np.zeros(len(nonmember))])
    clf = LogisticRegression(class_weight="balanced", solver="lbfgs").fit(x, y)
    return 100.0 * float(clf.predict(np.asarray(target).reshape(-1, 1)).mean())


def loss_mia(member_loss: np.ndarray, nonmember_loss: np.ndarray, target_loss: np.ndarray) -> float:
    """Blindspot's regression MIA: % of `target` an RBF SVC on the per-sample loss calls members."""
    return 100.0 - svc_mia_efficacy(member_loss, nonmember_loss, target_loss)


# Representations and ensembles ------------------------------------------------------------------------


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA of (N, D1) and (N, D2) representations of the same N inputs."""
    x = (x - x.mean(0)).double()
    y = (y - y.mean(0)).double()
    cross = (y.T @ x).norm() ** 2
    denom = (x.T @ x).norm() * (y.T @ y).norm()
    return float(cross / denom) if denom > 0 else float("nan")


def klom(unlearned: torch.Tensor, retrained: torch.Tensor, quantile: float = 0.95, eps: float = 1e-6) -> float:
    """KLoM: (K, N) margins of K unlearned and K' retrained models on N samples -> the `quantile` over samples of
    KL(N(mu_u, s_u^2) || N(mu_r, s_r^2)), each Gaussian fit over the models."""
    mu_u, mu_r = unlearned.double().mean(0), retrained.double().mean(0)
    var_u = unlearned.double().var(0, unbiased=True) + eps
    var_r = retrained.double().var(0, unbiased=True) + eps
    kl = 0.5 * (torch.log(var_r / var_u) + (var_u + (mu_u - mu_r) ** 2) / var_r - 1)
    return float(torch.quantile(kl, quantile))


# Regression ------------------------------------------------------------------------


def mae(pred: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean absolute error; nan for no samples."""
    return float((pred.flatten() - targets.flatten()).abs().mean()) if len(targets) else float("nan")

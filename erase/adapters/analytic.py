"""Closed-form last layers: ridge regression on representations and its exact recursive-least-squares removal.

Used by ACU, which makes the removed solution the model's head.
"""

from __future__ import annotations

import torch
from torch import nn


def with_bias(phi: torch.Tensor) -> torch.Tensor:
    """(N, D) -> (N, D + 1) with a constant 1 column, so the bias is one more weight row."""
    return torch.cat([phi, torch.ones(len(phi), 1, dtype=phi.dtype)], dim=1)


def ridge_fit(phi: torch.Tensor, y: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """R = (Phi^T Phi + gamma I)^-1 and W = R Phi^T Y, in float64."""
    phi, y = phi.double(), y.double()
    r = torch.linalg.inv(phi.T @ phi + gamma * torch.eye(phi.shape[1], dtype=phi.dtype))
    return r, r @ phi.T @ y


def rls_remove(r: torch.Tensor, w: torch.Tensor, phi_f: torch.Tensor, y_f: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ridge solution without the rows (phi_f, y_f), from (R, W) alone (Woodbury):
    R' = R + R Phi_f^T (I - Phi_f R Phi_f^T)^-1 Phi_f R;  W' = W + R' Phi_f^T (Phi_f W - Y_f)."""
    phi_f, y_f = phi_f.double(), y_f.double()
    k = torch.eye(len(phi_f), dtype=r.dtype) - phi_f @ r @ phi_f.T
    r_new = r + r @ phi_f.T @ torch.linalg.solve(k, phi_f @ r)
    return r_new, w + r_new @ phi_f.T @ (phi_f @ w - y_f)


@torch.no_grad()
def set_head(head: nn.Linear, w: torch.Tensor) -> None:
    """Load a (D + 1, C) solution (last row = bias) into `head`."""
    head.weight.copy_(w[:-1].T.to(head.weight.dtype))
    head.bias.copy_(w[-1].to(head.bias.dtype))

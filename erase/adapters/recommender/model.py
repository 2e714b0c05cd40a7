"""LightGCN (He et al., SIGIR 2020): layer-0 embeddings propagated over the normalised user-item graph.

The graph is data, not a parameter: `interactions` (a buffer, [M, 2] user/item pairs) is the graph the model
was trained on, and unlearning replaces it (`set_graph`) with the retained interactions. The normalised
adjacency is rebuilt from it on demand, so the state dict holds dense tensors only (safetensors-friendly).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def normalized_adjacency(interactions: torch.Tensor, num_users: int, num_items: int) -> torch.Tensor:
    """D^-1/2 A D^-1/2 of the bipartite graph, a sparse CSR [U+I, U+I] tensor (LightGCN Eq. 7).

    CSR, because `torch.sparse.mm` runs twice as fast with it as with COO on one CPU core (measured).
    """
    n = num_users + num_items
    rows = torch.cat([interactions[:, 0], interactions[:, 1] + num_users])
    cols = torch.cat([interactions[:, 1] + num_users, interactions[:, 0]])
    degree = torch.bincount(rows, minlength=n).float()
    inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
    values = inv_sqrt[rows] * inv_sqrt[cols]
    coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n, n), check_invariants=False).coalesce()
    with warnings.catch_warnings():  # "sparse CSR support is in beta": we use only its matmul
        warnings.simplefilter("ignore", UserWarning)
        return coo.to_sparse_csr()


class _SymmetricMatmul(torch.autograd.Function):
    """A @ h for a symmetric sparse A, whose backward is A @ grad (torch's generic one transposes A: 9x slower)."""

    @staticmethod
    def forward(ctx, adjacency: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return torch.sparse.mm(adjacency, h)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.sparse.mm(ctx.adjacency, grad)


def symmetric_matmul(adjacency: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """`adjacency @ h` [N, d] for a symmetric sparse [N, N] `adjacency`."""
    return _SymmetricMatmul.apply(adjacency, h)


class LightGCN(nn.Module):
    """Scores s(u, i) = <e_u, e_i> of the layer-averaged embeddings (LightGCN Eqs. 4-5)."""

    def __init__(self, num_users: int, num_items: int, dim: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.num_users, self.num_items, self.layers = num_users, num_items, layers  # dim 64, 3 layers: §4.1.2
        self.embedding = nn.Parameter(torch.empty(num_users + num_items, dim))  # E_0: users, then items
        self.register_buffer("interactions", torch.zeros(0, 2, dtype=torch.long))
        self._adjacency: torch.Tensor | None = None
        self.reset_parameters()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_adjacency"] = None  # a cache (CSR tensors cannot be deep-copied); rebuilt on demand
        return state

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding, std=0.1)  # official LightGCN code: normal init, std 0.1

    def set_graph(self, interactions: torch.Tensor) -> None:
        """Propagate over these (user, item) pairs from now on."""
        self.interactions = interactions.to(self.embedding.device)
        self._adjacency = None

    def adjacency(self) -> torch.Tensor:
        if self._adjacency is None or self._adjacency.device != self.interactions.device:
            self._adjacency = normalized_adjacency(self.interactions, self.num_users, self.num_items)
        return self._adjacency

    def propagate(self, layer0: torch.Tensor | None = None, adjacency: torch.Tensor | None = None) -> torch.Tensor:
        """Final embeddings [U+I, d]: the mean of layers 0..L; `layer0`/`adjacency` replace E_0 / the graph."""
        h = self.embedding if layer0 is None else layer0
        adjacency = self.adjacency() if adjacency is None else adjacency
        total = h
        for _ in range(self.layers):
            h = symmetric_matmul(adjacency, h)
            total = total + h
        return total / (self.layers + 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        final = self.propagate()
        return (final[users] * final[self.num_users + items]).sum(-1)

    @torch.no_grad()
    def score_all(self) -> torch.Tensor:
        """Scores of every user for every item, [U, I]."""
        final = self.propagate()
        return final[: self.num_users] @ final[self.num_users:].t()

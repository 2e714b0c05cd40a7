"""A two-layer GCN (Kipf & Welling 2017), the backbone of GNNDelete's and D2DGN's node experiments."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GCN(nn.Module):
    """x [N, F], edge_index [2, E] -> logits [N, C]; `hidden=64` and dropout 0.5 as in Kipf & Welling §5.2
    (their 16 hidden units are too few to fit the 1,500-node SBM's training nodes)."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv  # optional extra: imported when a model is built

        self.conv1 = GCNConv(in_features, hidden)
        self.conv2 = GCNConv(hidden, num_classes)
        self.dropout = dropout

    def embeddings(self, x: torch.Tensor, edge_index: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's node embeddings before its activation, [N, hidden] and the logits [N, C] (GNNDelete's and
        OpenGU's `return_all_emb=True`)."""
        h1 = self.conv1(x, edge_index)  # [N, hidden]
        h = F.dropout(F.relu(h1), self.dropout, self.training)
        return [h1, self.conv2(h, edge_index)]

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.embeddings(x, edge_index)[-1]  # [N, C]

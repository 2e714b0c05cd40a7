"""GA: gradient ascent on the forgotten nodes' cross-entropy (Unlearn-Sparse's GA baseline; GNNDelete's
gradient-ascent baseline on graphs), queried on the full graph as the forgotten nodes were trained."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from erase.adapters.api import Context
from erase.adapters.graph.data import GraphData
from erase.adapters.graph.training import GraphTrainConfig, fit


@dataclass(frozen=True)
class GAConfig:
    epochs: int = 5  # Unlearn-Sparse's GA: 5 epochs; one full-batch step each here
    lr: float = 0.01  # the training learning rate (Kipf & Welling §5.2)


def unlearn(model: nn.Module, data: GraphData, cfg: GAConfig, ctx: Context) -> nn.Module:
    train: GraphTrainConfig = ctx.train
    ascended = copy.deepcopy(model)
    return fit(ascended, data, data.forget, data.edge_index, cfg.epochs, cfg.lr, train.weight_decay, ctx, "GA GCN",
               sign=-1.0)

"""FT: fine-tune the original GCN on the retained nodes, over the graph without the forgotten nodes' edges.

Unlearn-Sparse's fine-tuning baseline (10 epochs against 182 of training); here 20 full-batch steps against
the original's 200, the same one-tenth share, at the training learning rate.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from erase.adapters.api import Context
from erase.adapters.graph.data import GraphData
from erase.adapters.graph.training import GraphTrainConfig, fit


@dataclass(frozen=True)
class FTConfig:
    epochs: int = 20  # one tenth of training, as Unlearn-Sparse's FT (10 of 182 epochs)
    lr: float = 0.01  # the training learning rate (Kipf & Welling §5.2)


def unlearn(model: nn.Module, data: GraphData, cfg: FTConfig, ctx: Context) -> nn.Module:
    train: GraphTrainConfig = ctx.train
    tuned = copy.deepcopy(model)
    return fit(tuned, data, data.retain, data.retain_edge_index, cfg.epochs, cfg.lr, train.weight_decay, ctx,
               "FT GCN")

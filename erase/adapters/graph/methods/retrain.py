"""Retrain: a fresh GCN trained on the retained nodes over the graph without the forgotten nodes' edges.

The reference row of every graph table.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from erase.adapters.api import Context, fresh_copy
from erase.adapters.graph.data import GraphData
from erase.adapters.graph.training import GraphTrainConfig, fit


@dataclass(frozen=True)
class RetrainConfig:
    """No knobs: the schedule is the original model's (`ctx.train`)."""


def unlearn(model: nn.Module, data: GraphData, cfg: RetrainConfig, ctx: Context) -> nn.Module:
    train: GraphTrainConfig = ctx.train
    fresh = fresh_copy(model, ctx.seed)
    return fit(fresh, data, data.retain, data.retain_edge_index, train.epochs, train.lr, train.weight_decay, ctx,
               "retrain GCN")

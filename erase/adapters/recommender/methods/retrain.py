"""Retrain: a fresh LightGCN trained on the retained interactions only, with the original schedule.

The reference row of every recommender table.
"""

from __future__ import annotations

from dataclasses import dataclass

from erase.adapters.api import Context, fresh_copy
from erase.adapters.recommender.data import RecData
from erase.adapters.recommender.model import LightGCN
from erase.adapters.recommender.training import RecTrainConfig, fit


@dataclass(frozen=True)
class RetrainConfig:
    """No knobs: the schedule is the original model's (`ctx.train`)."""


def unlearn(model: LightGCN, data: RecData, cfg: RetrainConfig, ctx: Context) -> LightGCN:
    train: RecTrainConfig = ctx.train
    fresh = fresh_copy(model, ctx.seed)
    fresh.set_graph(data.retain)
    return fit(fresh, data.retain, train.epochs, train.lr, train.batch_size, train.reg, ctx, "retrain LightGCN")

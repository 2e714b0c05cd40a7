"""FT: fine-tune the original LightGCN on the retained interactions, over the retained graph.

The fine-tuning baseline of Unlearn-Sparse (Jia et al., NeurIPS 2023), which runs 10 epochs against 182 of
training; here 2 epochs against the original's 20, the same one-tenth share.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from erase.adapters.api import Context
from erase.adapters.recommender.data import RecData
from erase.adapters.recommender.model import LightGCN
from erase.adapters.recommender.training import RecTrainConfig, fit


@dataclass(frozen=True)
class FTConfig:
    epochs: int = 2  # one tenth of training, as Unlearn-Sparse's FT (10 of 182 epochs, arg_parser.py)
    lr: float = 0.01  # the training learning rate


def unlearn(model: LightGCN, data: RecData, cfg: FTConfig, ctx: Context) -> LightGCN:
    train: RecTrainConfig = ctx.train
    tuned = copy.deepcopy(model)
    tuned.set_graph(data.retain)
    return fit(tuned, data.retain, cfg.epochs, cfg.lr, train.batch_size, train.reg, ctx, "FT LightGCN")

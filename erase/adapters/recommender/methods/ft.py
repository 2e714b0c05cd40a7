"""FT: fine-tune the original LightGCN on the retained interactions, over the retained graph.

The fine-tuning baseline of Unlearn-Sparse (Jia et al., NeurIPS 2023), which runs 10 epochs against 182 of
training: one tenth of LightGCN's 1,000 epochs here (2 of the toy preset's 20).
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
    epochs: int = 100  # one tenth of training, as Unlearn-Sparse's FT (10 of 182 epochs)
    lr: float = 1e-3  # the training learning rate (official LightGCN)


def unlearn(model: LightGCN, data: RecData, cfg: FTConfig, ctx: Context) -> LightGCN:
    train: RecTrainConfig = ctx.train
    tuned = copy.deepcopy(model)
    tuned.set_graph(data.retain)
    return fit(tuned, data.retain, cfg.epochs, cfg.lr, train.batch_size, train.reg, ctx, "FT LightGCN")

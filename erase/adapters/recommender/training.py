"""BPR training of LightGCN, and the recommender family's evaluation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm import trange

from erase.adapters.api import Context, Metrics
from erase.adapters.recommender.data import RecData
from erase.adapters.recommender.metrics import interaction_matrix, recall_ndcg
from erase.adapters.recommender.model import LightGCN

TOP_K = 20  # Recall@20 / NDCG@20, LightGCN §4.1.1


@dataclass(frozen=True)
class RecTrainConfig:
    """The original model's schedule (also retrain's); configs/adapters/recommender/ml-100k.yaml scales it."""

    epochs: int = 1000  # official LightGCN (parse.py --epochs)
    lr: float = 1e-3  # official LightGCN (parse.py --lr)
    batch_size: int = 2048  # official LightGCN (parse.py --bpr_batch)
    reg: float = 1e-4  # official LightGCN (parse.py --decay): L2 on the batch's layer-0 embeddings


def bpr_loss(final: torch.Tensor, layer0: torch.Tensor, pairs: torch.Tensor, num_users: int, num_items: int,
             reg: float) -> torch.Tensor:
    """BPR (LightGCN Eq. 15) on (user, positive item) pairs [B, 2], one uniformly drawn negative item each.

    `final` [U+I, d] are the propagated embeddings, `layer0` [U+I, d] the ones the L2 term regularises.
    """
    users, positives = pairs[:, 0], pairs[:, 1] + num_users
    negatives = torch.randint(0, num_items, (len(pairs),)) + num_users
    e_u, e_pos, e_neg = final[users], final[positives], final[negatives]
    ranking = -F.logsigmoid((e_u * e_pos).sum(-1) - (e_u * e_neg).sum(-1)).mean()
    norm = layer0[users].pow(2).sum() + layer0[positives].pow(2).sum() + layer0[negatives].pow(2).sum()
    return ranking + reg * norm / (2 * len(pairs))


def batches(pairs: torch.Tensor, batch_size: int) -> Iterable[torch.Tensor]:
    """The pairs in a fresh random order, `batch_size` at a time."""
    order = torch.randperm(len(pairs))
    for start in range(0, len(pairs), batch_size):
        yield pairs[order[start:start + batch_size]]


def fit(model: LightGCN, pairs: torch.Tensor, epochs: int, lr: float, batch_size: int, reg: float, ctx: Context,
        desc: str) -> LightGCN:
    """Minimise BPR over `pairs` on the model's current graph."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in trange(epochs, desc=desc, disable=not ctx.progress, leave=False):
        for batch in batches(pairs, batch_size):
            optimizer.zero_grad()
            loss = bpr_loss(model.propagate(), model.embedding, batch, model.num_users, model.num_items, reg)
            loss.backward()
            optimizer.step()
    return model.eval()


def train(model: LightGCN, data: RecData, ctx: Context) -> LightGCN:
    """The original model: every training interaction (retain ∪ forget), on their graph."""
    cfg: RecTrainConfig = ctx.train
    torch.manual_seed(ctx.seed)
    model.set_graph(data.train)
    return fit(model, data.train, cfg.epochs, cfg.lr, cfg.batch_size, cfg.reg, ctx, "train LightGCN")


def evaluate(model: LightGCN, data: RecData, ctx: Context, reference: LightGCN | None = None) -> Metrics:
    """Recall/NDCG@20 on the forgotten, retained and test interactions.

    Every ranking leaves out the user's retained training items except the retained one (nothing is left out
    there); forgotten items stay candidates everywhere, so a model that still recommends them is seen doing so.
    """
    scores = model.score_all()  # [U, I]

    def matrix(pairs: torch.Tensor) -> torch.Tensor:
        return interaction_matrix(pairs, data.num_users, data.num_items)

    known = matrix(data.retain)
    nothing = torch.zeros_like(known)
    forget_recall, forget_ndcg = recall_ndcg(scores, matrix(data.forget), known, TOP_K)
    retain_recall, retain_ndcg = recall_ndcg(scores, known, nothing, TOP_K)
    test_recall, test_ndcg = recall_ndcg(scores, matrix(data.test), known, TOP_K)
    return {
        "erased": {"forget_recall@20": forget_recall, "forget_ndcg@20": forget_ndcg},
        "retained": {"test_recall@20": test_recall, "test_ndcg@20": test_ndcg,
                     "retain_recall@20": retain_recall, "retain_ndcg@20": retain_ndcg},
    }

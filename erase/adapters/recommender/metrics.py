"""Top-K ranking metrics: Recall@K and NDCG@K, averaged over the users that have ground truth."""

from __future__ import annotations

import torch


def interaction_matrix(pairs: torch.Tensor, num_users: int, num_items: int) -> torch.Tensor:
    """(user, item) pairs [M, 2] -> bool matrix [U, I]."""
    matrix = torch.zeros(num_users, num_items, dtype=torch.bool)
    matrix[pairs[:, 0], pairs[:, 1]] = True
    return matrix


def recall_ndcg(scores: torch.Tensor, truth: torch.Tensor, exclude: torch.Tensor, k: int = 20) -> tuple[float, float]:
    """Recall@k = hits / |truth| and NDCG@k with binary gains (LightGCN's definitions), averaged over users.

    scores [U, I]; truth and exclude bool [U, I]. Excluded items (e.g. a user's known training items) are never
    ranked; users with no truth are skipped. Returns (0, 0) when no user has truth.
    """
    users = truth.any(dim=1)
    if not users.any():
        return 0.0, 0.0
    scores, truth, exclude = scores[users], truth[users], exclude[users]
    top = scores.masked_fill(exclude, float("-inf")).topk(k, dim=1).indices  # [U', k]
    hits = truth.gather(1, top).float()  # [U', k]
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float))  # [k]
    relevant = truth.sum(dim=1)  # [U']
    ideal = torch.cumsum(discount, 0)[relevant.clamp(max=k) - 1]  # [U']
    recall = hits.sum(dim=1) / relevant
    ndcg = (hits * discount).sum(dim=1) / ideal
    return recall.mean().item(), ndcg.mean().item()

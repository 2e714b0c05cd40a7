"""UnlearnRec (Chen, Xia & Huang, "Pre-training for Recommendation Unlearning", SIGIR 2025, arXiv 2505.22649).

An Influence Encoder (IE) reads an unlearning request (the interactions to forget) and the trained layer-0
embeddings E_0, and outputs revised embeddings E~_0 = E_0 + dE_0 for the unlearned model:

- the request's interactions form the Influence Dependency Graph; its normalised adjacency A_d (the Influence
  Dependency Matrix) carries L rounds of propagation of a learnable node table H^0 (H^l = A_d H^{l-1}) and of
  the weighted original embeddings (E_w = A_d^L (eta * E_0));
- dE_0 = MLP(H^L - E_w).

The IE is pre-trained on simulated requests, then fine-tuned on the real one for a few steps, with the
paper's multi-task loss L = L_m + l_u L_u + l_p L_p + l_c L_c: L_m the backbone's own loss (BPR) on
the remaining interactions over the pruned graph, L_u = -log sigmoid(-s_ui) on the forgotten interactions
(their scores are pushed below zero), L_p keeps the remaining interactions' scores where the original model
put them, L_c a contrastive term between H^L and its counterpart on an edge-dropped A_d.

The official code (HKUDS/UnlearnRec) could not be read here, so these choices are ours, each where the paper's
text leaves it open: (1) the IE is pre-trained inside `unlearn`, with the trained backbone frozen, on random
requests drawn from the *retained* interactions only (the paper pre-trains it alongside the recommender; the
real request is never seen before fine-tuning, and the pre-training time counts in the run time); (2) A_d
has self-loops on the request's nodes, and dE_0 moves only those nodes: every other node changes only through
propagation over the pruned graph; (3) L_p is the mean squared difference of the remaining pairs' scores to the
original model's; (4) L_c is InfoNCE over the request's nodes; (5) 200 pre-training and 20 fine-tuning steps.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import trange

from erase.adapters.api import Context
from erase.adapters.recommender.data import RecData
from erase.adapters.recommender.model import LightGCN, normalized_adjacency, symmetric_matmul
from erase.adapters.recommender.training import RecTrainConfig, bpr_loss


@dataclass(frozen=True)
class UnlearnRecConfig:
    ie_layers: int = 3  # propagation rounds over A_d: the backbone's 3 layers (our choice, see above)
    lambda_u: float = 1.0  # weight of L_u, as the public re-implementation Shuvayu12/UnlearnRec (configs/base.yaml)
    lambda_p: float = 1.0  # weight of L_p, idem
    lambda_c: float = 0.01  # weight of L_c, idem
    temperature: float = 0.2  # InfoNCE temperature, the authors' usual (HKUDS SSL recommenders)
    edge_dropout: float = 0.1  # edges of A_d dropped for L_c's second view
    lr: float = 1e-3  # Adam, as Shuvayu12/UnlearnRec (configs/base.yaml)
    pretrain_steps: int = 200  # toy scale: one simulated request a step
    finetune_steps: int = 20  # "little fine-tuning" on the real request
    batch_size: int = 2048  # remaining interactions a step for L_m and L_p (LightGCN's batch)


class InfluenceEncoder(nn.Module):
    """(E_0 [N, d], request A_d) -> E~_0 [N, d]; starts as the identity (the MLP's last layer is zero)."""

    def __init__(self, num_nodes: int, dim: int, layers: int) -> None:
        super().__init__()
        self.h0 = nn.Parameter(torch.randn(num_nodes, dim) * 0.01)  # H^0: small values around 0
        self.eta = nn.Parameter(torch.ones(num_nodes, 1))  # per-node weight of E_0
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)
        self.layers = layers

    def forward(self, e0: torch.Tensor, a_d: torch.Tensor, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns E~_0 [N, d] and H^L [N, d]; `nodes` (bool [N]) marks the request's nodes."""
        h = self.h0
        e_w = self.eta * e0
        for _ in range(self.layers):
            h = symmetric_matmul(a_d, h)
            e_w = symmetric_matmul(a_d, e_w)
        delta = self.mlp(h - e_w) * nodes[:, None]
        return e0 + delta, h


def dependency_matrix(request: torch.Tensor, num_users: int, num_nodes: int,
                      dropout: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The request's normalised adjacency with self-loops on its nodes ([N, N] sparse) and the node mask [N]."""
    if dropout > 0:
        request = request[torch.rand(len(request)) >= dropout]
    users, items = request[:, 0], request[:, 1] + num_users
    nodes = torch.zeros(num_nodes, dtype=torch.bool)
    nodes[users] = True
    nodes[items] = True
    loops = nodes.nonzero().flatten()
    rows = torch.cat([users, items, loops])
    cols = torch.cat([items, users, loops])
    degree = torch.bincount(rows, minlength=num_nodes).float()
    inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
    a_d = torch.sparse_coo_tensor(torch.stack([rows, cols]), inv_sqrt[rows] * inv_sqrt[cols], (num_nodes, num_nodes),
                                  check_invariants=False)
    return a_d.coalesce(), nodes


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE between two views [n, d]: row i of `a` should match row i of `b` among all rows of `b`."""
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).t() / temperature  # [n, n]
    return F.cross_entropy(logits, torch.arange(len(a)))


def unlearnrec_loss(model: LightGCN, encoder: InfluenceEncoder, request: torch.Tensor, remaining: torch.Tensor,
                    original_final: torch.Tensor, cfg: UnlearnRecConfig,
                    reg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """L = L_m + l_u L_u + l_p L_p + l_c L_c for one request; also returns E~_0."""
    u, n = model.num_users, model.num_users + model.num_items
    a_d, nodes = dependency_matrix(request, u, n)
    e0_new, h = encoder(model.embedding.detach(), a_d, nodes)
    final = model.propagate(e0_new, normalized_adjacency(remaining, u, model.num_items))  # over the pruned graph
    batch = remaining[torch.randint(0, len(remaining), (min(cfg.batch_size, len(remaining)),))]
    loss_m = bpr_loss(final, e0_new, batch, u, model.num_items, reg)
    loss_u = -F.logsigmoid(-(final[request[:, 0]] * final[u + request[:, 1]]).sum(-1)).mean()
    scores = (final[batch[:, 0]] * final[u + batch[:, 1]]).sum(-1)
    target = (original_final[batch[:, 0]] * original_final[u + batch[:, 1]]).sum(-1)
    loss_p = F.mse_loss(scores, target)
    a_drop, _ = dependency_matrix(request, u, n, cfg.edge_dropout)
    _, h_drop = encoder(model.embedding.detach(), a_drop, nodes)
    loss_c = info_nce(h[nodes], h_drop[nodes], cfg.temperature)
    return loss_m + cfg.lambda_u * loss_u + cfg.lambda_p * loss_p + cfg.lambda_c * loss_c, e0_new


def unlearn(model: LightGCN, data: RecData, cfg: UnlearnRecConfig, ctx: Context) -> LightGCN:
    train: RecTrainConfig = ctx.train
    torch.manual_seed(ctx.seed)
    encoder = InfluenceEncoder(model.num_users + model.num_items, model.embedding.size(1), cfg.ie_layers)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=cfg.lr)
    with torch.no_grad():
        original_final = model.propagate()  # on the original graph: the scores L_p preserves

    def step(request: torch.Tensor, remaining: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        loss, e0_new = unlearnrec_loss(model, encoder, request, remaining, original_final, cfg, train.reg)
        loss.backward()
        optimizer.step()
        return e0_new

    # 1. Pre-train the IE on simulated requests: random retained interactions, as many as the real request.
    size = min(len(data.forget), len(data.retain) // 2)
    for _ in trange(cfg.pretrain_steps, desc="UnlearnRec pre-train IE", disable=not ctx.progress, leave=False):
        picked = torch.zeros(len(data.retain), dtype=torch.bool)
        picked[torch.randperm(len(data.retain))[:size]] = True
        step(data.retain[picked], data.retain[~picked])
    # 2. Fine-tune on the real request, then write E~_0 into the unlearned model.
    for _ in trange(cfg.finetune_steps, desc="UnlearnRec fine-tune", disable=not ctx.progress, leave=False):
        step(data.forget, data.retain)
    with torch.no_grad():
        a_d, nodes = dependency_matrix(data.forget, model.num_users, model.num_users + model.num_items)
        e0_new, _ = encoder(model.embedding, a_d, nodes)
    unlearned = copy.deepcopy(model)
    unlearned.embedding.data.copy_(e0_new)
    unlearned.set_graph(data.retain)
    return unlearned.eval()

"""D2D, Distill to Delete (Sinha, Mandal & Kankanhalli, "Distill to Delete: Unlearning in Graph Networks with
Knowledge Distillation", arXiv 2309.16173; D2DGN).

A student GCN learns from two teachers: on the retained nodes it matches the *preserver* (the original model),
on the forgotten nodes the *destroyer* (a randomly initialised model of the same architecture), both by KL
divergence on soft targets: Loss = alpha * KL_r + (1 - alpha) * KL_f (the paper's Loss = a L_r + (1-a) L_f).

The authors' code was not reachable here; this follows OpenGU's D2DGN (the graph-unlearning benchmark's
`d2dgn.py` pipeline, "strategy 1", and `D2DGNTrainer.d2dgn_train_node`): the preserver is the trained model,
the destroyer is untrained, the student starts from fresh weights and trains full-batch for the original's
epochs at its learning rate and weight decay, on the full graph. The paper's feature-based variant (MSE on
every layer's node embeddings, OpenGU's strategy 2) is not implemented; the response-based one is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import trange

from erase.adapters.api import Context, fresh_copy
from erase.adapters.graph.data import GraphData
from erase.adapters.graph.training import GraphTrainConfig, predict


@dataclass(frozen=True)
class D2DConfig:
    alpha: float = 0.5  # weight of the preserver's term (OpenGU D2DGNTrainer(alpha=0.5))
    epochs: int = 0  # 0: the original's training epochs (OpenGU: args["num_epochs"])


def d2d_loss(student_logits: torch.Tensor, preserver_probs: torch.Tensor, destroyer_probs: torch.Tensor,
             retain: torch.Tensor, forget: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha * KL(preserver || student) on `retain` + (1 - alpha) * KL(destroyer || student) on `forget`, each
    averaged over its nodes (`F.kl_div(..., reduction="batchmean")`, as OpenGU)."""
    log_q = F.log_softmax(student_logits, dim=-1)  # [N, C]
    keep = F.kl_div(log_q[retain], preserver_probs[retain], reduction="batchmean")
    drop = F.kl_div(log_q[forget], destroyer_probs[forget], reduction="batchmean")
    return alpha * keep + (1 - alpha) * drop


def unlearn(model: nn.Module, data: GraphData, cfg: D2DConfig, ctx: Context) -> nn.Module:
    train: GraphTrainConfig = ctx.train
    preserver_probs = F.softmax(predict(model, data), dim=-1)  # [N, C]
    destroyer_probs = F.softmax(predict(fresh_copy(model, ctx.seed + 1), data), dim=-1)  # [N, C]
    student = fresh_copy(model, ctx.seed)
    optimizer = torch.optim.Adam(student.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    for _ in trange(cfg.epochs or train.epochs, desc="D2D", disable=not ctx.progress, leave=False):
        student.train()
        optimizer.zero_grad()
        logits = student(data.x, data.edge_index)
        d2d_loss(logits, preserver_probs, destroyer_probs, data.retain, data.forget, cfg.alpha).backward()
        optimizer.step()
    return student.eval()

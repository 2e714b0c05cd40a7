"""Full-batch GCN training on a node mask, and the graph family's evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import trange

from erase.adapters.api import Context, Metrics
from erase.adapters.graph.data import GraphData
from erase.adapters.metrics import accuracy, confidence, svc_mia_efficacy


@dataclass(frozen=True)
class GraphTrainConfig:
    """The original model's schedule (also retrain's): full-batch Adam, one step an epoch."""

    epochs: int = 200  # Kipf & Welling 2017 §5.2
    lr: float = 0.01  # Kipf & Welling 2017 §5.2
    weight_decay: float = 5e-4  # Kipf & Welling 2017 §5.2


def fit(model: nn.Module, data: GraphData, nodes: torch.Tensor, edge_index: torch.Tensor, epochs: int, lr: float,
        weight_decay: float, ctx: Context, desc: str, sign: float = 1.0) -> nn.Module:
    """Minimise cross-entropy on `nodes` (bool mask [N]) with messages passed along `edge_index`; `sign=-1`
    maximises it (gradient ascent)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in trange(epochs, desc=desc, disable=not ctx.progress, leave=False):
        model.train()
        optimizer.zero_grad()
        loss = sign * F.cross_entropy(model(data.x, edge_index)[nodes], data.y[nodes])
        loss.backward()
        optimizer.step()
    return model.eval()


def train(model: nn.Module, data: GraphData, ctx: Context) -> nn.Module:
    """The original model: every training node (retain ∪ forget) on the full graph."""
    cfg: GraphTrainConfig = ctx.train
    torch.manual_seed(ctx.seed)
    return fit(model, data, data.train, data.edge_index, cfg.epochs, cfg.lr, cfg.weight_decay, ctx, "train GCN")


@torch.no_grad()
def predict(model: nn.Module, data: GraphData) -> torch.Tensor:
    """Logits [N, C] of every node, queried on the full graph."""
    model.eval()
    return model(data.x, data.edge_index)


def evaluate(model: nn.Module, data: GraphData, ctx: Context, reference: nn.Module | None = None) -> Metrics:
    """Accuracy on forgotten (forget_acc), retained (ra) and test (ta) nodes, and on the forgotten classes' test
    nodes (forget_test_acc, nan unless forgetting by class); MIA-efficacy on the forgotten nodes (Unlearn-Sparse's
    SVC on the true-class confidence, shadow members = retained nodes, non-members = test nodes)."""
    logits = predict(model, data)
    conf = confidence(logits, data.y).numpy()
    members = conf[data.retain.numpy()][: int(data.test.sum())]
    return {
        "erased": {
            "forget_acc": accuracy(logits[data.forget], data.y[data.forget]),
            "mia_efficacy": svc_mia_efficacy(members, conf[data.test.numpy()], conf[data.forget.numpy()]),
            "forget_test_acc": accuracy(logits[data.test_forget], data.y[data.test_forget]),
        },
        "retained": {
            "ra": accuracy(logits[data.retain], data.y[data.retain]),
            "ta": accuracy(logits[data.test], data.y[data.test]),
        },
    }

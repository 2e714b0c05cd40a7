"""Graph data for node unlearning: torch_geometric's `KarateClub` and a generated stochastic block model.

Node unlearning (GNNDelete's and D2DGN's node deletion): the forgotten training nodes lose their labels
and every incident edge. `retain_edge_index` is the graph after deletion, what retraining and the
unlearning methods train on; every model is *queried* on the full `edge_index`, so a forgotten node is
scored from its own features and neighbours the way an unseen node would be.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from erase.adapters.api import ForgetSpec, Prepared
from erase.adapters.graph.model import GCN
from erase.errors import EraseError

GRAPH_INSTALL_HINT = "pip install 'erase[graph]' (torch-geometric)"


@dataclass
class GraphData:
    """One transductive graph, split for node unlearning (masks are bool tensors of shape [N])."""

    x: torch.Tensor  # [N, F] node features
    y: torch.Tensor  # [N] class labels
    edge_index: torch.Tensor  # [2, E] the full graph, undirected (both directions listed)
    retain_edge_index: torch.Tensor  # [2, E_r] edges with no forgotten endpoint
    retain: torch.Tensor  # training nodes kept
    forget: torch.Tensor  # training nodes to forget
    test: torch.Tensor  # held-out nodes (for class forgetting: of the retained classes)
    test_forget: torch.Tensor  # held-out nodes of the forgotten classes (none unless forgetting by class)
    num_classes: int

    @property
    def train(self) -> torch.Tensor:
        """The original training nodes: retain ∪ forget."""
        return self.retain | self.forget

    @property
    def forget_size(self) -> int:
        """Forgotten nodes."""
        return int(self.forget.sum())

    def describe(self, name: str) -> str:
        return (f"{name}: {self.x.size(0)} nodes, {self.edge_index.size(1) // 2} edges, {self.num_classes} classes; "
                f"retain {int(self.retain.sum())} / forget {self.forget_size} / test {int(self.test.sum())} nodes")


def require_torch_geometric() -> None:
    """Import torch_geometric once, or fail with the install hint."""
    try:
        with warnings.catch_warnings():  # torch_geometric 2.8 warns about torch.jit.script on import
            warnings.simplefilter("ignore", FutureWarning)
            import torch_geometric  # noqa: F401
    except ModuleNotFoundError:
        raise EraseError(f"--task graph needs torch-geometric: {GRAPH_INSTALL_HINT}") from None


def split(x: torch.Tensor, y: torch.Tensor, edge_index: torch.Tensor, forget: ForgetSpec, seed: int,
          train_fraction: float) -> GraphData:
    """Split nodes into train/test (fixed by the dataset) and the training nodes into retain/forget (by `seed`)."""
    n = x.size(0)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))  # the dataset's fixed split
    train = torch.zeros(n, dtype=torch.bool)
    train[order[: round(train_fraction * n)]] = True
    train_ids = train.nonzero().flatten()
    test_forget = torch.zeros(n, dtype=torch.bool)
    if forget.kind == "class":
        classes = torch.tensor(forget.classes())
        if classes.max() > y.max():
            raise EraseError(f"--forget {forget}: classes run 0..{int(y.max())}; choose among them")
        forget_ids = train_ids[torch.isin(y[train_ids], classes)]
        test_forget = ~train & torch.isin(y, classes)
    elif forget.kind == "random":
        k = max(1, round(forget.fraction() * len(train_ids)))
        pick = torch.randperm(len(train_ids), generator=torch.Generator().manual_seed(seed))[:k]
        forget_ids = train_ids[pick]
    elif forget.kind == "indices":
        forget_ids = torch.tensor(forget.indices(), dtype=torch.long)
        outside = [int(i) for i in forget_ids if i >= n or not train[i]]
        if outside:
            raise EraseError(f"--forget {forget}: nodes {outside[:5]} are not training nodes; "
                             f"choose among the {len(train_ids)} training nodes (0..{n - 1} with train_mask)")
    else:
        raise EraseError(f"--forget {forget}: graph forgets nodes by class:K, random:FRACTION or indices:FILE")
    forget_mask = torch.zeros(n, dtype=torch.bool)
    forget_mask[forget_ids] = True
    keep_edge = ~(forget_mask[edge_index[0]] | forget_mask[edge_index[1]])
    return GraphData(x=x, y=y, edge_index=edge_index, retain_edge_index=edge_index[:, keep_edge],
                     retain=train & ~forget_mask, forget=forget_mask, test=~train & ~test_forget,
                     test_forget=test_forget, num_classes=int(y.max()) + 1)


def prepared(data: GraphData, name: str) -> Prepared:
    """The builder's answer: a fresh GCN sized for `data`, the data, and its one-line description."""
    return Prepared(lambda: GCN(data.x.size(1), data.num_classes), data, data.describe(name))


def karate(forget: ForgetSpec, seed: int) -> Prepared:
    """Zachary's karate club (34 nodes, 4 communities, one-hot features) as torch_geometric ships it."""
    require_torch_geometric()
    from torch_geometric.datasets import KarateClub

    graph = KarateClub()[0]
    return prepared(split(graph.x, graph.y, graph.edge_index, forget, seed, train_fraction=0.6), "karate")


SBM_BLOCKS = 5  # classes, one block each
SBM_BLOCK_SIZE = 300  # 1,500 nodes
SBM_P_IN, SBM_P_OUT = 0.01, 0.006  # mean degree ~10 with 45% of edges inside a block
SBM_FEATURES, SBM_SIGNAL = 128, 0.3  # Gaussian features, class means ~ N(0, 0.3^2): weak on their own


def sbm(forget: ForgetSpec, seed: int) -> Prepared:
    """A generated stochastic block model, fixed by its own seed: graph and features are only weakly
    informative, so a GCN fits its training nodes (~100%) far better than held-out ones (~65%) and
    forgetting is measurable."""
    require_torch_geometric()
    gen = torch.Generator().manual_seed(0)
    n = SBM_BLOCKS * SBM_BLOCK_SIZE
    y = torch.arange(SBM_BLOCKS).repeat_interleave(SBM_BLOCK_SIZE)  # [N]
    prob = torch.where(y[:, None] == y[None, :], SBM_P_IN, SBM_P_OUT)  # [N, N]
    upper = torch.triu(torch.rand(n, n, generator=gen) < prob, diagonal=1)
    src, dst = upper.nonzero().t()
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)  # [2, E]
    means = torch.randn(SBM_BLOCKS, SBM_FEATURES, generator=gen) * SBM_SIGNAL
    x = means[y] + torch.randn(n, SBM_FEATURES, generator=gen)  # [N, F]
    return prepared(split(x, y, edge_index, forget, seed, train_fraction=0.5), "sbm")

"""MovieLens-100K, read directly from the copy RecBole ships in its wheel (`recbole/dataset_example/ml-100k`).

Only the file is read: RecBole itself is never imported (its package `__init__` is empty, but its modules pull
in ray and tensorboard). Every rating counts as an implicit interaction (LightGCN's protocol); each user's
interactions are split 80/20 into train and test once, with a fixed seed. The training interactions are then
split into retain and forget by the `--forget` spec:

- ``user:ID[,ID...]``: every training interaction of these users (raw MovieLens user ids, 1..943);
- ``users:N``: every training interaction of N users drawn by the run's seed;
- ``random:FRACTION``: a random fraction of the training interactions (UnlearnRec's edge unlearning);
- ``indices:FILE``: training interactions by position (0-based, in file order).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from erase.adapters.api import ForgetSpec, Prepared
from erase.adapters.recommender.model import LightGCN
from erase.errors import EraseError

RECOMMENDER_INSTALL_HINT = "pip install 'erase[recommender]' (RecBole ships MovieLens-100K in its wheel)"
TEST_FRACTION = 0.2  # per-user hold-out (LightGCN's 80/20 protocol)


@dataclass
class RecData:
    """Implicit-feedback interactions as (user, item) index pairs, LongTensors of shape [M, 2]."""

    num_users: int
    num_items: int
    retain: torch.Tensor
    forget: torch.Tensor
    test: torch.Tensor

    @property
    def train(self) -> torch.Tensor:
        """The original training interactions: retain ∪ forget."""
        return torch.cat([self.retain, self.forget])

    @property
    def forget_size(self) -> int:
        """Forgotten interactions."""
        return len(self.forget)

    def describe(self, name: str) -> str:
        users = self.forget[:, 0].unique().numel()
        return (f"{name}: {self.num_users} users x {self.num_items} items; retain {len(self.retain)} / forget "
                f"{len(self.forget)} (of {users} users) / test {len(self.test)} interactions")


def ml100k_path() -> Path:
    """The `ml-100k.inter` file inside the installed recbole package, found without importing recbole."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise EraseError(f"--dataset ml-100k reads RecBole's bundled copy: {RECOMMENDER_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k" / "ml-100k.inter"
    if not path.is_file():
        raise EraseError(f"no {path}: this recbole release does not ship ml-100k; {RECOMMENDER_INSTALL_HINT}")
    return path


def ml100k(forget: ForgetSpec, seed: int) -> Prepared:
    """MovieLens-100K (943 users, 1,682 items, 100,000 interactions), split for unlearning by `forget`."""
    raw = np.loadtxt(ml100k_path(), skiprows=1, usecols=(0, 1), dtype=np.int64)  # user_id, item_id
    user_ids, users = np.unique(raw[:, 0], return_inverse=True)
    _, items = np.unique(raw[:, 1], return_inverse=True)
    pairs = torch.from_numpy(np.stack([users, items], axis=1))  # [100000, 2]
    held_out = torch.rand(len(pairs), generator=torch.Generator().manual_seed(0)) < TEST_FRACTION
    train, test = pairs[~held_out], pairs[held_out]
    forget_mask = forget_rows(forget, train, user_ids, seed)
    data = RecData(num_users=len(user_ids), num_items=int(items.max()) + 1, retain=train[~forget_mask],
                   forget=train[forget_mask], test=test)
    return Prepared(lambda: LightGCN(data.num_users, data.num_items), data, data.describe("ml-100k"))


def forget_rows(forget: ForgetSpec, train: torch.Tensor, user_ids: np.ndarray, seed: int) -> torch.Tensor:
    """The bool mask [M] of training interactions the spec forgets."""
    gen = torch.Generator().manual_seed(seed)
    if forget.kind == "user":
        if not re.fullmatch(r"\d+(,\d+)*", forget.arg.replace(" ", "")):
            raise EraseError(f"--forget {forget}: expected user:ID or user:ID1,ID2 with MovieLens user ids")
        wanted = [int(u) for u in forget.arg.replace(" ", "").split(",")]
        unknown = sorted(set(wanted) - set(user_ids.tolist()))
        if unknown:
            raise EraseError(f"--forget {forget}: no user {unknown[0]} in ml-100k; ids run "
                             f"{user_ids.min()}..{user_ids.max()}")
        chosen = torch.from_numpy(np.searchsorted(user_ids, wanted))
        return torch.isin(train[:, 0], chosen)
    if forget.kind == "users":
        if not forget.arg.isdigit() or not 0 < int(forget.arg) < len(user_ids):
            raise EraseError(f"--forget {forget}: expected users:N with 0 < N < {len(user_ids)}")
        chosen = torch.randperm(len(user_ids), generator=gen)[: int(forget.arg)]
        return torch.isin(train[:, 0], chosen)
    if forget.kind == "random":
        mask = torch.zeros(len(train), dtype=torch.bool)
        mask[torch.randperm(len(train), generator=gen)[: max(1, round(forget.fraction() * len(train)))]] = True
        return mask
    if forget.kind == "indices":
        rows = torch.tensor(forget.indices(), dtype=torch.long)
        if rows.max() >= len(train):
            raise EraseError(f"--forget {forget}: index {int(rows.max())} is past the {len(train)} training "
                             f"interactions; give 0-based positions below {len(train)}")
        mask = torch.zeros(len(train), dtype=torch.bool)
        mask[rows] = True
        return mask
    raise EraseError(f"--forget {forget}: the recommender forgets by user:ID, users:N, random:FRACTION or "
                     "indices:FILE")

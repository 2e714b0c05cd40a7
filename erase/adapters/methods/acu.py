"""ACU: analytic continual unlearning (recursive least squares removal on an analytic last layer).

The backbone is frozen; the classifier is the ridge solution W = (Phi^T Phi + gamma I)^-1 Phi^T Y on the
representations Phi of the training set and one-hot labels Y (the analytic-learning classifier ACU assumes was
trained, so the learning phase refits the head analytically on D = D_r u D_f). Unlearning needs only the stored
R = (Phi^T Phi + gamma I)^-1, W and the forget set: the Woodbury update gives exactly the ridge solution on D_r
(`erase.adapters.analytic.rls_remove`), with no access to D_r and no gradient step. Deviation: no random
"buffer" expansion of the features (the digits MLP's 384-d representation is used as is).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from erase.adapters.analytic import ridge_fit, rls_remove, set_head, with_bias
from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import features_and_head, representations, tensors, train_loader


@dataclass(frozen=True)
class ACUConfig:
    gamma: float = 1.0  # ridge regularisation of the analytic classifier (analytic learning's gamma = 1)


def unlearn(model: nn.Module, data: UnlearnData, cfg: ACUConfig, ctx: Context) -> nn.Module:
    if data.num_classes <= 0:
        raise ValueError("ACU's analytic classifier needs class labels")
    _, head = features_and_head(model)
    full = train_loader(data, ctx.seed)
    onehot = F.one_hot(tensors(full)[1], data.num_classes)
    r, w = ridge_fit(with_bias(representations(model, full, ctx.device)), onehot, cfg.gamma)  # learning phase
    phi_f = with_bias(representations(model, data.forget, ctx.device))
    _, w = rls_remove(r, w, phi_f, F.one_hot(tensors(data.forget)[1], data.num_classes))  # unlearning phase
    set_head(head, w)
    return model

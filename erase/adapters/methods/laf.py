"""LAF: label-agnostic forgetting (Shen et al., ICLR 2024; ShaofeiShen768/LAF, `VUnlearning.py`).

No labels. Two VAEs learn the distributions of representations: one of D_r, one of D_f (`Train.vae_train`: MSE
reconstruction + 0.025 KL, Adam 1e-3, 10 epochs). Then each epoch, over paired (forget, retain) batches:
1. extractor unlearning (Adam, lr_ue): minimise nmse(VAE_r(e_r), e_r) - nmse(VAE_f(e_f), e_f), with
   nmse = sum exp(mse / (mse + 1)) per sample (`extractor_loss_functionnmse`);
2. representation alignment (Adam, lr_ra): minimise sum_i log(exp(c_r,i) / sum_j exp(c_f,j / T)), c = 1 - cos
   between the current and the original representation (`extractor_loss_functioncosine`).
Paper vs code: the code trains the retain VAE on the whole training set; we follow the paper (D_r). The code's
`zip` of the two loaders stops at the shorter; we cycle the forget loader over every retain batch, so small
forget sets do not cut the epoch short. Hyperparameters: hyperparameter.md, class unlearning, CNN on MNIST.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import cycle, features_and_head, fit, frozen_copy, representations


@dataclass(frozen=True)
class LAFConfig:
    latent_dims: int = 8  # hyperparameter.md (class unlearning, CNN/MNIST): LATENT_DIMS = 8
    epochs: int = 20  # ibid.: UNLEARNING_EPOCH = 20
    lr_ue: float = 5e-5  # ibid.: UNLEARNING_LR_UE = 0.00005
    lr_ra: float = 1e-4  # ibid.: UNLEARNING_LR_RA = 0.0001
    temperature: float = 20.0  # ibid.: TEMP = 20 (random-sample unlearning uses 5)
    vae_epochs: int = 10  # Train.py vae_train: range(10)
    vae_lr: float = 1e-3  # Train.py vae_train: Adam lr 0.001
    kld_weight: float = 0.025  # Train.py vae_loss_function: KLD * 0.025


class VAE(nn.Module):
    """Model.py's representation VAE (D -> 128 -> 32 -> latent and back), for D-dimensional representations."""

    def __init__(self, dims: int, latent: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dims, 128), nn.ReLU(), nn.Linear(128, 32), nn.ReLU())
        self.mu, self.log_sigma = nn.Linear(32, latent), nn.Linear(32, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, 32), nn.ReLU(), nn.Linear(32, 128), nn.ReLU(),
                                     nn.Linear(128, dims))

    def forward(self, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(e)
        mu, sigma = self.mu(h), self.log_sigma(h).exp()
        return self.decoder(mu + sigma * torch.randn_like(sigma)), mu, sigma


def train_vae(e: torch.Tensor, cfg: LAFConfig, like: DataLoader, ctx: Context) -> VAE:
    vae = VAE(e.shape[1], cfg.latent_dims).to(ctx.device)

    def loss(m: VAE, x: torch.Tensor, _: torch.Tensor) -> torch.Tensor:
        out, mu, sigma = m(x)
        kld = -0.5 * torch.sum(torch.log(sigma.pow(2) + 1e-8) + 1 - mu.pow(2) - sigma.pow(2)) / len(x)
        return F.mse_loss(out, x, reduction="sum") / len(x) + cfg.kld_weight * kld

    loader = DataLoader(TensorDataset(e, e), batch_size=like.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(ctx.seed))
    fit(vae, loader, loss, torch.optim.Adam(vae.parameters(), lr=cfg.vae_lr), cfg.vae_epochs, ctx, desc="LAF VAE")
    for p in vae.parameters():
        p.requires_grad_(False)
    return vae


def nmse(vae: VAE, e: torch.Tensor) -> torch.Tensor:
    mse = (vae(e)[0] - e).pow(2).sum(1)
    return torch.exp(mse / (mse + 1)).sum()


def alignment(e_r: torch.Tensor, t_r: torch.Tensor, e_f: torch.Tensor, t_f: torch.Tensor, temp: float
              ) -> torch.Tensor:
    c_r = 1 - F.cosine_similarity(e_r, t_r)
    c_f = 1 - F.cosine_similarity(e_f, t_f)
    return torch.sum(c_r - torch.log(torch.exp(c_f / temp).sum()))


def unlearn(model: nn.Module, data: UnlearnData, cfg: LAFConfig, ctx: Context) -> nn.Module:
    features, _ = features_and_head(model)
    teacher = frozen_copy(features)
    vae_r = train_vae(representations(model, data.retain, ctx.device), cfg, data.retain, ctx)
    vae_f = train_vae(representations(model, data.forget, ctx.device), cfg, data.retain, ctx)
    opt_ue = torch.optim.Adam(features.parameters(), lr=cfg.lr_ue)
    opt_ra = torch.optim.Adam(features.parameters(), lr=cfg.lr_ra)
    model.train()
    for _ in range(cfg.epochs):
        for (xr, _), (xf, _) in zip(data.retain, cycle(data.forget), strict=False):
            xr, xf = xr.to(ctx.device), xf.to(ctx.device)
            opt_ue.zero_grad()
            (nmse(vae_r, features(xr)) - nmse(vae_f, features(xf))).backward()
            opt_ue.step()
            opt_ra.zero_grad()
            alignment(features(xr), teacher(xr), features(xf), teacher(xf), cfg.temperature).backward()
            opt_ra.step()
    return model.eval()

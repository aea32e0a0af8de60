"""The router network: a small residual temporal CNN over (T, F) window features."""
from __future__ import annotations

import torch
from torch import nn


class _Block(nn.Module):
    def __init__(self, ch: int, dilation: int, drop: float):
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, 5, padding=2 * dilation, dilation=dilation)
        self.bn = nn.BatchNorm1d(ch)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return x + self.drop(torch.relu(self.bn(self.conv(x))))


class RouterNet(nn.Module):
    def __init__(self, n_feat: int, n_cls: int = 4, ch: int = 96, drop: float = 0.15):
        super().__init__()
        self.register_buffer("mu", torch.zeros(n_feat))
        self.register_buffer("sd", torch.ones(n_feat))
        self.inp = nn.Sequential(nn.Dropout(0.05), nn.Conv1d(n_feat, ch, 1), nn.BatchNorm1d(ch), nn.ReLU())
        self.blocks = nn.Sequential(_Block(ch, 1, drop), _Block(ch, 2, drop), _Block(ch, 4, drop))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * ch, n_cls))

    def forward(self, x):  # x: (B, T, F) raw features
        x = ((x - self.mu) / self.sd).transpose(1, 2)
        h = self.blocks(self.inp(x))
        return self.head(torch.cat([h.mean(-1), h.amax(-1)], -1))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())

"""Defaults pinned to their stated sources (the README's config table): a changed default is a red test."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hfplug_infopo.config import InfoPOConfig
from hfplug_infopo.losses import infopo_loss
from trl import DPOConfig


def field_default(config_class, name: str):
    return next(f.default for f in dataclasses.fields(config_class) if f.name == name)


def test_config_defaults_match_the_readme_and_their_sources():
    assert field_default(InfoPOConfig, "infopo_variant") == "nwj"  # [ours]
    assert field_default(InfoPOConfig, "infopo_length_average") is False  # [ours]: sums, as DPO
    assert field_default(InfoPOConfig, "beta") == 0.1  # [ours; trl's DPO default]
    assert field_default(DPOConfig, "beta") == 0.1


def test_infopo_loss_without_a_variant_is_nwj():
    chosen, rejected, beta = torch.tensor([0.7, -1.2, 3.0]), torch.tensor([-0.4, 2.5, 0.0]), 0.3
    expected = [-beta * c + math.exp(beta * r - 1.0) for c, r in zip(chosen.tolist(), rejected.tolist(), strict=True)]
    assert infopo_loss(chosen, rejected, beta).tolist() == pytest.approx(expected, rel=1e-6)

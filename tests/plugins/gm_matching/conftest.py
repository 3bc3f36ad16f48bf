"""Shared data and a plain reference loop for the GM Matching tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def corrupted_cloud(distance: float, *, seed: int = 0, n: int = 1000, d: int = 24, share: float = 0.45):
    """The spec's breakdown set: unit Gaussians in d = 24, a ``share`` of them moved ``distance`` along one
    random direction. Returns (points, corrupted mask)."""
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((n, d))
    corrupted = np.zeros(n, dtype=bool)
    corrupted[: int(share * n)] = True
    direction = rng.standard_normal(d)
    points[corrupted] += distance * direction / np.linalg.norm(direction)
    return points, corrupted


def plain_herding(points: np.ndarray, target: np.ndarray, k: int) -> list[int]:
    """The textbook loop, written independently of the plugin: float32 scores of every row each pick."""
    points = np.asarray(points, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    theta = target.copy()
    taken = np.zeros(len(points), dtype=bool)
    picks = []
    for _ in range(k):
        scores = points @ theta
        scores[taken] = -np.inf
        index = int(np.argmax(scores))
        taken[index] = True
        picks.append(index)
        theta += target - points[index]
    return picks


@pytest.fixture
def anisotropic() -> np.ndarray:
    """Embedding-like rows: a strong shared direction plus anisotropic noise (float32, 3000 x 48)."""
    rng = np.random.default_rng(3)
    scales = np.linspace(2.0, 0.1, 48)
    return (rng.standard_normal((3000, 48)) * scales + 3.0).astype(np.float32)

"""Herding towards a target moment: the greedy loop that both GM Matching and herding-to-the-mean run.

    theta_0 = target (or a given start); repeat k times:
        i_t = argmax_{j not picked} <theta_t, phi_j>;   theta_{t+1} = theta_t + target - phi_{i_t}

so theta_T = theta_0 + T * target - sum_{t <= T} phi_{i_t} after every step. All arithmetic on theta is
float32, as in a plain NumPy loop, and every engine picks what that loop picks (see :mod:`.bounded`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hfplug.errors import ConfigError, DatasetError
from hfplug_gm_matching.bounded import Int8Herding, dense_pick
from hfplug_gm_matching.streamed import StreamedRows

ENGINES = ("auto", "dense", "int8", "torch")
# Below this many matrix entries the int8 copy does not pay for itself (and the JIT warm-up dominates).
INT8_MIN_ENTRIES = 4_000_000

StepCallback = Callable[[int, int, np.ndarray], None]


def herd(
    points: np.ndarray,
    target: np.ndarray,
    k: int,
    *,
    theta0: np.ndarray | None = None,
    engine: str = "auto",
    device: str = "cpu",
    progress: bool = False,
    on_step: StepCallback | None = None,
    description: str = "herding",
) -> np.ndarray:
    """The ``k`` rows of ``points`` (float32 ``(n, d)``, or :class:`~.streamed.StreamedRows`) picked by herding
    towards ``target``, in pick order.

    ``engine``: ``dense`` scores every row in float32 each pick (the plain NumPy loop); ``torch`` does the
    same with torch on ``device`` (what a GPU runs); ``int8`` reads an int8 copy with exact re-scoring (CPU;
    same picks as ``dense``); ``auto`` takes ``torch`` off the CPU, and on the CPU ``int8`` for matrices of at
    least 4M entries and for streamed rows, else ``dense``.
    ``on_step(t, index, theta)`` is called after each update with theta_{t+1} (for checks and traces).
    Ties go to the lowest row index.
    """
    from tqdm.auto import tqdm

    if engine not in ENGINES:
        raise ConfigError(f"herding engine must be one of {ENGINES}, got {engine!r}.")
    n = points.shape[0]
    if not 0 < k <= n:
        raise DatasetError(f"herding: k={k} must be between 1 and the number of rows ({n}).")
    streamed = isinstance(points, StreamedRows)
    if not streamed:
        points = np.ascontiguousarray(points, dtype=np.float32)
    target = np.ascontiguousarray(target, dtype=np.float32)
    theta = (target if theta0 is None else np.asarray(theta0, dtype=np.float32)).copy()
    on_gpu = not str(device).startswith("cpu")
    if engine == "auto":
        # Streamed rows: the dense loop would read every row from the source at every pick.
        engine = "torch" if on_gpu else "int8" if streamed or points.size >= INT8_MIN_ENTRIES else "dense"
    if engine in ("int8", "dense") and on_gpu:
        raise ConfigError(f"herding engine {engine!r} runs on the CPU; use engine 'torch' (or 'auto') on {device}.")
    if engine == "torch" and streamed:
        raise ConfigError(
            "herding engine 'torch' needs the float32 matrix in memory; memory-mapped or int8 embeddings run on the "
            "CPU engines (engine 'int8' or 'auto', device 'cpu')."
        )
    bar = tqdm(total=k, desc=description, unit="pick", disable=not progress, mininterval=0.5)
    if engine == "torch":
        order = _herd_torch(points, target, theta, k, device, bar, on_step)
        bar.close()
        return order
    int8 = Int8Herding(points, target) if engine == "int8" else None
    pick: Callable[[np.ndarray, np.ndarray], int]
    pick = int8.pick if int8 is not None else (lambda th, tk: dense_pick(points, th, tk))
    taken = np.zeros(n, dtype=np.bool_)
    order = np.empty(k, dtype=np.int64)
    try:
        for step in range(k):
            index = pick(theta, taken)
            taken[index] = True
            order[step] = index
            theta += target - points[index]
            if on_step is not None:
                on_step(step, index, theta.copy())
            bar.update(1)
    finally:
        bar.close()
        if int8 is not None:
            int8.close()
    return order


def _herd_torch(
    points: np.ndarray, target: np.ndarray, theta: np.ndarray, k: int, device: str, bar, on_step
) -> np.ndarray:
    """The dense loop on a torch device: one float32 matrix-vector product per pick."""
    import torch

    matrix = torch.from_numpy(points).to(device)
    goal = torch.from_numpy(target).to(device)
    state = torch.from_numpy(theta).to(device)
    taken = torch.zeros(matrix.shape[0], dtype=torch.bool, device=device)
    order = torch.empty(k, dtype=torch.long, device=device)
    for step in range(k):
        scores = (matrix @ state).masked_fill_(taken, float("-inf"))
        index = torch.argmax(scores)
        taken[index] = True
        order[step] = index
        state += goal - matrix[index]
        if on_step is not None:
            # A copy, as the NumPy engines pass: on the CPU, .cpu().numpy() is a view of state, which the next
            # step changes in place (every recorded theta would read the last one).
            on_step(step, int(index), state.cpu().numpy().copy())
        bar.update(1)
    return order.cpu().numpy()

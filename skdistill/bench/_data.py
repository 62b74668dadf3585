"""Loading the paper's datasets and training the paper's teacher."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "data_dir",
    "load_dataset",
    "paper_split",
    "train_mlp_teacher",
    "machine_info",
    "JsonCache",
    "CEILING_ROWS",
    "issue_target",
]

# the spec ceiling of the black-box and tabular benches: the by-hand baseline on
# this many draws, about the best that plain draws from a spec give a student
CEILING_ROWS = 2_000_000


def data_dir(path=None):
    """The datasets folder: ``path``, else ``$SKDISTILL_DATA_DIR``, else
    ``../shared/datasets`` from the current directory. Raises if it does not exist."""
    candidates = [path, os.environ.get("SKDISTILL_DATA_DIR"), "../shared/datasets"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    raise FileNotFoundError(
        "Datasets folder not found: pass --data-dir or set SKDISTILL_DATA_DIR "
        f"(tried {[c for c in candidates if c]})."
    )


def load_dataset(name, path=None):
    """``(X, y)`` float64 arrays of the dataset ``name`` (``NAME.npz``), raw units."""
    with np.load(data_dir(path) / f"{name}.npz", allow_pickle=False) as f:
        return f["X"].astype(np.float64), f["y"].astype(np.float64)


def paper_split(X, y, seed, n_train=5000, standardize=True):
    """The paper's protocol: standardize X and y over the whole dataset, ``n_train``
    training rows, of the rest 10% validation and 90% test."""
    if standardize:
        sx = X.std(axis=0)
        sx[sx == 0] = 1.0
        X = (X - X.mean(axis=0)) / sx
        y = (y - y.mean()) / y.std()
    perm = np.random.default_rng(seed).permutation(len(X))
    tr, rest = perm[:n_train], perm[n_train:]
    n_val = len(rest) // 10
    va, te = rest[:n_val], rest[n_val:]
    return (X[tr], y[tr]), (X[va], y[va]), (X[te], y[te])


def train_mlp_teacher(
    X, y, hidden=500, epochs=200, batch_size=50, lr=1e-3, weight_decay=1e-5, seed=0
):
    """The paper's teacher: one hidden layer of ``hidden`` tanh units, trained with
    RMSprop on (X, y). Returns a frozen ``nn.Sequential`` in eval mode."""
    torch.manual_seed(seed)
    X_t = torch.as_tensor(X, dtype=torch.float32)
    y_t = torch.as_tensor(y, dtype=torch.float32).view(-1, 1)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
    )
    opt = torch.optim.RMSprop(net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(X_t), generator=gen).split(batch_size):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(X_t[idx]), y_t[idx]).backward()
            opt.step()
    return net.eval().requires_grad_(False)


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def machine_info():
    """One line saying where a benchmark ran."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )


class JsonCache(dict):
    """Finished benchmark cells by key, kept in the JSON file ``path``: loaded when
    it exists, written again by :meth:`save` after every new cell, so that an
    interrupted run resumes where it stopped."""

    def __init__(self, path):
        import json

        super().__init__()
        self.path = path
        if os.path.exists(path):
            with open(path) as f:
                self.update(json.load(f))

    def save(self):
        import json

        with open(self.path, "w") as f:
            json.dump(self, f, indent=1)


def issue_target(by_hand_fidelity, ceiling_fidelity=None):
    """The fidelity a default must reach in a cell of the black-box and tabular
    benches: max(0.8 x by hand at the same rows, 1.05 x the spec ceiling), or 0.8 x
    by hand while the ceiling is not known."""
    target = 0.8 * by_hand_fidelity
    if ceiling_fidelity is not None:
        target = max(target, 1.05 * ceiling_fidelity)
    return target

"""``python -m skdistill.bench sheet``: how fast a data sheet draws.

A sheet of ``--columns`` columns is made from ``--sample`` synthetic rows that
look like real data: half the columns with a point mass (a "not detected" code
in about 70% of the rows) and a skewed rest, all driven by 20 common factors so
that the copula's correlation is dense. Then ``--rows`` rows are drawn, copula
included, as the training loop draws them (standardized float32 tensors, the
default of ``fit``) and as :meth:`InputSpec.draw` returns them (float64 arrays in
raw units). Reports seconds per run (median of ``--repeat``) and the marginals'
check: the share of the point mass in the draws against the sample's.
"""

from __future__ import annotations

import time

import numpy as np

from ._data import machine_info


def add_parser(sub):
    p = sub.add_parser("sheet", help="draw speed of a data sheet with its copula")
    p.add_argument("--columns", type=int, default=500)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--sample", type=int, default=5000,
                   help="rows the sheet is made from")
    p.add_argument("--repeat", type=int, default=3)
    p.set_defaults(func=run)


def sample(n, d, seed=0):
    """Rows of ``d`` columns: the first half with a point mass at -1 (about 70%
    of the rows), the rest continuous, all from 20 common factors."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(d, 20)) / np.sqrt(20)
    X = rng.normal(size=(n, 20)) @ loadings.T + rng.normal(size=(n, d))
    half = d // 2
    X[:, :half] = np.where(X[:, :half] < 0.5, -1.0, np.exp(X[:, :half] / 3))
    return X


def run(args):
    import torch

    from skdistill import InputSpec
    from skdistill.inputs import StandardizedSpace

    X = sample(args.sample, args.columns)
    t0 = time.perf_counter()
    spec = InputSpec.from_data(X)
    t_sheet = time.perf_counter() - t0
    space = StandardizedSpace(spec)
    gen = torch.Generator().manual_seed(0)
    print(f"# bench sheet: {args.columns} columns, {args.rows:,} rows, copula "
          f"{spec.correlation.shape}; torch threads {torch.get_num_threads()}")
    print(f"# machine: {machine_info()}")
    print(f"# command: python -m skdistill.bench sheet --columns {args.columns} "
          f"--rows {args.rows} --sample {args.sample} --repeat {args.repeat}")
    print(f"from_data on {args.sample} rows: {t_sheet:.2f} s")
    fit_times, draw_times = [], []
    for _ in range(args.repeat):  # alternate the two forms
        t0 = time.perf_counter()
        z = space.draw(args.rows, gen)
        fit_times.append(time.perf_counter() - t0)
        del z
        t0 = time.perf_counter()
        D = spec.draw(args.rows, random_state=0)
        draw_times.append(time.perf_counter() - t0)
    half = args.columns // 2
    share_data = float((X[:, :half] == -1.0).mean())
    share_draw = float((D[:, :half] == -1.0).mean())
    print("| form | seconds (median) | runs |")
    print("|---|---|---|")
    print(f"| training draws (float32 tensors, standardized) | "
          f"{np.median(fit_times):.2f} | {', '.join(f'{t:.2f}' for t in fit_times)} |")
    print(f"| InputSpec.draw (float64 array, raw units) | "
          f"{np.median(draw_times):.2f} | {', '.join(f'{t:.2f}' for t in draw_times)} |")
    print(f"point mass share: sample {share_data:.4f}, draws {share_draw:.4f}")
    return 0

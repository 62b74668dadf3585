"""``scaleout``: a 12-point GridSearchCV on a dask LocalCluster against n_jobs=1.

The search is the one users run to tune a distillation without labels: ``alpha``
(3 values) x ``beta`` (2) x ``gamma`` (2), 2-fold cross-validation scored by fidelity
to the teacher, so 24 fits and the refit. The teacher is the paper's (500 tanh units,
``_data.train_mlp_teacher``) trained on scikit-learn's embedded diabetes data (no
shared datasets needed), the student 25 tanh units, and each fit lasts a few seconds.

The same search runs twice, with torch on one thread everywhere: in this process with
``n_jobs=1``, and through joblib's dask backend on a ``dask.distributed``
LocalCluster of ``--workers`` single-threaded worker processes. The cluster is
started (and its workers import skdistill) before the clock starts; that start is
reported on its own. Both searches must find the same scores.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ._data import machine_info, train_mlp_teacher

GRID = {
    "alpha": ["decreasing", 0.5, 1.0],
    "beta": [1e-5, 1.0],
    "gamma": [1e-5, 1.0],
}


def add_parser(sub):
    p = sub.add_parser(
        "scaleout",
        help="wall time of a 12-point GridSearchCV on a dask LocalCluster vs n_jobs=1",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--workers", type=int, default=2, help="cluster worker processes")
    p.add_argument(
        "--epochs", type=int, default=400, help="max_epochs of every candidate fit"
    )
    p.add_argument("--cv", type=int, default=2, help="cross-validation folds")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def _command(args):
    return (
        f"python -m skdistill.bench scaleout --workers {args.workers} "
        f"--epochs {args.epochs} --cv {args.cv} --seed {args.seed}"
    )


def _search(teacher, args):
    from sklearn.model_selection import GridSearchCV, KFold

    from .. import DataFreeDistillRegressor
    from ..metrics import fidelity_r2_scorer

    est = DataFreeDistillRegressor(
        teacher, student=(25,), max_epochs=args.epochs, random_state=args.seed
    )
    cv = KFold(args.cv, shuffle=True, random_state=args.seed)
    return GridSearchCV(est, GRID, scoring=fidelity_r2_scorer, cv=cv)


def _warm_up():
    """Import what the fits need, so that the timed search does not pay for it."""
    import torch

    import skdistill  # noqa: F401

    torch.set_num_threads(1)


def run(args):
    import torch
    from joblib import parallel_config
    from sklearn.datasets import load_diabetes

    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise SystemExit(
            f"scaleout needs dask.distributed ({exc}); pip install 'skdistill[dask]'."
        ) from None
    if args.workers < 2:
        raise SystemExit("--workers must be at least 2 (one would run sequentially).")

    torch.set_num_threads(1)
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    teacher = train_mlp_teacher(X, (y - y.mean()) / y.std(), epochs=50, seed=args.seed)
    n_points = int(np.prod([len(v) for v in GRID.values()]))
    n_fits = n_points * args.cv
    print(
        f"# scaleout: GridSearchCV over {n_points} points ({' x '.join(GRID)}), "
        f"{args.cv}-fold: {n_fits} fits and the refit; student 25 tanh, teacher 500 "
        f"tanh (diabetes), {args.epochs} epochs x 10 batches x 50 per fit"
    )
    print(f"# machine: {machine_info()}; load average at the start {_load()}")
    print(f"# command: {_command(args)}", flush=True)

    t0 = time.perf_counter()
    serial = _search(teacher, args).set_params(n_jobs=1).fit(X)
    t_serial = time.perf_counter() - t0
    print(f"# n_jobs=1: {t_serial:.1f} s", flush=True)

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm_up)
        t_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        with parallel_config(backend="dask"):
            spread = _search(teacher, args).set_params(n_jobs=-1).fit(X)
        t_cluster = time.perf_counter() - t0
        t0 = time.perf_counter()
    t_stop = time.perf_counter() - t0

    same = np.array_equal(
        serial.cv_results_["mean_test_score"], spread.cv_results_["mean_test_score"]
    )
    ratio = t_cluster / t_serial
    total = t_start + t_cluster + t_stop
    print()
    print("| run | wall time (s) | cluster / n_jobs=1 |")
    print("|---|---|---|")
    print(f"| n_jobs=1, this process | {t_serial:.1f} | 1 |")
    print(
        f"| LocalCluster, {args.workers} workers x 1 thread (search) | "
        f"{t_cluster:.1f} | {ratio:.2f} (speed-up {1 / ratio:.2f}x) |"
    )
    print(
        f"| same, with starting ({t_start:.1f} s) and closing ({t_stop:.1f} s) "
        f"the cluster | {total:.1f} | {total / t_serial:.2f} |"
    )
    print()
    print(f"- same cross-validated scores on the cluster and here: {same}")
    # a fit slower on the workers than here means the cores were not free: other
    # processes took them (a shared machine), not the cluster's overhead
    print(
        "- mean time of one fit: "
        f"{np.mean(serial.cv_results_['mean_fit_time']):.2f} s here, "
        f"{np.mean(spread.cv_results_['mean_fit_time']):.2f} s on the workers; "
        f"load average at the end {_load()}"
    )
    print(f"- best: {spread.best_params_}, fidelity R^2 {spread.best_score_:.4f}")
    return 0 if same else 1


def _load():
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on this platform
        return "unknown"

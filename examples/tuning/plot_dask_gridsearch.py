"""
===================================================
A grid search on a dask cluster, through joblib
===================================================

:class:`~sklearn.model_selection.GridSearchCV` runs its fits with joblib, and joblib
can hand them to a `dask.distributed <https://distributed.dask.org>`_ cluster: the
search over ``alpha``, ``beta`` and ``gamma`` of the :ref:`labels-free tuning
example <sphx_glr_auto_examples_tuning_plot_grid_search_fidelity.py>` then spreads
over as many machines as the cluster has, with no change to skdistill or to the
search. Here the cluster is a :class:`~distributed.LocalCluster` of two worker
processes on this machine; on a real one, connect the client to its scheduler
instead: ``Client("tcp://scheduler:8786")``.

It needs ``pip install "skdistill[dask]"``.
"""

# %%
# The teacher and the search
# --------------------------
# The teacher is a small torch network fitted to scikit-learn's diabetes data; we
# keep 100 other rows, without targets, to describe the inputs. The search is an
# ordinary ``GridSearchCV`` scored by fidelity to the teacher.
#
# Everything that computes sits in functions: each worker process of a
# ``LocalCluster`` starts by importing this script (Python's *spawn* start method),
# and only the code under ``if __name__ == "__main__":`` must not run again there.
import time

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, KFold

from skdistill import DataFreeDistillRegressor
from skdistill.metrics import fidelity_r2_scorer


def teacher_and_rows():
    X, y = load_diabetes(return_X_y=True)  # features scaled by scikit-learn
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y / 100.0)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(10, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1)
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(200):  # full-batch training on the first 300 rows
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X[:300]).ravel(), y[:300].float())
        loss.backward()
        optimizer.step()
    return net.requires_grad_(False), X[300:400].numpy().astype(np.float64)


def grid_search(teacher):
    base = DataFreeDistillRegressor(
        teacher, student=(20,), max_epochs=20, batches_per_epoch=5, random_state=0
    )
    grid = {"alpha": ["decreasing", 1.0], "beta": [1e-5, 1.0], "gamma": [1e-5, 1.0]}
    return GridSearchCV(
        base, grid, scoring=fidelity_r2_scorer, cv=KFold(2, shuffle=True, random_state=0)
    )


# %%
# On the cluster
# --------------
# Start the cluster and a client, then run the search inside
# ``parallel_config(backend="dask")``: joblib sends each fit to a worker. The
# estimator (with its teacher: :func:`~sklearn.base.clone` keeps the teacher as it
# is) is pickled to the workers, and each fitted candidate's score comes back. One
# thread per worker, and one torch thread in it: the fits are small, and threads
# would only compete for the same cores.
from distributed import Client, LocalCluster
from joblib import parallel_config

if __name__ == "__main__":
    teacher, X_unlabeled = teacher_and_rows()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    with cluster, Client(cluster) as client:
        client.run(torch.set_num_threads, 1)
        print(client)
        start = time.perf_counter()
        with parallel_config(backend="dask"):
            search = grid_search(teacher).set_params(n_jobs=-1).fit(X_unlabeled)
        on_cluster = time.perf_counter() - start
    n_candidates = len(search.cv_results_["params"])
    print(f"{n_candidates} candidates x 2 folds on the cluster: {on_cluster:.1f} s")
    print("best:", search.best_params_, f"fidelity R^2 {search.best_score_:.4f}")

# %%
# The same search here
# --------------------
# With ``n_jobs=1`` in this process, the search finds the same scores to the last
# bit: the same ``random_state`` gives the same students wherever they are trained.
if __name__ == "__main__":
    torch.set_num_threads(1)
    start = time.perf_counter()
    local = grid_search(teacher).set_params(n_jobs=1).fit(X_unlabeled)
    print(f"n_jobs=1: {time.perf_counter() - start:.1f} s")
    same = np.array_equal(
        local.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    print("same scores on the cluster and here:", same)

# %%
# The wall-time ratio depends on the size of the fits: a cluster pays for starting
# its workers and for shipping each task, which short fits like these barely cover.
# ``python -m skdistill.bench scaleout`` measures it on a 12-point search with fits of
# a few seconds. The paper benchmark runs on a cluster the same way:
# ``python -m skdistill.bench paper --dask 4`` (a local cluster of four workers) or
# ``--scheduler tcp://scheduler:8786``.

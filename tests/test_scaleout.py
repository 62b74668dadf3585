"""Scale-out on dask.distributed through joblib's dask backend: GridSearchCV, the
paper benchmark and differential evolution's workers give what they give locally."""

import csv
import os

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skdistill import DataFreeDistillRegressor
from skdistill.bench.__main__ import main
from skdistill.bench._paper import joblib_backend, run_one
from skdistill.metrics import fidelity_r2_scorer

from .conftest import DATA_DIR, make_torch_teacher, requires_datasets, sum_of_squares

distributed = pytest.importorskip(
    "distributed",
    reason="dask.distributed is not installed (pip install 'skdistill[dask]')",
)


def read_rows(path):
    with open(path, newline="") as f:
        return {r["method"]: r for r in csv.DictReader(f)}


def test_joblib_backend_starts_a_local_cluster():
    # the --dask N option of the paper benchmark; no torch in these workers, which
    # keeps their start and stop quick
    # (one worker thread would make joblib run the tasks here, sequentially)
    with joblib_backend(n_workers=2) as where:
        pids = Parallel(n_jobs=None)(delayed(os.getpid)() for _ in range(8))
    assert where.startswith("dask cluster tcp://") and "(2 worker threads)" in where
    assert os.getpid() not in pids
    with joblib_backend() as where:  # neither option: joblib as configured
        assert where is None


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        client.run(torch.set_num_threads, 1)
        yield client


def test_grid_search_on_dask_matches_n_jobs_1(client):
    torch.set_num_threads(1)
    teacher = make_torch_teacher()
    X = np.random.default_rng(0).normal(size=(40, 4))
    est = DataFreeDistillRegressor(
        teacher,
        student=(8,),
        max_epochs=5,
        batches_per_epoch=2,
        n_validation=100,
        random_state=0,
    )
    grid = {"alpha": [0.5, "decreasing"], "beta": [1e-5, 1.0], "gamma": [1e-5, 1.0]}

    def search():
        return GridSearchCV(est, grid, scoring=fidelity_r2_scorer, cv=KFold(2))

    serial = search().set_params(n_jobs=1).fit(X)
    with distributed.get_task_stream(client) as tasks:
        with parallel_config(backend="dask"):
            spread = search().set_params(n_jobs=-1).fit(X)
    ran_on = {task["worker"] for task in tasks.data}
    assert ran_on and ran_on <= set(client.scheduler_info()["workers"])

    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(spread.cv_results_[key], serial.cv_results_[key])
    assert spread.best_params_ == serial.best_params_
    # the teacher travels by reference through clone, and by pickle to the workers
    assert spread.best_estimator_.teacher is teacher

    # a fit on a worker, pickled back, is the fit made here
    remote = client.submit(clone(est).fit, X, pure=False).result()
    local = clone(est).fit(X)
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
    assert remote.n_teacher_queries_ == local.n_teacher_queries_


def test_de_workers_on_a_dask_client(client):
    kwargs = dict(
        student=(8,),
        sampler="direct",
        max_epochs=2,
        batches_per_epoch=2,
        batch_size=10,
        de_maxiter=2,
        n_validation=50,
        random_state=0,
    )
    seen = []

    def dask_map(func, chunks):
        futures = client.map(func, list(chunks), pure=False)
        seen.extend(f.key for f in futures)
        return client.gather(futures)

    ref = DataFreeDistillRegressor(sum_of_squares, **kwargs).fit(bounds=[(-1, 1)] * 3)
    est = DataFreeDistillRegressor(sum_of_squares, de_workers=dask_map, **kwargs)
    est.fit(bounds=[(-1, 1)] * 3)
    assert seen  # the chunks were labelled on the cluster
    assert est.n_teacher_queries_ == ref.n_teacher_queries_
    X = np.random.default_rng(1).uniform(-1, 1, (10, 3))
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


@requires_datasets()
def test_paper_bench_quick_on_the_cluster(client, tmp_path, capsys):
    out = tmp_path / "paper"
    argv = ["paper", "--quick", "--data-dir", str(DATA_DIR), "--out", str(out)]
    argv += ["--methods", "random", "direct_decreasing"]
    assert main(argv + ["--scheduler", client.scheduler.address]) == 0
    printed = capsys.readouterr().out
    assert f"dask cluster {client.scheduler.address} (2 worker threads)" in printed
    assert "--scheduler tcp://" in (out / "table_synthetic.md").read_text()
    rows = read_rows(out / "runs.csv")
    assert sorted(rows) == ["direct_decreasing", "random"]
    # the runs made on the workers (with the teacher trained there) are the runs
    # made here
    for method, row in rows.items():
        here, _ = run_one(
            row["dataset"],
            int(row["size"]),
            method,
            int(row["seed"]),
            row["select"],
            int(row["epochs"]),
            row["teacher"],
            path=str(DATA_DIR),
            out=out,
        )
        for key in ("rmse", "fidelity", "teacher_rmse", "n_teacher_queries"):
            assert float(row[key]) == here[key], (method, key)

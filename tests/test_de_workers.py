"""Differential evolution with ``de_workers``: the same run, the same query count,
teacher calls spread over threads or any map-like."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import InvalidParameterError

from skdistill import DataFreeDistillRegressor, RemoteTeacher
from skdistill.samplers._de import MAP_CHUNKS
from skdistill.teachers import TeacherError

from .conftest import make_torch_teacher, sum_of_squares
from .test_remote_teacher import Service

FAST = dict(
    regime="stream",  # the paper's loop: DE on black boxes
    student=(8,),
    sampler="direct",
    max_epochs=3,
    batches_per_epoch=2,
    batch_size=10,
    de_maxiter=3,
    n_validation=50,
    random_state=0,
)
BOUNDS = [(-1, 1)] * 3
X_TEST = np.random.default_rng(1).uniform(-1, 1, (20, 3))


def fit(teacher=sum_of_squares, **kwargs):
    return DataFreeDistillRegressor(teacher, **{**FAST, **kwargs}).fit(bounds=BOUNDS)


@pytest.fixture(scope="module")
def reference():
    return fit()


def assert_same_run(est, ref):
    assert est.sampler_.optimizer_ == "de"
    assert est.n_teacher_queries_ == ref.n_teacher_queries_
    assert est.history_["n_teacher_queries"] == ref.history_["n_teacher_queries"]
    assert est.history_["val_rmse"] == ref.history_["val_rmse"]
    np.testing.assert_array_equal(est.predict(X_TEST), ref.predict(X_TEST))


def test_thread_pool_gives_the_same_student_and_count(reference):
    assert_same_run(fit(de_workers=3), reference)


def test_map_like_callable_gets_chunks_in_order(reference):
    calls = []

    def serial_map(func, chunks):
        chunks = list(chunks)
        calls.append([len(c) for c in chunks])
        return [func(c) for c in chunks]

    assert_same_run(fit(de_workers=serial_map), reference)
    # every DE generation (one DE run per epoch, 1 + de_maxiter generations) went
    # through the map-like, split into MAP_CHUNKS chunks
    assert len(calls) == FAST["max_epochs"] * (FAST["de_maxiter"] + 1)
    assert all(len(sizes) == MAP_CHUNKS for sizes in calls)


def test_executor_map_and_shared_pool_through_clone_and_grid_search(reference):
    with ThreadPoolExecutor(2) as pool:
        est = DataFreeDistillRegressor(sum_of_squares, de_workers=pool.map, **FAST)
        assert clone(est).de_workers is est.de_workers  # shared, not deep-copied
        est.fit(bounds=BOUNDS)
        assert_same_run(est, reference)
        search = GridSearchCV(
            est, {"beta": [1e-5, 1.0]}, cv=KFold(2), scoring="neg_mean_squared_error"
        )
        search.fit(X_TEST, sum_of_squares(X_TEST))
        assert search.best_estimator_.de_workers is est.de_workers


def test_slow_teacher_is_queried_concurrently_and_counted_exactly():
    state = {"now": 0, "max": 0, "rows": 0}
    lock = threading.Lock()

    def slow_teacher(X):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            state["rows"] += len(X)
        time.sleep(0.005)  # a service that waits, not computes
        with lock:
            state["now"] -= 1
        return sum_of_squares(X)

    est = fit(slow_teacher, de_workers=4, max_epochs=2, batches_per_epoch=1)
    assert state["max"] > 1
    assert est.n_teacher_queries_ == state["rows"]


def test_remote_teacher_cache_with_workers(tmp_path, reference):
    with Service() as service:
        teacher = RemoteTeacher(service.url, batch_size=7, cache=tmp_path / "cache")
        first = fit(teacher, de_workers=4)
        assert_same_run(first, reference)
        again = fit(teacher, de_workers=4)
        # every row was answered from the cache, counted as cached by the chunks'
        # copies of the teacher and reported back
        assert again.n_teacher_queries_ == 0
        assert again.teacher_.n_cached == first.n_teacher_queries_
        np.testing.assert_array_equal(again.predict(X_TEST), first.predict(X_TEST))


def test_differentiable_teacher_ignores_workers():
    teacher = make_torch_teacher(n_features=3)
    ref = fit(teacher, optimizer="de")
    calls = []
    est = fit(teacher, optimizer="de", de_workers=lambda f, xs: calls.append(1))
    assert not calls
    assert_same_run(est, ref)


def test_teacher_errors_in_workers_reach_the_user():
    def broken(X):
        if len(X) < 50:  # the chunks, not the validation set
            raise OSError("connection reset")
        return sum_of_squares(X)

    with pytest.raises(TeacherError, match="OSError .*connection reset"):
        fit(broken, de_workers=2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "4"])
def test_bad_de_workers(bad):
    with pytest.raises(InvalidParameterError, match="de_workers"):
        fit(de_workers=bad)


def test_map_like_returning_too_few_results():
    with pytest.raises(TeacherError, match="one result per item"):
        fit(de_workers=lambda f, xs: [f(next(iter(xs)))])

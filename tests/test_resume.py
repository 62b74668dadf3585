"""Stopping keeps the work; warm_start and checkpoints continue it exactly."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from skdistill import DataFreeDistillRegressor, RemoteTeacher
from skdistill.callbacks import Callback
from skdistill.teachers import TeacherError

from .conftest import make_torch_teacher, sum_of_squares

BOUNDS = [(-1, 1)] * 3
FAST = dict(regime="stream",  # the paper's loop (DE on black boxes with "direct")
            max_epochs=8, batches_per_epoch=3, batch_size=10, n_validation=100,
            de_maxiter=3, student=(8,))
GRID = np.random.default_rng(1).uniform(-1, 1, (64, 3))
REPO = Path(__file__).parents[1]

# sampler, teacher: gradient steps, the generator network, DE on a black box
CASES = {
    "random": ("random", make_torch_teacher(3)),
    "direct": ("direct", make_torch_teacher(3)),
    "generator": ("generator", make_torch_teacher(3)),
    "direct-de": ("direct", sum_of_squares),
}


def _make(case, **params):
    sampler, teacher = CASES[case]
    return DataFreeDistillRegressor(teacher, sampler=sampler, random_state=0,
                                    **{**FAST, **params})


def assert_same_run(resumed, full):
    """Same predictions (exactly), same history (wall times aside), same count."""
    np.testing.assert_array_equal(resumed.predict(GRID), full.predict(GRID))
    assert set(resumed.history_) == set(full.history_)
    for key, values in full.history_.items():
        if key != "elapsed":  # NaN (no generated samples) compares equal here
            np.testing.assert_array_equal(resumed.history_[key], values, err_msg=key)
    assert resumed.n_teacher_queries_ == full.n_teacher_queries_
    assert (resumed.n_iter_, resumed.best_epoch_, resumed.best_score_) == (
        full.n_iter_, full.best_epoch_, full.best_score_)


class StopAfterEpoch(Callback):
    """Raise ``exc`` at the end of epoch ``k``, once: the whole epoch's changes
    (student steps, random draws, teacher rows) happened and must be undone."""

    def __init__(self, k, exc):
        self.k, self.exc, self.raised = k, exc, False

    def on_epoch_end(self, loop):
        if loop.epoch == self.k + 1 and not self.raised:
            self.raised = True
            raise self.exc


def stop_after_epoch(k, exc):
    return [StopAfterEpoch(k, exc)]


@pytest.fixture(scope="module")
def full_runs():
    """The uninterrupted fit of every case (fit once for the module)."""
    return {case: _make(case).fit(bounds=BOUNDS) for case in CASES}


# ------------------------------------------------- stop, then warm_start: the same
@pytest.mark.parametrize("case", list(CASES))
def test_interrupted_and_warm_started_equals_uninterrupted(case, full_runs):
    est = _make(case, callbacks=stop_after_epoch(3, KeyboardInterrupt))
    est.fit(bounds=BOUNDS)
    assert est.stop_reason_ == "interrupted" and est.n_iter_ == 3
    assert len(est.history_["epoch"]) == 3
    est.set_params(warm_start=True, callbacks=None).fit(bounds=BOUNDS)
    assert est.stop_reason_ == "max_epochs"
    assert_same_run(est, full_runs[case])


class StopWhenWorse(Callback):
    """Stop after the first epoch that is not the best so far: the student kept
    (the best) is then not the one training continues from."""

    def on_epoch_end(self, loop):
        if loop.best[1] < loop.epoch - 1:
            loop.stop("worse")


def test_warm_start_continues_from_the_last_epoch_not_the_best():
    params = dict(lr=0.1, max_epochs=30, alpha=0.5)
    full = _make("random", **params).fit(bounds=BOUNDS)
    est = _make("random", **params, callbacks=[StopWhenWorse()]).fit(bounds=BOUNDS)
    assert est.stop_reason_ == "worse" and est.best_epoch_ < est.n_iter_ - 1
    est.set_params(warm_start=True, callbacks=None).fit(bounds=BOUNDS)
    assert_same_run(est, full)


def test_budget_stop_continued_with_a_larger_budget(full_runs):
    full = full_runs["direct-de"]
    budget = full.history_["n_teacher_queries"][4] + 10
    est = _make("direct-de", max_teacher_queries=budget).fit(bounds=BOUNDS)
    assert est.stop_reason_ == "max_teacher_queries" and est.n_iter_ == 5
    est.set_params(warm_start=True, max_teacher_queries=None).fit(bounds=BOUNDS)
    assert_same_run(est, full)


# ------------------------------------------------------------- a failing teacher
class FlakyTeacher:
    """sum_of_squares, but calls number ``fail_from`` to ``fail_to`` fail."""

    def __init__(self, fail_from, fail_to=10**9):
        self.calls, self.fail_from, self.fail_to = 0, fail_from, fail_to

    def __call__(self, X):
        self.calls += 1
        if self.fail_from <= self.calls <= self.fail_to:
            raise RuntimeError("service down")
        return sum_of_squares(X)


def test_teacher_error_stops_and_keeps_the_best_student(full_runs):
    # DE: 1 validation call, then 3 + 2 calls per epoch; call 20 is in epoch 3
    teacher = FlakyTeacher(fail_from=20, fail_to=20)
    est = DataFreeDistillRegressor(teacher, sampler="direct", random_state=0, **FAST)
    with pytest.warns(UserWarning, match="Training stopped at epoch 3: the teacher "
                                         "failed: .*service down"):
        est.fit(bounds=BOUNDS)
    assert est.stop_reason_ == "teacher_error" and est.n_iter_ == 3
    assert "Epoch 3" in est.teacher_error_ and "service down" in est.teacher_error_
    assert est.best_epoch_ < 3 and est.predict(GRID).shape == (64,)
    # the service is back: continuing gives the uninterrupted run
    est.set_params(warm_start=True).fit(bounds=BOUNDS)
    assert est.teacher_error_ is None
    assert_same_run(est, full_runs["direct-de"])


def test_teacher_error_before_the_first_epoch_still_raises():
    est = DataFreeDistillRegressor(FlakyTeacher(fail_from=3), sampler="direct", random_state=0, **FAST)
    with pytest.raises(TeacherError, match="Epoch 0: .*service down"):
        est.fit(bounds=BOUNDS)
    assert not hasattr(est, "student_") and not hasattr(est, "stop_reason_")


# ------------------------------------------------------------- warm_start rules
def test_warm_start_trains_the_epochs_left_and_appends_history():
    est = _make("random", alpha=0.5, max_epochs=3).fit(bounds=BOUNDS)
    first = est.history_["val_rmse"][:]
    est.set_params(warm_start=True, max_epochs=6).fit(bounds=BOUNDS)
    assert est.n_iter_ == 6 and est.history_["epoch"] == list(range(6))
    assert est.history_["val_rmse"][:3] == first
    assert np.all(np.diff(est.history_["elapsed"]) > 0)
    # without warm_start, fit starts over
    est.set_params(warm_start=False, max_epochs=3).fit(bounds=BOUNDS)
    assert est.n_iter_ == 3 and est.history_["val_rmse"] == first


def test_warm_start_with_nothing_left_warns_and_asks_no_teacher_row():
    teacher = FlakyTeacher(fail_from=10**9)
    est = DataFreeDistillRegressor(teacher, sampler="direct", random_state=0, **FAST).fit(bounds=BOUNDS)
    before, calls = est.predict(GRID), teacher.calls
    with pytest.warns(UserWarning, match="Nothing to train: .* already run 8 epochs"):
        est.set_params(warm_start=True).fit(bounds=BOUNDS)
    assert teacher.calls == calls and est.n_iter_ == 8
    np.testing.assert_array_equal(est.predict(GRID), before)


def test_warm_start_refuses_changed_parameters_and_inputs():
    est = _make("random").fit(bounds=BOUNDS)
    before = est.predict(GRID)
    with pytest.raises(ValueError, match="warm_start=True continues the previous fit, "
                                         "but lr, student changed since"):
        est.set_params(warm_start=True, lr=0.1, student=(4,)).fit(bounds=BOUNDS)
    est.set_params(lr="auto", student=(8,))
    with pytest.raises(ValueError, match=r"but input description \(X, bounds or "):
        est.fit(X=np.random.default_rng(0).normal(size=(20, 3)))
    with pytest.raises(ValueError, match="but teacher changed since"):
        est.set_params(teacher=make_torch_teacher(3, seed=1)).fit(bounds=BOUNDS)
    # a refused warm start leaves the previous fit as it was
    np.testing.assert_array_equal(est.predict(GRID), before)
    assert est.n_iter_ == 8 and not hasattr(est, "feature_names_in_")
    # an unfitted estimator with warm_start=True fits afresh
    fresh = clone(est).fit(bounds=BOUNDS)
    assert fresh.n_iter_ == 8


def test_clone_and_get_params_know_the_new_parameters(tmp_path):
    est = _make("random", warm_start=True, checkpoint=str(tmp_path / "c.joblib"),
                checkpoint_every=2).fit(bounds=BOUNDS)
    params = clone(est).get_params()
    assert params["warm_start"] is True and params["checkpoint_every"] == 2
    assert params["checkpoint"] == str(tmp_path / "c.joblib")
    assert not hasattr(clone(est), "_resume_state")
    again = joblib.load(_dump(est, tmp_path / "est.joblib"))  # warm-startable too
    with pytest.warns(UserWarning, match="Nothing to train"):
        again.fit(bounds=BOUNDS)


def _dump(obj, path):
    joblib.dump(obj, path)
    return path


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_resumes_in_a_new_estimator_and_is_kept(tmp_path, full_runs):
    path = tmp_path / "run.joblib"
    _make("generator", checkpoint=path, checkpoint_every=4,
          callbacks=stop_after_epoch(5, KeyboardInterrupt)).fit(bounds=BOUNDS)
    assert joblib.load(path)["epoch"] == 5  # written when training stopped
    est = _make("generator", checkpoint=path, checkpoint_every=4).fit(bounds=BOUNDS)
    assert_same_run(est, full_runs["generator"])
    assert path.exists() and joblib.load(path)["stop_reason"] == "max_epochs"
    # kept: fitting again loads the finished run
    with pytest.warns(UserWarning, match="Nothing to train: .*from checkpoint"):
        again = _make("generator", checkpoint=path).fit(bounds=BOUNDS)
    assert_same_run(again, full_runs["generator"])


EXIT_AT = {"call": 0, "calls": 0}


def exits_midway(X):
    """sum_of_squares that raises SystemExit at call ``EXIT_AT["call"]`` (a function:
    its fingerprint does not change as it is called)."""
    EXIT_AT["calls"] += 1
    if EXIT_AT["calls"] == EXIT_AT["call"]:
        raise SystemExit(3)
    return sum_of_squares(X)


def test_a_fit_that_raises_saves_where_the_failed_epoch_started(tmp_path, full_runs):
    path = tmp_path / "run.joblib"
    EXIT_AT.update(call=28, calls=0)  # call 28: in epoch 5, after the write at 4
    est = DataFreeDistillRegressor(exits_midway, sampler="direct", random_state=0, checkpoint=path,
                                   checkpoint_every=4, **FAST)
    with pytest.raises(SystemExit):
        est.fit(bounds=BOUNDS)
    assert not hasattr(est, "student_") and joblib.load(path)["epoch"] == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # resumed, not started afresh
        est.fit(bounds=BOUNDS)
    assert_same_run(est, full_runs["direct-de"])


def test_checkpoint_of_other_parameters_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "run.joblib"
    _make("random", checkpoint=path).fit(bounds=BOUNDS)
    with pytest.warns(UserWarning, match="written with another batch_size.*afresh"):
        est = _make("random", checkpoint=path, batch_size=5).fit(bounds=BOUNDS)
    assert est.n_iter_ == 8
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="could not be read"):
        _make("random", checkpoint=path).fit(bounds=BOUNDS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a readable file of the same run: no warning
        _make("random", checkpoint=path, max_epochs=9).fit(bounds=BOUNDS)


SCRIPT = """
import os, sys
import joblib
import numpy as np
from skdistill import DataFreeDistillRegressor

checkpoint, crash_after, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ROWS = [0]

def teacher(X):
    ROWS[0] += len(X)
    if crash_after and ROWS[0] > crash_after:
        os._exit(3)  # the process dies: no exception handler, no finally
    return (X ** 2).sum(axis=1) + X[:, 0]

est = DataFreeDistillRegressor(teacher, sampler="direct", random_state=0, checkpoint=checkpoint,
                               checkpoint_every=1, **{params})
est.fit(bounds=[(-1, 1)] * 3)
grid = np.random.default_rng(1).uniform(-1, 1, (64, 3))
joblib.dump(dict(pred=est.predict(grid), history=est.history_, rows=ROWS[0],
                 n=est.n_teacher_queries_), out)
"""


def test_a_crashed_process_resumes_from_its_checkpoint(tmp_path, full_runs):
    """Kill a process mid-epoch; a second one resumes and matches the full run."""
    full = full_runs["direct-de"]
    h = full.history_["n_teacher_queries"]
    script = tmp_path / "distil.py"
    script.write_text(textwrap.dedent(SCRIPT).replace("{params}", repr(FAST)))
    path, out = tmp_path / "run.joblib", tmp_path / "out.joblib"
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(crash_after):
        return subprocess.run([sys.executable, str(script), str(path),
                               str(crash_after), str(out)], env=env,
                              capture_output=True, text=True, timeout=120)

    crash_after = (h[4] + h[5]) // 2  # in the middle of epoch 5
    crashed = run(crash_after)
    assert crashed.returncode == 3, crashed.stderr
    assert not out.exists() and joblib.load(path)["epoch"] == 5
    resumed = run(0)
    assert resumed.returncode == 0, resumed.stderr
    got = joblib.load(out)
    np.testing.assert_array_equal(got["pred"], full.predict(GRID))
    for key, values in full.history_.items():
        if key != "elapsed":
            np.testing.assert_array_equal(got["history"][key], values)
    assert got["n"] == full.n_teacher_queries_
    # the resumed process paid only for epochs 5 to 7: validation and epochs 0-4
    # (h[4] rows) came from the checkpoint; without a cache, the part of epoch 5
    # done before the crash is paid twice
    assert got["rows"] == full.n_teacher_queries_ - h[4]
    print(f"\nrows: fresh run {full.n_teacher_queries_}, resumed process "
          f"{got['rows']}, saved {h[4]}; crashed process sent {crash_after + 1}+")


def test_resume_with_a_cached_remote_teacher_pays_no_row_twice(tmp_path):
    from .test_remote_teacher import Service

    path, cache = tmp_path / "run.joblib", tmp_path / "cache"
    params = dict(batch_size=10, checkpoint=path, checkpoint_every=3)
    with Service() as reference:
        full = DataFreeDistillRegressor(RemoteTeacher(reference.url), sampler="direct", random_state=0,
                                        **{**FAST, **params, "checkpoint": None})
        full.fit(bounds=BOUNDS)
    h = full.history_["n_teacher_queries"]
    with Service() as service:
        first = DataFreeDistillRegressor(  # epoch 4 was labelled, then cut
            RemoteTeacher(service.url, cache=cache), sampler="direct", random_state=0,
            callbacks=stop_after_epoch(4, KeyboardInterrupt), **{**FAST, **params})
        first.fit(bounds=BOUNDS)
        assert first.stop_reason_ == "interrupted" and service.rows == h[4]
        est = DataFreeDistillRegressor(RemoteTeacher(service.url, cache=cache), sampler="direct",
                                       random_state=0, **{**FAST, **params})
        est.fit(bounds=BOUNDS)
    np.testing.assert_array_equal(est.predict(GRID), full.predict(GRID))
    # every row was sent once: epoch 4, cut short, came from the cache when redone
    assert service.rows == full.n_teacher_queries_
    assert est.teacher_.n_cached == h[4] - h[3]
    assert est.n_teacher_queries_ == full.n_teacher_queries_ - (h[4] - h[3])

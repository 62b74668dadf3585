"""Callbacks on the training loop: early stopping, the CSV logger, users' own
callbacks and their stop reasons, and how they meet warm starts."""

import csv

import joblib
import numpy as np
import pytest

from skdistill import DataFreeDistillRegressor
from skdistill.callbacks import Callback, CSVLogger, EarlyStopping

from .conftest import make_torch_teacher

FAST = dict(batch_size=20, batches_per_epoch=5, n_validation=100, random_state=0)


def _est(**kw):
    return DataFreeDistillRegressor(
        make_torch_teacher(3), student=(8,), sampler="random", **{**FAST, **kw}
    )


def test_early_stopping_stops_and_keeps_the_best_student():
    est = _est(max_epochs=500, lr=0.05, callbacks=[EarlyStopping(patience=3)])
    est.fit(bounds=[(-1, 1)] * 3)
    val = est.history_["val_rmse"]
    assert est.stop_reason_ == "early_stopping"
    assert est.n_iter_ < 500 and len(val) == est.n_iter_
    # stopped after exactly `patience` epochs without a new best ...
    assert est.best_epoch_ == est.n_iter_ - 1 - 3
    assert all(v >= val[est.best_epoch_] for v in val[est.best_epoch_ + 1 :])
    # ... and the fitted student is the best one, not the last one
    assert est.best_score_ == min(val)
    assert est.callbacks_[0].stopped_epoch_ == est.n_iter_ - 1
    again = _est(max_epochs=est.best_epoch_ + 1, lr=0.05).fit(bounds=[(-1, 1)] * 3)
    X = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    np.testing.assert_allclose(est.predict(X), again.predict(X), rtol=1e-6, atol=1e-7)


def test_early_stopping_resumed_stops_where_the_uninterrupted_run_does():
    whole = _est(max_epochs=500, lr=0.05, callbacks=[EarlyStopping(patience=3)])
    whole.fit(bounds=[(-1, 1)] * 3)
    part = _est(
        max_epochs=whole.n_iter_ - 2, lr=0.05, callbacks=[EarlyStopping(patience=3)]
    ).fit(bounds=[(-1, 1)] * 3)
    assert part.stop_reason_ == "max_epochs"
    part.set_params(max_epochs=500, warm_start=True).fit(bounds=[(-1, 1)] * 3)
    assert part.stop_reason_ == "early_stopping"
    assert part.n_iter_ == whole.n_iter_
    assert part.history_["val_rmse"] == whole.history_["val_rmse"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(patience=0), "patience must be an integer >= 1"),
        (dict(min_delta=-1.0), "min_delta must be a number >= 0"),
        (dict(monitor="loss"), "monitor='loss' is not a history column"),
    ],
)
def test_early_stopping_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _est(max_epochs=2, callbacks=[EarlyStopping(**kwargs)]).fit(bounds=[(0, 1)] * 3)


def test_csv_logger_writes_one_row_per_epoch_and_appends_on_warm_start(tmp_path):
    path = tmp_path / "log.csv"
    est = _est(max_epochs=4, callbacks=[CSVLogger(path)]).fit(bounds=[(0, 1)] * 3)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(est.history_)
    assert len(rows) == 1 + 4
    assert [float(r[rows[0].index("val_rmse")]) for r in rows[1:]] == pytest.approx(
        est.history_["val_rmse"], rel=1e-12
    )
    est.set_params(max_epochs=6, warm_start=True).fit(bounds=[(0, 1)] * 3)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + 6
    assert [int(r[0]) for r in rows[1:]] == list(range(6))
    # the fitted estimator (and its logger) pickles
    joblib.dump(est, tmp_path / "est.joblib")


class StopAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch
        self.seen = []

    def on_train_begin(self, loop):
        self.seen.append("begin")

    def on_epoch_begin(self, loop):
        if loop.epoch == self.epoch:
            loop.stop("enough")

    def on_train_end(self, loop):
        self.seen.append(("end", loop.stop_reason))


def test_a_users_callback_stops_the_run_with_its_reason():
    mine = StopAt(2)
    est = _est(max_epochs=10, callbacks=[mine]).fit(bounds=[(0, 1)] * 3)
    assert est.stop_reason_ == "enough" and est.n_iter_ == 2
    # fit worked on a copy: the user's object is untouched, the copy is fitted
    assert mine.seen == []
    assert est.callbacks_[0].seen == ["begin", ("end", "enough")]
    # a clone keeps the (unfitted) callbacks; a second fit uses fresh copies
    est.fit(bounds=[(0, 1)] * 3)
    assert est.callbacks_[0].seen == ["begin", ("end", "enough")]


class Boom(Callback):
    def on_epoch_end(self, loop):
        if loop.epoch == 2:
            raise RuntimeError("boom")

    def on_train_end(self, loop):
        self.reason = loop.stop_reason
        self.epoch = loop.epoch


def test_an_error_in_a_callback_reaches_the_user_and_on_train_end_sees_it():
    boom = Boom()
    est = _est(max_epochs=10, callbacks=[boom])
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(bounds=[(0, 1)] * 3)


def test_callbacks_must_be_callback_instances():
    with pytest.raises(TypeError, match="callbacks must be a list of"):
        _est(max_epochs=2, callbacks=[print]).fit(bounds=[(0, 1)] * 3)
    with pytest.raises((TypeError, ValueError), match="'callbacks' parameter"):
        _est(max_epochs=2, callbacks=EarlyStopping()).fit(bounds=[(0, 1)] * 3)


def test_bad_callbacks_fail_before_the_teacher_is_asked():
    calls = []

    def teacher(X):
        calls.append(len(X))
        return X.sum(axis=1)

    est = DataFreeDistillRegressor(teacher, sampler="random", callbacks=[object()],
                                   max_epochs=2, **FAST)
    with pytest.raises(TypeError, match="callbacks"):
        est.fit(bounds=[(0, 1)] * 3)
    assert calls == []

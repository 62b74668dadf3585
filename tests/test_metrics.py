"""Fidelity scorers: student against teacher, with no labels."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdistill import DataFreeDistillRegressor
from skdistill.metrics import (
    fidelity_mae,
    fidelity_predictions,
    fidelity_r2,
    fidelity_r2_scorer,
    fidelity_rmse,
    fidelity_rmse_scorer,
    make_fidelity_scorer,
    sample_losses,
)

from .conftest import make_torch_teacher


def _small(teacher, **kw):
    params = dict(
        student=(8,),
        max_epochs=15,
        batches_per_epoch=2,
        batch_size=20,
        n_validation=100,
        random_state=0,
    )
    params.update(kw)
    return DataFreeDistillRegressor(teacher, **params)


@pytest.fixture(scope="module")
def teacher():
    return make_torch_teacher(n_features=3, hidden=16)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(1).uniform(-1, 1, size=(200, 3))


@pytest.fixture(scope="module")
def fitted(teacher, X):
    return _small(teacher).fit(X)


def _teacher_on(teacher, X):
    with torch.no_grad():
        return teacher(torch.as_tensor(X, dtype=torch.float32)).numpy().ravel()


def test_fidelity_compares_student_with_teacher(fitted, teacher, X):
    y_student, y_teacher = fidelity_predictions(fitted, X)
    np.testing.assert_allclose(y_student, fitted.predict(X))
    np.testing.assert_allclose(y_teacher, _teacher_on(teacher, X), rtol=1e-6)
    assert fidelity_r2(fitted, X) == pytest.approx(r2_score(y_teacher, y_student))
    rmse = np.sqrt(np.mean((y_teacher - y_student) ** 2))
    assert fidelity_rmse(fitted, X) == pytest.approx(rmse)
    assert fidelity_mae(fitted, X) == pytest.approx(
        np.abs(y_teacher - y_student).mean()
    )
    np.testing.assert_allclose(sample_losses(fitted, X), (y_teacher - y_student) ** 2)


def test_scorers_are_greater_is_better_and_ignore_y(fitted, X):
    y_junk = np.full(len(X), 1e6)
    assert fidelity_r2_scorer(fitted, X, y_junk) == pytest.approx(
        fidelity_r2(fitted, X)
    )
    assert fidelity_rmse_scorer(fitted, X) == pytest.approx(-fidelity_rmse(fitted, X))
    assert make_fidelity_scorer("mae")(fitted, X) < 0


def test_a_better_student_scores_higher(teacher, X):
    weak = _small(teacher, max_epochs=1).fit(X)
    strong = _small(teacher, max_epochs=60, batches_per_epoch=5).fit(X)
    assert fidelity_r2_scorer(strong, X) > fidelity_r2_scorer(weak, X)
    assert fidelity_rmse_scorer(strong, X) > fidelity_rmse_scorer(weak, X)


def test_scoring_does_not_change_the_reported_teacher_queries(fitted, X):
    n_adapter, n_reported = fitted.teacher_.n_queries, fitted.n_teacher_queries_
    fidelity_r2_scorer(fitted, X)
    fidelity_rmse(fitted, n_draws=50)
    assert fitted.teacher_.n_queries == n_adapter
    assert fitted.n_teacher_queries_ == n_reported


def test_n_draws_scores_on_the_input_spec(fitted):
    scorer = make_fidelity_scorer("rmse", n_draws=300, random_state=3)
    a = scorer(fitted, None)
    assert a == scorer(fitted, np.zeros((5, 3)))  # X ignored, same draws
    assert a == -fidelity_rmse(fitted, n_draws=300, random_state=3)
    assert a != -fidelity_rmse(fitted, n_draws=300, random_state=4)
    assert repr(scorer) == "make_fidelity_scorer('rmse', n_draws=300, random_state=3)"


def test_grid_search_and_cross_val_score_without_labels(teacher, X):
    search = GridSearchCV(
        _small(teacher, max_epochs=5),
        {"alpha": [0.0, "decreasing"], "gamma": [1e-5, 1.0]},
        scoring={"r2": fidelity_r2_scorer, "rmse": fidelity_rmse_scorer},
        refit="r2",
        cv=KFold(2),
    )
    search.fit(X)  # no y anywhere
    assert np.isfinite(search.cv_results_["mean_test_r2"]).all()
    assert (search.cv_results_["mean_test_rmse"] < 0).all()
    assert search.best_params_ in search.cv_results_["params"]
    scores = cross_val_score(
        _small(teacher, max_epochs=5), X, scoring=fidelity_r2_scorer, cv=KFold(2)
    )
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_pipeline_queries_the_teacher_on_transformed_rows(teacher, X):
    X_raw = X * 10 + 5  # the teacher sees the scaler's output
    pipe = make_pipeline(StandardScaler(), _small(teacher)).fit(X_raw)
    y_student, y_teacher = fidelity_predictions(pipe, X_raw)
    np.testing.assert_allclose(y_student, pipe.predict(X_raw))
    expected = _teacher_on(teacher, pipe[0].transform(X_raw))
    np.testing.assert_allclose(y_teacher, expected, rtol=1e-5)
    assert np.isfinite(fidelity_r2_scorer(pipe, X_raw))
    assert np.isfinite(make_fidelity_scorer(n_draws=100)(pipe, X_raw))


def test_teacher_argument_scores_any_regressor(X):
    y = X @ [1.0, -2.0, 0.5]
    teacher = LinearRegression().fit(X, y)
    copy = LinearRegression().fit(X, y)
    assert fidelity_r2(copy, X, teacher=teacher) == pytest.approx(1.0)
    assert fidelity_rmse(copy, X, teacher=teacher) == pytest.approx(0.0, abs=1e-6)
    off = LinearRegression().fit(X, y + 1.0)
    scorer = make_fidelity_scorer("rmse", teacher=teacher)
    assert scorer(off, X) == pytest.approx(-1.0, rel=1e-5)


def test_compact_model_scored_against_the_teacher(fitted, teacher, X):
    compact = fitted.to_compact()
    assert fidelity_r2(compact, X, teacher=teacher) == pytest.approx(
        fidelity_r2(fitted, X), abs=1e-6
    )


def test_clear_errors(fitted, X):
    with pytest.raises(ValueError, match="Unknown fidelity metric"):
        make_fidelity_scorer("accuracy")
    with pytest.raises(ValueError, match="no fitted teacher_"):
        fidelity_r2(LinearRegression().fit(X, X[:, 0]), X)
    with pytest.raises(ValueError, match="with an input_spec_"):
        fidelity_r2(LinearRegression().fit(X, X[:, 0]), teacher=np.sum, n_draws=10)
    with pytest.raises(ValueError, match="Give X"):
        fidelity_r2(fitted)
    with pytest.raises(ValueError, match="n_draws must be"):
        fidelity_r2(fitted, n_draws=0)

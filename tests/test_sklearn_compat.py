"""scikit-learn compliance: checks, clone, GridSearchCV, Pipeline."""

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdistill import DataFreeDistillRegressor, DirectSampler, EarlyStopping

from .conftest import make_torch_teacher, sum_of_squares

TINY = dict(max_epochs=5, batches_per_epoch=2, batch_size=10, n_validation=50)

# The checks fit on (X, y) and judge the fit against y. A data-free estimator learns
# the teacher, not y: X only describes the input distribution, y is ignored.
EXPECTED_FAILED = {
    "check_regressors_train": "y is ignored: the student fits the teacher, not y, so "
    "its score against y is not that of a regressor trained on y",
    "check_supervised_y_no_nan": "y is ignored, so NaN or inf in y raises no error",
    "check_regressor_multioutput": "y is ignored: the number of outputs is the "
    "teacher's (multi-output teachers give multi-output students), not y's",
}


class AnyWidth(torch.nn.Module):
    """A differentiable teacher that takes any number of features (the checks fit
    on inputs of several widths)."""

    def forward(self, x):
        return torch.tanh(x).sum(dim=1) + x[:, 0]


class AnyWidthRegressor(RegressorMixin, BaseEstimator):
    """A fitted scikit-learn regressor (a black box) that takes any number of
    features."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.tanh(np.asarray(X)).sum(axis=1)


def _checks():
    """One estimator per training path: plain draws from black boxes (a callable,
    a scikit-learn regressor), gradient
    steps on the inputs and the generator network on a torch teacher, and a
    sampler instance with a callback."""
    return [
        DataFreeDistillRegressor(
            sum_of_squares, sampler="random", random_state=0, **TINY
        ),
        DataFreeDistillRegressor(
            AnyWidthRegressor().fit(None), sampler="random", random_state=0, **TINY
        ),
        DataFreeDistillRegressor(AnyWidth(), sampler="direct", random_state=0, **TINY),
        DataFreeDistillRegressor(
            AnyWidth(), sampler="generator", random_state=0, **TINY
        ),
        DataFreeDistillRegressor(
            AnyWidth(),
            sampler=DirectSampler(steps=1, beta=0.1),
            callbacks=[EarlyStopping(patience=2)],
            random_state=0,
            **TINY,
        ),
    ]


@parametrize_with_checks(_checks(), expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clone_and_params():
    est = DataFreeDistillRegressor(make_torch_teacher(), alpha=0.3, beta=0.1)
    c = clone(est)
    assert c.get_params()["alpha"] == 0.3 and c.get_params()["beta"] == 0.1
    c.set_params(gamma=2.0)
    assert c.gamma == 2.0 and est.gamma == 1e-5


def test_grid_search_over_alpha_beta_gamma():
    teacher = make_torch_teacher(4)
    X = np.random.default_rng(0).normal(size=(120, 4))
    import torch

    with torch.no_grad():
        y = teacher(torch.as_tensor(X, dtype=torch.float32)).numpy().ravel()
    grid = GridSearchCV(
        DataFreeDistillRegressor(teacher, random_state=0, **TINY),
        {"alpha": [0.2, "decreasing"], "beta": [1e-5, 1e-3], "gamma": [1e-5]},
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_estimator_.predict(X).shape == (120,)


def test_inside_pipeline():
    X = np.random.default_rng(0).normal(5, 3, size=(100, 4))
    pipe = make_pipeline(
        StandardScaler(),
        DataFreeDistillRegressor(make_torch_teacher(4), random_state=0, **TINY),
    )
    pipe.fit(X)
    assert pipe.predict(X).shape == (100,)


def test_clone_keeps_a_fitted_sklearn_teacher():
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsRegressor

    X = np.random.default_rng(0).uniform(-1, 1, size=(80, 3))
    teacher = KNeighborsRegressor(3).fit(X, sum_of_squares(X))
    est = DataFreeDistillRegressor(teacher, sampler="random", random_state=0, **TINY)
    assert clone(est).teacher is teacher
    grid = GridSearchCV(est, {"alpha": [0.2, 0.8]}, cv=2).fit(X, sum_of_squares(X))
    assert grid.best_estimator_.teacher is teacher
    assert np.isfinite(cross_val_score(est, X, sum_of_squares(X), cv=2)).all()

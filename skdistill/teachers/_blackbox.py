"""Black-box teachers: anything that only answers queries."""

from __future__ import annotations

from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._base import Teacher

__all__ = ["SklearnTeacher", "CallableTeacher"]


class SklearnTeacher(Teacher):
    """A fitted scikit-learn regressor or Pipeline, queried through ``predict``."""

    def __init__(self, estimator):
        super().__init__()
        if is_classifier(estimator):
            raise TypeError(
                f"The teacher {type(estimator).__name__} is a classifier; "
                "skdistill distils regressors."
            )
        try:
            check_is_fitted(estimator)
        except NotFittedError:
            raise NotFittedError(
                f"The teacher {type(estimator).__name__} is not fitted. Fit it on your "
                "data first; skdistill distils an already trained model."
            ) from None
        except TypeError:
            pass  # not a scikit-learn estimator, only has predict: trust it
        self.estimator = estimator
        n = getattr(estimator, "n_features_in_", None)
        self.n_features_in_ = int(n) if n is not None else None

    def _predict_numpy(self, X):
        return self.estimator.predict(X)

    def _describe(self):
        return type(self.estimator).__name__


class CallableTeacher(Teacher):
    """A plain function ``X -> y`` (for example a client of a prediction service).

    Parameters
    ----------
    func : callable
        Takes a float64 array of shape (n, d) and returns n predictions.
    n_features : int, default=None
        Number of input features, if known.
    """

    def __init__(self, func, n_features=None):
        super().__init__()
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}.")
        self.func = func
        self.n_features_in_ = n_features

    def _predict_numpy(self, X):
        return self.func(X)

    def _describe(self):
        return getattr(self.func, "__name__", type(self.func).__name__)

"""Black-box teachers: anything that only answers queries."""

from __future__ import annotations

import threading

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._base import Teacher, TeacherError, check_number, reject_classifier

__all__ = ["SklearnTeacher", "CallableTeacher"]


class SklearnTeacher(Teacher):
    """A fitted scikit-learn regressor or Pipeline, queried through ``predict``."""

    def __init__(self, estimator):
        super().__init__()
        reject_classifier(estimator)
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
    timeout : float, default=None
        Seconds to wait for one call of ``func``; ``None`` waits as long as it takes.
        With a timeout each call runs in a worker thread, and a call that has not
        returned in time fails with a :class:`TeacherError` (so ``fit`` stops
        instead of hanging). The stuck call itself cannot be killed: its thread (a
        daemon, which does not keep Python from exiting) runs on in the background
        until ``func`` returns. Wrap any model this way, e.g.
        ``CallableTeacher(model.predict, timeout=60)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdistill.teachers import CallableTeacher
    >>> teacher = CallableTeacher(lambda X: X.sum(axis=1), timeout=10)
    >>> teacher.predict(np.ones((2, 3)))
    array([3., 3.])
    """

    def __init__(self, func, n_features=None, timeout=None):
        super().__init__()
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}.")
        check_number("n_features", n_features, integer=True, none=True)
        check_number("timeout", timeout, none=True)
        self.func = func
        self.n_features_in_ = n_features
        self.timeout = timeout

    def _predict_numpy(self, X):
        if getattr(self, "timeout", None) is None:
            return self.func(X)
        return _call_with_timeout(self.func, X, self.timeout)

    def _describe(self):
        return getattr(self.func, "__name__", type(self.func).__name__)


def _call_with_timeout(func, X, timeout):
    """``func(X)`` in a daemon thread; a TeacherError if it takes over ``timeout`` s.

    A thread that overruns cannot be stopped: it is left to finish on its own."""
    result = {}

    def call():
        try:
            result["y"] = func(X)
        except BaseException as exc:  # handed to the caller's thread
            result["exc"] = exc

    worker = threading.Thread(target=call, name="skdistill-teacher-call", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TeacherError(
            f"The teacher did not answer within {timeout:g} s ({len(X)} rows asked). "
            "The call is left running in a background thread, which cannot be "
            "stopped; raise timeout= if the teacher is only slow."
        )
    if "exc" in result:
        raise result["exc"]
    return result["y"]

"""The teacher interface and the dispatch from user objects to adapters."""

from __future__ import annotations

import copy
import numbers
import threading

import numpy as np
import torch

__all__ = ["Teacher", "TeacherError", "as_teacher"]


# One lock for every teacher's counters: several threads may query one teacher (a
# thread pool labelling chunks, a threading joblib backend); ``n += k`` is not atomic.
_COUNT_LOCK = threading.Lock()


class TeacherError(RuntimeError):
    """The teacher failed or answered something unusable (wrong shape, NaN/inf)."""


class Teacher:
    """Common interface of every teacher adapter.

    Subclasses implement :meth:`_predict_numpy` (black boxes) or :meth:`forward`
    (differentiable teachers). Every row sent to the teacher is counted in
    :attr:`n_queries`, the costly resource of black-box distillation.

    Attributes
    ----------
    differentiable : bool
        Whether :meth:`forward` gives gradients with respect to the inputs.
    n_features_in_ : int or None
        Number of input features, when the wrapped model tells it.
    n_queries : int
        Rows sent to the teacher so far.
    """

    differentiable = False
    n_features_in_ = None

    def __init__(self):
        self.n_queries = 0

    def fresh_copy(self):
        """A shallow copy sharing the model, with its own counters at zero: one
        fit's (or one chunk's) queries, counted apart from the original's."""
        teacher = copy.copy(self)
        teacher.n_queries = 0
        if hasattr(teacher, "n_cached"):
            teacher.n_cached = 0
        return teacher

    def _count(self, n, cached=0):
        """Add ``n`` rows to :attr:`n_queries` (and ``cached`` to ``n_cached``),
        thread-safely."""
        with _COUNT_LOCK:
            self.n_queries += n
            if cached:
                self.n_cached += cached

    # -- to implement -------------------------------------------------------------
    def _predict_numpy(self, X):  # pragma: no cover - interface
        raise NotImplementedError

    def forward(self, x):
        """Differentiable prediction on a float tensor of shape (n, d)."""
        raise TypeError(f"{self!r} is a black box: it has no gradients.")

    def to(self, device):
        """Move to ``device``; black boxes stay where they are."""
        return self

    # -- shared -------------------------------------------------------------------
    def predict(self, X):
        """Predict on a NumPy array, checked; returns float64 of shape (n,)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n = X.shape[0]
        self._count(n)
        try:
            y = self._predict_numpy(X)
        except TeacherError:
            raise
        except Exception as exc:
            raise TeacherError(
                f"The teacher raised {type(exc).__name__} while predicting {n} rows: {exc}"
            ) from exc
        return check_teacher_output(y, n)

    def predict_tensor(self, x):
        """Predict on a tensor without gradients; returns a tensor of shape (n,)."""
        if self.differentiable:
            self._count(x.shape[0])
            with torch.no_grad():
                return self.forward(x)
        y = self.predict(x.detach().cpu().double().numpy())
        return torch.as_tensor(y, dtype=x.dtype, device=x.device)

    def __repr__(self):
        kind = "differentiable" if self.differentiable else "black box"
        return f"{type(self).__name__}({self._describe()}, {kind})"

    def _describe(self):
        return ""


def check_teacher_output(y, n):
    """Check a teacher's answer for ``n`` rows and return it as float64 of shape (n,)."""
    if y is None:
        raise TeacherError(
            f"The teacher returned None for {n} rows; it must return one prediction "
            "per row."
        )
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TeacherError(f"The teacher's output is not numeric: {exc}") from None
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[0] == n:
        raise TeacherError(
            f"The teacher returned predictions of shape {y.shape} for {n} rows: "
            f"{y.shape[1]} outputs per row. Multi-output teachers are not supported: "
            "distil one output at a time, e.g. with teacher=lambda X: "
            "model.predict(X)[:, j] for output j."
        )
    if y.shape != (n,):
        raise TeacherError(
            f"The teacher returned an array of shape {y.shape} for {n} rows; expected "
            f"one prediction per row, an array of shape ({n},) or ({n}, 1)."
        )
    bad = ~np.isfinite(y)
    if bad.any():
        raise TeacherError(
            f"The teacher returned {int(bad.sum())} non-finite values (NaN or inf) "
            f"out of {n}; the first at row {int(np.flatnonzero(bad)[0])}."
        )
    return y


def reject_classifier(model):
    """Raise a TypeError when ``model`` is a scikit-learn (or skorch) classifier."""
    from sklearn.base import is_classifier

    try:
        classifier = is_classifier(model)
    except AttributeError:  # not a scikit-learn estimator (no tags): only predict
        classifier = False
    if classifier:
        raise TypeError(
            f"The teacher {type(model).__name__} is a classifier; classifiers are not "
            "supported: skdistill distils regression models only (a teacher that "
            "predicts one number per row)."
        )


def check_number(name, value, *, integer=False, minimum=0, strict=True, none=False):
    """Check a numeric argument: a finite number above ``minimum`` (at least
    ``minimum`` without ``strict``), an integer with ``integer``, or None with
    ``none``. Raise a ValueError naming it otherwise; return the value."""
    if value is None and none:
        return None
    kind = "an integer" if integer else "a number"
    ok = isinstance(value, numbers.Integral if integer else numbers.Real)
    if ok and not isinstance(value, bool):
        ok = bool(np.isfinite(value)) and (
            value > minimum if strict else value >= minimum
        )
    else:
        ok = False
    if not ok:
        allowed = f"{kind} {'>' if strict else '>='} {minimum}"
        raise ValueError(
            f"{name} must be {allowed}{' or None' if none else ''}, got {value!r}."
        )
    return value


def as_teacher(teacher, device="cpu"):
    """Wrap ``teacher`` in the adapter that fits it.

    - :class:`Teacher` instances are used as they are;
    - ``torch.nn.Module`` -> :class:`~skdistill.teachers.TorchTeacher`;
    - fitted skorch ``NeuralNet`` -> :class:`~skdistill.teachers.SkorchTeacher`;
    - scikit-learn models with an exact torch translation (``MLPRegressor``, linear
      models, Pipelines of scalers and ``PolynomialFeatures`` in front of them,
      ``TransformedTargetRegressor``; see
      :func:`~skdistill.teachers.translate_sklearn`) ->
      :class:`~skdistill.teachers.TranslatedTeacher` (differentiable);
    - other objects with ``predict`` (scikit-learn regressors, Pipelines) ->
      :class:`~skdistill.teachers.SklearnTeacher` (black box);
    - other callables ``X -> y`` -> :class:`~skdistill.teachers.CallableTeacher`.
    """
    from ._blackbox import CallableTeacher
    from ._torch import SkorchTeacher, TorchTeacher

    if isinstance(teacher, Teacher):
        return teacher.to(device)
    if isinstance(teacher, torch.nn.Module):
        return TorchTeacher(teacher, device=device)
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        NeuralNet = ()
    if isinstance(teacher, NeuralNet):
        return SkorchTeacher(teacher, device=device)
    if hasattr(teacher, "predict"):
        from ._translate import sklearn_teacher

        return sklearn_teacher(teacher, device=device)
    if callable(teacher):
        return CallableTeacher(teacher)
    raise TypeError(
        "teacher must be a torch.nn.Module, a fitted skorch NeuralNetRegressor, a fitted "
        f"scikit-learn regressor or a callable X -> y; got {type(teacher).__name__}."
    )

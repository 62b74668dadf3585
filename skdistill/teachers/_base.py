"""The teacher interface and the dispatch from user objects to adapters."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["Teacher", "TeacherError", "as_teacher"]


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
        self.n_queries += n
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
            self.n_queries += x.shape[0]
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
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TeacherError(f"The teacher's output is not numeric: {exc}") from None
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (n,):
        raise TeacherError(
            f"The teacher returned an array of shape {y.shape} for {n} rows; expected "
            f"({n},) or ({n}, 1). Multi-output teachers are not supported yet."
        )
    bad = ~np.isfinite(y)
    if bad.any():
        raise TeacherError(
            f"The teacher returned {int(bad.sum())} non-finite values (NaN or inf) "
            f"out of {n}; the first at row {int(np.flatnonzero(bad)[0])}."
        )
    return y


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

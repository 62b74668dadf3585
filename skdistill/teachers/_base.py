"""The teacher interface: the :class:`Teacher` base class, its errors and the checks
every adapter shares. Nothing here imports an adapter; the dispatch from user objects
to adapters lives in :mod:`skdistill.teachers._dispatch`."""

from __future__ import annotations

import copy
import numbers
import threading

import numpy as np
import torch

__all__ = ["Teacher", "TeacherError"]


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
    n_outputs : int or None
        Outputs per row, set by the first answer: every later answer must have
        as many (1: predictions of shape (n,); k > 1: shape (n, k)).
    """

    differentiable = False
    n_features_in_ = None
    #: Outputs per row, once the teacher has answered (or when the model tells).
    n_outputs = None

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

    def count(self, n, cached=0):
        """Add ``n`` rows to :attr:`n_queries` (and ``cached`` to ``n_cached``),
        under one lock shared by every teacher.

        The single place where rows are counted: :meth:`predict` calls it, and so
        does :class:`~skdistill.teachers.StandardizedTeacher` for the rows it sends
        through :meth:`forward` or the fast MLP path."""
        with _COUNT_LOCK:
            self.n_queries += n
            if cached:
                self.n_cached += cached

    def state_dict(self):
        """The counters, for :meth:`TrainingLoop.state_dict
        <skdistill._loop.TrainingLoop.state_dict>` (resume keeps the count)."""
        return {"n_queries": self.n_queries, "n_cached": getattr(self, "n_cached", None)}

    def load_state_dict(self, state):
        """Restore the counters saved by :meth:`state_dict`."""
        with _COUNT_LOCK:
            self.n_queries = state["n_queries"]
            if state["n_cached"] is not None:
                self.n_cached = state["n_cached"]

    def for_image_shape(self, shape):
        """The teacher for flattened image rows of ``shape`` (C, H, W).

        Black boxes receive the flat rows as they are; differentiable adapters
        override this to reshape before their module."""
        return self

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
        """Predict on a NumPy array, checked; returns float64 of shape (n,), or
        (n, k) for a teacher with k outputs."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        n = X.shape[0]
        self.count(n)
        try:
            y = self._predict_numpy(X)
        except TeacherError:
            raise
        except Exception as exc:
            raise TeacherError(
                f"The teacher raised {type(exc).__name__} while predicting {n} rows: {exc}"
            ) from exc
        y = check_teacher_output(y, n, self.n_outputs)
        self.n_outputs = 1 if y.ndim == 1 else y.shape[1]
        return y

    def predict_tensor(self, x):
        """Predict on a tensor without gradients; returns a tensor of shape (n,)
        (or (n, k))."""
        if self.differentiable:
            self.count(x.shape[0])
            with torch.no_grad():
                return self.forward(x)
        y = self.predict(x.detach().cpu().double().numpy())
        return torch.as_tensor(y, dtype=x.dtype, device=x.device)

    def __repr__(self):
        kind = "differentiable" if self.differentiable else "black box"
        return f"{type(self).__name__}({self._describe()}, {kind})"

    def _describe(self):
        return ""


def check_teacher_output(y, n, n_outputs=None):
    """Check a teacher's answer for ``n`` rows and return it as float64: shape (n,)
    for one output per row (also given as (n, 1)), (n, k) for k outputs.

    ``n_outputs``, when known (from the teacher's earlier answers), is the number
    of outputs the answer must have."""
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
    if not (y.shape == (n,) or (y.ndim == 2 and y.shape[0] == n and y.shape[1] > 1)):
        raise TeacherError(
            f"The teacher returned an array of shape {y.shape} for {n} rows; expected "
            f"one prediction per row, an array of shape ({n},) or ({n}, 1), or k "
            f"outputs per row, shape ({n}, k)."
        )
    k = 1 if y.ndim == 1 else y.shape[1]
    if n_outputs is not None and k != n_outputs:
        raise TeacherError(
            f"The teacher returned {k} output{'s' if k > 1 else ''} per row "
            f"(shape {y.shape}) after answering {n_outputs} per row before; a "
            "teacher must always return the same number of outputs."
        )
    bad = ~np.isfinite(y)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1) if k > 1 else bad)[0])
        where = ""
        if k > 1:
            cols = np.flatnonzero(bad.any(axis=0))
            named = ", ".join(str(int(c)) for c in cols)
            where = (
                f" in output{'s' if len(cols) > 1 else ''} {named} (of {k}, "
                "counted from 0)"
            )
        raise TeacherError(
            f"The teacher returned {int(bad.sum())} non-finite values (NaN or inf) "
            f"out of {y.size}{where}; the first at row {row}."
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
            "predicts numbers)."
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

"""Fidelity: how closely a student reproduces its teacher, with no labels at all.

A distilled student is judged against its teacher, not against true targets: on
inputs ``X``, the *fidelity* compares ``estimator.predict(X)`` with the teacher's
predictions on the same ``X``. No ``y`` is needed, so the hyperparameters of a
data-free distillation (``alpha``, ``beta``, ``gamma``, ...) can be tuned by
cross-validation on an unlabeled sample::

    from sklearn.model_selection import GridSearchCV
    from skdistill.metrics import fidelity_r2_scorer

    search = GridSearchCV(est, {"alpha": [0.5, "decreasing"]},
                          scoring=fidelity_r2_scorer)
    search.fit(X_unlabeled)   # no y: each fold fits on one part of X, scores on another

The scorers follow scikit-learn's *greater is better* convention
(``fidelity_rmse_scorer`` returns the negative RMSE) and ignore the ``y`` they are
given.

Where the teacher comes from: the fitted estimator's ``teacher_`` (a
:class:`~skdistill.DataFreeDistillRegressor`, or a Pipeline ending in one), or the
``teacher=`` argument (for any other regressor, for example a
:class:`~skdistill.compact.CompactRegressor`). The teacher is queried on a copy of
its adapter: rows asked while scoring are not added to the estimator's
``teacher_.n_queries`` (nor, of course, to ``n_teacher_queries_``). A
:class:`~skdistill.RemoteTeacher` still receives (and may bill) those rows.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

__all__ = [
    "FidelityScorer",
    "fidelity_mae",
    "fidelity_r2",
    "fidelity_r2_scorer",
    "fidelity_rmse",
    "fidelity_rmse_scorer",
    "make_fidelity_scorer",
    "sample_losses",
    "fidelity_predictions",
]

# name -> (metric(y_teacher, y_student), sign that makes greater better)
_METRICS = {
    "r2": (r2_score, 1.0),
    "rmse": (root_mean_squared_error, -1.0),
    "mae": (mean_absolute_error, -1.0),
}


def _split(estimator):
    """``(preprocessing, final)``: the steps before the last one of a Pipeline (or
    None) and the estimator that holds ``teacher_`` and ``input_spec_``."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return estimator[:-1], estimator[-1]
    return None, estimator


def _teacher_of(final, teacher):
    """A private copy of the teacher adapter to query without touching ``final``."""
    from .teachers import Teacher, as_teacher

    if teacher is None:
        teacher = getattr(final, "teacher_", None)
        if teacher is None:
            raise ValueError(
                f"{type(final).__name__} has no fitted teacher_ attribute: fit it "
                "first, or pass the model it imitates as teacher=."
            )
    if not isinstance(teacher, Teacher):
        teacher = as_teacher(teacher)
    # A shallow copy shares the model but counts its own queries.
    return teacher.fresh_copy()


def _inputs(estimator, X, n_draws, random_state):
    """The rows to compare on, in the estimator's input space and in the final
    step's (teacher's) input space."""
    pre, final = _split(estimator)
    if n_draws is not None:
        if not isinstance(n_draws, numbers.Integral) or n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
        spec = getattr(final, "input_spec_", None)
        if spec is None:
            raise ValueError(
                f"n_draws needs a fitted estimator with an input_spec_; "
                f"{type(final).__name__} has none. Pass X instead."
            )
        Xt = spec.draw(int(n_draws), random_state=random_state)
        return final, Xt, Xt
    if X is None:
        raise ValueError("Give X (rows to compare on) or n_draws.")
    Xt = X if pre is None else pre.transform(X)
    return estimator, X, Xt


def fidelity_predictions(
    estimator, X=None, *, teacher=None, n_draws=None, random_state=0
):
    """Student and teacher predictions on the same rows.

    Parameters
    ----------
    estimator : fitted regressor
        A :class:`~skdistill.DataFreeDistillRegressor`, a Pipeline ending in one, or
        any fitted regressor when ``teacher`` is given.
    X : array-like of shape (n_samples, n_features), default=None
        Rows to compare on (no targets needed). Ignored when ``n_draws`` is given.
    teacher : object, default=None
        The model the student imitates, when ``estimator`` has no ``teacher_``:
        anything the estimator accepts as ``teacher``.
    n_draws : int, default=None
        Instead of ``X``, compare on ``n_draws`` fresh draws of the estimator's
        ``input_spec_`` (the distribution the student was trained on).
    random_state : int, RandomState instance or None, default=0
        Seeds the draws of ``n_draws``.

    Returns
    -------
    y_student, y_teacher : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Float64 predictions (one column per output of a multi-output teacher);
        the teacher's queries are not counted on the estimator.
    """
    pre, final = _split(estimator)
    model, X_model, X_teacher = _inputs(estimator, X, n_draws, random_state)
    adapter = _teacher_of(final, teacher)
    y_student = np.asarray(model.predict(X_model), dtype=np.float64)
    if y_student.ndim == 2 and y_student.shape[1] == 1:
        y_student = y_student[:, 0]
    columns = getattr(getattr(final, "input_spec_", None), "columns", None)
    if columns is None:  # a compact model keeps the columns alone
        columns = getattr(final, "columns_", None)
    if columns is not None:
        # a tabular spec: the adapter reads encoded rows (and asks a black box
        # with the DataFrame they decode to)
        from .columns import encode
        from .teachers._frame import FrameTeacher, frame_teacher

        if not (isinstance(adapter, FrameTeacher) or adapter.differentiable):
            from .inputs import InputSpec

            adapter = frame_teacher(adapter, InputSpec(columns=columns))
        return y_student, adapter.predict(encode(columns, X_teacher))
    y_teacher = adapter.predict(np.asarray(X_teacher, dtype=np.float64))
    return y_student, y_teacher


def _fidelity(metric, estimator, X, teacher, n_draws, random_state,
              multioutput="uniform_average"):
    y_student, y_teacher = fidelity_predictions(
        estimator, X, teacher=teacher, n_draws=n_draws, random_state=random_state
    )
    if y_student.shape != y_teacher.shape:
        raise ValueError(
            f"The student predicts an array of shape {y_student.shape} and the "
            f"teacher {y_teacher.shape} on the same rows: they do not have the same "
            "outputs."
        )
    value = _METRICS[metric][0](y_teacher, y_student, multioutput=multioutput)
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)


_MULTIOUTPUT_DOC = """multioutput : {"uniform_average", "raw_values"} or array-like of shape \
(n_outputs,), default="uniform_average"
        How the outputs of a multi-output teacher are combined, as in
        :mod:`sklearn.metrics`: their mean, one value per output (an array), or
        their average with these weights. Ignored for one output."""


def fidelity_r2(estimator, X=None, *, teacher=None, n_draws=None, random_state=0,
                multioutput="uniform_average"):
    """Coefficient of determination of the student's predictions against the teacher's.

    ``1`` when the student reproduces the teacher exactly on the rows, ``0`` when it
    does no better than the teacher's mean there. See :func:`fidelity_predictions`
    for the parameters.

    Parameters
    ----------
    {multioutput}

    Returns
    -------
    float or ndarray of shape (n_outputs,)

    Examples
    --------
    >>> import torch
    >>> from skdistill import DataFreeDistillRegressor
    >>> from skdistill.metrics import fidelity_r2
    >>> teacher = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
    ...                               torch.nn.Linear(8, 1))
    >>> est = DataFreeDistillRegressor(teacher, student=(8,), max_epochs=30,
    ...                                random_state=0).fit(bounds=[(-1, 1)] * 3)
    >>> fidelity_r2(est, n_draws=500) > 0.5
    True
    """
    return _fidelity("r2", estimator, X, teacher, n_draws, random_state, multioutput)


def fidelity_rmse(estimator, X=None, *, teacher=None, n_draws=None, random_state=0,
                  multioutput="uniform_average"):
    """Root mean squared difference between student and teacher, in target units.

    See :func:`fidelity_predictions` for the parameters.

    Parameters
    ----------
    {multioutput}

    Returns
    -------
    float or ndarray of shape (n_outputs,)
        Non-negative; ``0`` for a perfect copy.
    """
    return _fidelity("rmse", estimator, X, teacher, n_draws, random_state,
                     multioutput)


def fidelity_mae(estimator, X=None, *, teacher=None, n_draws=None, random_state=0,
                 multioutput="uniform_average"):
    """Mean absolute difference between student and teacher, in target units.

    See :func:`fidelity_predictions` for the parameters.

    Parameters
    ----------
    {multioutput}

    Returns
    -------
    float or ndarray of shape (n_outputs,)
    """
    return _fidelity("mae", estimator, X, teacher, n_draws, random_state,
                     multioutput)


for _f in (fidelity_r2, fidelity_rmse, fidelity_mae):
    _f.__doc__ = _f.__doc__.replace("{multioutput}", _MULTIOUTPUT_DOC)


def sample_losses(estimator, X, *, teacher=None):
    """Per-row squared difference ``(T(x) - S(x))^2`` (eq. 1), in target units.

    Parameters
    ----------
    estimator, X, teacher
        See :func:`fidelity_predictions`.

    Returns
    -------
    ndarray of shape (n_samples,), or (n_samples, n_outputs) for a multi-output
    teacher (one column per output)
    """
    y_student, y_teacher = fidelity_predictions(estimator, X, teacher=teacher)
    return (y_teacher - y_student) ** 2


class FidelityScorer:
    """A scorer ``scorer(estimator, X, y=None) -> float`` comparing student and teacher.

    Made by :func:`make_fidelity_scorer`; use it as ``scoring=`` in
    :class:`~sklearn.model_selection.GridSearchCV`,
    :func:`~sklearn.model_selection.cross_val_score` and friends. ``y`` is ignored.

    Parameters
    ----------
    metric : {"r2", "rmse", "mae"}
    n_draws : int or None
    random_state : int, RandomState instance or None
    teacher : object or None
        See :func:`fidelity_predictions`.
    multioutput : "uniform_average" or array-like of shape (n_outputs,)
        Average of the outputs of a multi-output teacher (a scorer returns one
        number, so not ``"raw_values"``).
    """

    def __init__(self, metric="r2", n_draws=None, random_state=0, teacher=None,
                 multioutput="uniform_average"):
        if metric not in _METRICS:
            raise ValueError(
                f"Unknown fidelity metric {metric!r}; valid: {sorted(_METRICS)}."
            )
        if isinstance(multioutput, str) and multioutput != "uniform_average":
            raise ValueError(
                "A scorer returns one number: multioutput must be 'uniform_average' "
                f"or weights of the outputs, got {multioutput!r} (use "
                "fidelity_rmse(..., multioutput='raw_values') for one per output)."
            )
        self.metric = metric
        self.n_draws = n_draws
        self.random_state = random_state
        self.teacher = teacher
        self.multioutput = multioutput

    def __call__(self, estimator, X=None, y=None, **kwargs):
        """Score ``estimator`` on ``X`` (or on draws); greater is better."""
        value = _fidelity(
            self.metric, estimator, X, self.teacher, self.n_draws, self.random_state,
            self.multioutput,
        )
        return _METRICS[self.metric][1] * value

    def __repr__(self):
        args = [repr(self.metric)]
        if self.n_draws is not None:
            args += [f"n_draws={self.n_draws}", f"random_state={self.random_state!r}"]
        if self.teacher is not None:
            args.append(f"teacher={type(self.teacher).__name__}")
        if not (isinstance(self.multioutput, str)
                and self.multioutput == "uniform_average"):
            args.append(f"multioutput={self.multioutput!r}")
        return f"make_fidelity_scorer({', '.join(args)})"


def make_fidelity_scorer(metric="r2", *, n_draws=None, random_state=0, teacher=None,
                         multioutput="uniform_average"):
    """A scorer comparing student and teacher, for ``scoring=`` in model selection.

    Parameters
    ----------
    metric : {"r2", "rmse", "mae"}, default="r2"
        ``"r2"`` scores :func:`fidelity_r2`; ``"rmse"`` and ``"mae"`` score the
        *negative* :func:`fidelity_rmse` and :func:`fidelity_mae`, so that greater
        is better, as scikit-learn's model selection expects.
    n_draws : int, default=None
        ``None``: score on the held-out rows ``X`` the model selection passes.
        An integer: ignore them and score on that many draws of each fitted
        estimator's ``input_spec_`` (with ``random_state``), the distribution it
        was distilled for. Use it when the candidates are fitted from the same
        input spec rather than from rows of ``X``.
    random_state : int, RandomState instance or None, default=0
        Seeds the draws of ``n_draws``; a fixed integer compares every candidate
        on the same rows when they share the input spec.
    teacher : object, default=None
        The model the student imitates, for estimators without ``teacher_``.
    multioutput : "uniform_average" or array-like of shape (n_outputs,), \
default="uniform_average"
        For multi-output teachers: the mean of the outputs' scores, or their
        average with these weights (as :mod:`sklearn.metrics` has it).

    Returns
    -------
    FidelityScorer
        ``scorer(estimator, X, y=None) -> float``, greater is better.

    Examples
    --------
    >>> from skdistill.metrics import make_fidelity_scorer
    >>> make_fidelity_scorer("rmse", n_draws=2000)
    make_fidelity_scorer('rmse', n_draws=2000, random_state=0)
    """
    return FidelityScorer(metric, n_draws, random_state, teacher, multioutput)


#: Scorer of :func:`fidelity_r2` on the rows ``X`` given by the model selection.
fidelity_r2_scorer = make_fidelity_scorer("r2")
#: Scorer of the negative :func:`fidelity_rmse` on the rows ``X`` given.
fidelity_rmse_scorer = make_fidelity_scorer("rmse")

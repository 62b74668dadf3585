"""From the objects users hold to teacher adapters: an ordered registry.

:func:`as_teacher` walks :data:`_REGISTRY` in order and wraps the object with the
first entry whose test accepts it. :func:`register_teacher` adds an entry, so a
package can teach skdistill its own model type without editing this module.
"""

from __future__ import annotations

import torch

from ._base import Teacher
from ._blackbox import CallableTeacher
from ._torch import SkorchTeacher, TorchTeacher
from ._translate import sklearn_teacher

__all__ = ["as_teacher", "register_teacher"]


def _is_skorch_net(obj):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover - skorch is a dependency
        return False
    return isinstance(obj, NeuralNet)


# (name, test(obj) -> bool, factory(obj, device) -> Teacher), tried in order: the
# first test that accepts the object wins. Torch and skorch come before "predict"
# (a skorch net has predict too); callables come last (every estimator is not one,
# but a class with __call__ and predict should be queried through predict).
_REGISTRY = [
    ("torch", lambda obj: isinstance(obj, torch.nn.Module), TorchTeacher),
    ("skorch", _is_skorch_net, SkorchTeacher),
    ("sklearn", lambda obj: hasattr(obj, "predict"), sklearn_teacher),
    ("callable", callable, lambda obj, device: CallableTeacher(obj)),
]


def register_teacher(name, test, factory, *, before=None):
    """Teach :func:`as_teacher` a new kind of teacher.

    Parameters
    ----------
    name : str
        Name of the entry (unique); registering a name again replaces its entry.
    test : callable
        ``test(obj) -> bool``: whether the entry handles ``obj``.
    factory : callable
        ``factory(obj, device) -> Teacher``: the adapter for ``obj``.
    before : str, default=None
        Name of the entry to try after this one (for example ``"sklearn"`` for a
        model type that also has ``predict``); ``None`` appends the entry last,
        after ``"callable"``.

    Examples
    --------
    >>> from skdistill.teachers import CallableTeacher, as_teacher, register_teacher
    >>> class Service:  # a client of a prediction service, say
    ...     def score_rows(self, X):
    ...         return X.sum(axis=1)
    >>> register_teacher("service", lambda obj: isinstance(obj, Service),
    ...                  lambda obj, device: CallableTeacher(obj.score_rows))
    >>> as_teacher(Service())
    CallableTeacher(score_rows, black box)
    """
    if not callable(test) or not callable(factory):
        raise TypeError("test and factory must be callable.")
    names = [entry[0] for entry in _REGISTRY]
    if before is not None and before not in names:
        raise ValueError(f"before={before!r} is not a registered teacher; one of {names}.")
    _REGISTRY[:] = [entry for entry in _REGISTRY if entry[0] != name]
    names = [entry[0] for entry in _REGISTRY]
    at = names.index(before) if before is not None else len(_REGISTRY)
    _REGISTRY.insert(at, (name, test, factory))


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
    - other callables ``X -> y`` -> :class:`~skdistill.teachers.CallableTeacher`;
    - then the entries added by :func:`register_teacher`, in the order given.
    """
    if isinstance(teacher, Teacher):
        return teacher.to(device)
    for _, test, factory in _REGISTRY:
        if test(teacher):
            return factory(teacher, device=device)
    raise TypeError(
        "teacher must be a torch.nn.Module, a fitted skorch NeuralNetRegressor, a fitted "
        f"scikit-learn regressor or a callable X -> y; got {type(teacher).__name__}."
    )

"""Teachers of tabular specs: they receive the DataFrames they were trained on."""

from __future__ import annotations

from .. import columns as _columns
from ._base import Teacher
from ._blackbox import SklearnTeacher
from ._http import RemoteTeacher

__all__ = ["FrameTeacher", "frame_teacher"]


def fitted_names(teacher):
    """``feature_names_in_`` of the scikit-learn model behind ``teacher``, if any."""
    names = getattr(getattr(teacher, "estimator", None), "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def check_feature_names(teacher, spec_names):
    """The teacher's ``feature_names_in_`` (None when it has none), after checking
    that they are the spec's names, with a message naming the missing and the
    extra ones."""
    names = fitted_names(teacher)
    if names is None:
        return None
    differences = _columns.name_differences(
        names, list(spec_names), missing_as="the spec lacks",
        extra_as="the teacher was not fitted on",
    )
    if differences:
        raise ValueError(
            f"The input spec's columns are not the teacher's: {differences}. "
            f"The teacher {teacher!r} was fitted on {names}."
        )
    return names


def frame_teacher(teacher, spec):
    """The teacher as the input ``spec``'s rows should reach it.

    For a tabular spec (``spec.columns``), black boxes get a :class:`FrameTeacher`:
    every query becomes a DataFrame with the columns' names, dtypes and levels (in
    the order the teacher was fitted with). Differentiable teachers (torch
    modules, translated models) keep receiving the encoded rows as tensors:
    numbers in raw units and one indicator per level, which gradient steps may
    move (relaxed one-hot). A scikit-learn teacher's ``feature_names_in_`` must
    name the spec's columns.

    A black box fitted on a DataFrame of numbers (it has ``feature_names_in_``)
    gets DataFrames too: with the spec's feature names when it has them (checked,
    matched by name), else with the teacher's own names, by position.
    """
    columns = spec.columns if getattr(spec, "tabular", False) else None
    if columns is not None:
        order = check_feature_names(teacher, [c.name for c in columns])
        if teacher.differentiable:
            return teacher
        return FrameTeacher(teacher, columns, order)
    if teacher.differentiable or fitted_names(teacher) is None or spec.shape is not None:
        return teacher
    if spec.feature_names is None:
        return FrameTeacher(teacher, names=fitted_names(teacher))
    spec_names = [str(n) for n in spec.feature_names]
    order = check_feature_names(teacher, spec_names)
    return FrameTeacher(teacher, order=order, names=spec_names)


class FrameTeacher(Teacher):
    """A black-box teacher queried with DataFrames built from encoded rows.

    Parameters
    ----------
    teacher : Teacher
        The black box (its own counters are not used: this adapter counts).
    columns : sequence of Column, default=None
        The columns of a tabular spec; without them, the rows are numbers, one
        column per name of ``names``.
    order : list of str, default=None
        Column order of the frames (the teacher's ``feature_names_in_``).
    names : list of str, default=None
        Column names of rows of numbers (no ``columns``).
    """

    def __init__(self, teacher, columns=None, order=None, names=None):
        super().__init__()
        self.teacher = teacher
        self.columns = None if columns is None else tuple(columns)
        self.names = names
        self.order = order
        self.n_features_in_ = teacher.n_features_in_
        estimator = getattr(teacher, "estimator", None)
        # a scikit-learn model fitted on an array: warned at every call if given a
        # frame, so it gets the frame's values; a service gets JSON-ready rows
        self._values = isinstance(teacher, RemoteTeacher) or (
            isinstance(teacher, SklearnTeacher)
            and order is None
            and getattr(estimator, "n_features_in_", None) is not None
        )

    @property
    def estimator(self):
        return getattr(self.teacher, "estimator", None)

    def _predict_numpy(self, X):
        if self.columns is None:
            import pandas as pd

            frame = pd.DataFrame(X, columns=self.names)
            if self.order is not None and self.order != self.names:
                frame = frame[self.order]
            return self.teacher._predict_numpy(frame)
        frame = _columns.decode(self.columns, X, order=self.order)
        if self._values:
            frame = frame.to_numpy(dtype=object)
        return self.teacher._predict_numpy(frame)

    def _describe(self):
        return f"{self.teacher._describe()} on DataFrames"

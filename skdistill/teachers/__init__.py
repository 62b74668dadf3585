"""Teacher adapters: one interface over torch modules, skorch nets, scikit-learn
regressors (translated to torch when exact, else black boxes), plain callables and
prediction services over HTTP.

Use :func:`as_teacher` to wrap anything the estimator accepts as ``teacher``, and
:func:`register_teacher` to add a kind of teacher. Samplers see every teacher through
:class:`StandardizedTeacher`, which owns the units and counts every row sent.
"""

from ._base import Teacher, TeacherError
from ._blackbox import CallableTeacher, SklearnTeacher
from ._dispatch import as_teacher, register_teacher
from ._http import RemoteTeacher
from ._leaves import LeafCells, teacher_leaves
from ._standardized import StandardizedTeacher
from ._torch import SkorchTeacher, TorchTeacher
from ._translate import TranslatedTeacher, translate_sklearn

__all__ = [
    "Teacher",
    "TeacherError",
    "as_teacher",
    "register_teacher",
    "StandardizedTeacher",
    "TorchTeacher",
    "SkorchTeacher",
    "SklearnTeacher",
    "CallableTeacher",
    "RemoteTeacher",
    "LeafCells",
    "teacher_leaves",
    "TranslatedTeacher",
    "translate_sklearn",
]

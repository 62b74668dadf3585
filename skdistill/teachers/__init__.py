"""Teacher adapters: one interface over torch modules, skorch nets, scikit-learn
regressors (translated to torch when exact, else black boxes), plain callables and
prediction services over HTTP.

Use :func:`as_teacher` to wrap anything the estimator accepts as ``teacher``.
"""

from ._base import Teacher, TeacherError, as_teacher
from ._blackbox import CallableTeacher, SklearnTeacher
from ._http import RemoteTeacher
from ._torch import SkorchTeacher, TorchTeacher
from ._translate import TranslatedTeacher, translate_sklearn

__all__ = [
    "Teacher",
    "TeacherError",
    "as_teacher",
    "TorchTeacher",
    "SkorchTeacher",
    "SklearnTeacher",
    "CallableTeacher",
    "RemoteTeacher",
    "TranslatedTeacher",
    "translate_sklearn",
]

"""Resumable training: what a fit must keep to continue exactly where it stopped.

A *run state* is what :meth:`skdistill._loop.TrainingLoop.state_dict` returns, a
plain dict of tensors, numbers and lists (picklable, small): the constant part of a
fit (seeds, target scaling, the labelled validation set) and the state between two
epochs (student weights and optimizer moments, the data generator, the sampler's own
state, the teacher's query counters, ``history_``, the best student).
:class:`~skdistill.DataFreeDistillRegressor` keeps the last one for ``warm_start``
and the :class:`~skdistill.callbacks.Checkpoint` callback writes it to files; a fit
given one trains the remaining epochs exactly as the uninterrupted fit would have.
This module hashes fit arguments and reads and writes the files.

A *fingerprint* identifies the parameters and fit arguments a run state depends on:
one hash per parameter, the same in every process, so that a mismatch can name what
changed.
"""

from __future__ import annotations

import os

import joblib
import torch
from joblib.hashing import NumpyHasher

from ._loop import FORMAT
from .teachers import Teacher

__all__ = [
    "FORMAT",
    "FREE_PARAMS",
    "changed_params",
    "fingerprint",
    "load_checkpoint",
    "save_checkpoint",
]

# Parameters a run may change between a stop and its continuation: how long to train,
# how to report and where to save, and how DE labels are spread (same results).
FREE_PARAMS = frozenset(
    {
        "max_epochs",
        "max_teacher_queries",
        "verbose",
        "warm_start",
        "checkpoint",
        "checkpoint_every",
        "de_workers",
        "callbacks",
    }
)


class _Hasher(NumpyHasher):
    """joblib's hasher with tensors hashed by value: pickled tensors (torch modules,
    skorch nets) do not give the same bytes in two processes."""

    def save(self, obj):
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu()
            if t.dtype == torch.bfloat16:
                t = t.float()
            obj = ("torch.Tensor", str(obj.dtype), t.numpy())
        return super().save(obj)


def _token(value):
    """A hash of ``value`` that is the same in every process; for values pickle
    cannot handle (lambdas, closures) only their type name, so they compare by type."""
    try:
        return _Hasher().hash(value)
    except Exception:
        return f"<unhashable {type(value).__module__}.{type(value).__qualname__}>"


def fingerprint(params, spec, validation_data):
    """One hash per parameter a run state depends on, and per fit argument.

    A teacher is hashed by its pickled state (torch tensors by value), its query
    counters aside; a callable pickle cannot handle (a lambda) only by its type.
    """
    params = dict(params)
    teacher = params.get("teacher")
    if isinstance(teacher, Teacher):  # counters are not the teacher
        params["teacher"] = teacher.fresh_copy()
    out = {k: _token(v) for k, v in params.items() if k not in FREE_PARAMS}
    out["input_spec"] = _token(spec)
    out["validation_data"] = _token(validation_data)
    return out


def changed_params(old, new, ignore=()):
    """Names whose hash differs between two fingerprints (or that only one has)."""
    names = (set(old) | set(new)) - set(ignore)
    return sorted(k for k in names if old.get(k) != new.get(k))


def save_checkpoint(path, state):
    """Write ``state`` to ``path`` atomically: a reader sees the old file or the new
    one, never half of one (a temporary file beside it, then ``os.replace``)."""
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        joblib.dump(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path):
    """The run state in ``path``, or None with the reason when it is not usable."""
    try:
        state = joblib.load(os.fspath(path))
    except Exception as exc:  # truncated, foreign or from another version
        return None, f"it could not be read ({type(exc).__name__}: {exc})"
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None, "it is not a skdistill checkpoint of this version"
    return state, None

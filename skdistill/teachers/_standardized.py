"""The one view of the teacher that samplers and the training loop use.

Samplers work in standardized units: inputs ``z`` with ``x = loc + scale * z`` (the
input spec's :class:`~skdistill.inputs.StandardizedSpace`) and targets
``(y - y_loc) / y_scale``. :class:`StandardizedTeacher` owns both conversions, the
autograd-free fast path of plain-MLP torch teachers, and the query count: every row
it sends to the teacher, by any path, is counted once, through
:meth:`Teacher.count <skdistill.teachers.Teacher.count>` under its lock.
"""

from __future__ import annotations

import numpy as np
import torch

from .._mlp import FunctionalMLP
from ._base import TeacherError
from ._torch import TorchTeacher

__all__ = ["StandardizedTeacher"]


class StandardizedTeacher:
    """A teacher adapter seen in standardized units, every row counted.

    Parameters
    ----------
    teacher : Teacher
        The adapter (see :func:`~skdistill.teachers.as_teacher`).
    space : StandardizedSpace
        The input spec's standardized space.
    y_loc, y_scale : float or ndarray of shape (k,), default=0.0, 1.0
        Target scaling, one (loc, scale) per output for a teacher of k > 1
        outputs (each output standardized on its own); :meth:`set_target_scale`
        sets it from labelled rows.
    output : int, default=None
        Show only this output of a teacher with several (its labels have shape
        (n,)): the view of one student of ``outputs="separate"``. Rows are sent
        and counted as they are; the other outputs are dropped.

    Attributes
    ----------
    mlp : FunctionalMLP or None
        The teacher as a plain MLP with both scalings folded in, when it is a
        float32 torch MLP: samplers use it for forward and input-gradient passes
        without autograd.
    """

    def __init__(self, teacher, space, y_loc=0.0, y_scale=1.0, output=None):
        self.teacher = teacher
        self.space = space
        self.output = output
        self.set_target_scale(y_loc, y_scale)

    # --------------------------------------------------------------- units
    @staticmethod
    def target_scale(y):
        """``(y_loc, y_scale)`` of raw labels ``y``: their mean and standard
        deviation (floats for labels of shape (n,), arrays of one per output for
        (n, k)), the scale 1 where the labels are constant."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2:
            y_loc, y_scale = y.mean(axis=0), y.std(axis=0)
            flat = ~(y_scale > 1e-12 * np.maximum(1.0, np.abs(y_loc)))
            y_scale[flat] = 1.0
            return y_loc, y_scale
        y_loc, y_scale = float(y.mean()), float(y.std())
        if not y_scale > 1e-12 * max(1.0, abs(y_loc)):
            y_scale = 1.0
        return y_loc, y_scale

    @property
    def n_outputs(self):
        """Outputs per row: 1, or the length of the per-output scaling."""
        return 1 if np.ndim(self.y_loc) == 0 else len(self.y_loc)

    def set_target_scale(self, y_loc, y_scale):
        """Use ``(y - y_loc) / y_scale`` as the standardized target (floats, or
        arrays of one per output)."""
        if np.ndim(y_loc) == 0:
            self.y_loc, self.y_scale = float(y_loc), float(y_scale)
            self._loc, self._scale = self.y_loc, self.y_scale
        else:
            self.y_loc = np.asarray(y_loc, dtype=np.float64).copy()
            self.y_scale = np.asarray(y_scale, dtype=np.float64).copy()
            device = self.space.loc.device
            self._loc = torch.as_tensor(self.y_loc, dtype=torch.float32, device=device)
            self._scale = torch.as_tensor(
                self.y_scale, dtype=torch.float32, device=device
            )
        self.mlp = None
        teacher = self.teacher
        if isinstance(teacher, TorchTeacher) and teacher.dtype == torch.float32:
            self.mlp = FunctionalMLP.from_module(
                teacher.module, self.space.loc, self.space.scale,
                self.y_loc, self.y_scale, fold_tanh=True, output=self.output,
            )
        return self

    def _select(self, y):
        """``output`` of the teacher's answer ``y`` (all of it without ``output``)."""
        j = self.output
        if j is None:
            return y
        k = 1 if y.ndim == 1 else y.shape[1]
        if j >= k:
            raise TeacherError(
                f"Output {j} was asked for, but the teacher gives {k} output"
                f"{'s' if k > 1 else ''} per row."
            )
        return y if y.ndim == 1 else y[:, j]

    def standardize(self, y):
        """Raw labels (NumPy) as a float32 tensor in standardized units."""
        y = (np.asarray(y, dtype=np.float64) - self.y_loc) / self.y_scale
        return torch.as_tensor(y, dtype=torch.float32, device=self.space.loc.device)

    # --------------------------------------------------------- the adapter's
    @property
    def differentiable(self):
        return self.teacher.differentiable

    @property
    def n_queries(self):
        """Rows sent to the teacher so far (this fit's, with resumed runs')."""
        return self.teacher.n_queries

    def state_dict(self):
        return self.teacher.state_dict()

    def load_state_dict(self, state):
        self.teacher.load_state_dict(state)

    # ------------------------------------------------------------- queries
    def predict(self, X):
        """Raw labels of raw rows ``X`` (NumPy, float64): the teacher's own units."""
        return self._select(self.teacher.predict(X))

    def forward(self, z):
        """Differentiable standardized labels of standardized rows ``z``."""
        self.teacher.count(z.shape[0])
        y = self._select(self.teacher.forward(self.space.to_raw(z)))
        return (y - self._loc) / self._scale

    def label(self, z):
        """Standardized labels of ``z``, without gradients (any teacher)."""
        with torch.no_grad():
            if self.mlp is not None:
                self.teacher.count(z.shape[0])
                return self.mlp.forward(z)[0]
            if self.differentiable:
                return self.forward(z)
            # raw rows in float64: a black box gets point masses and integers
            # exactly as they are in its data (see TabularSpace.to_raw)
            x = self.space.to_raw(z.double())
            y = self._select(self.teacher.predict_tensor(x)).to(z.dtype)
            return (y - self._loc) / self._scale

    def label_chunked(self, z, map_fn, n_chunks):
        """:meth:`label` of a black box, the rows split into ``n_chunks`` chunks
        labelled through ``map_fn(func, chunks)`` (``map``, a pool's ``map``...).

        Each chunk is labelled by a private copy of the teacher, whose counts are
        added here: exact whether a chunk ran in a thread, another process or on a
        cluster."""
        rows = self.space.to_raw(z.detach().double()).cpu().numpy()
        chunks = np.array_split(rows, max(1, min(n_chunks, len(rows))))
        answers = list(map_fn(_TeacherChunk(self.teacher), chunks))
        if len(answers) != len(chunks):
            # not a TypeError: scipy would replace it with its own message
            raise TeacherError(
                f"workers(func, chunks) returned {len(answers)} results for "
                f"{len(chunks)} chunks; it must return one result per item, in order, "
                "as map does."
            )
        self.teacher.count(
            sum(a[1] for a in answers), cached=sum(a[2] for a in answers)
        )
        y = self._select(np.concatenate([a[0] for a in answers]))
        t = torch.as_tensor(y, dtype=z.dtype, device=z.device)
        return (t - self._loc) / self._scale

    def mlp_forward(self, z):
        """The fast MLP path: standardized labels and the hidden activations
        :meth:`mlp_backward_input` needs (requires :attr:`mlp`)."""
        self.teacher.count(z.shape[0])
        return self.mlp.forward(z)

    def mlp_backward_input(self, inputs, g):
        """Input gradient of the fast MLP path (no teacher query: the rows were
        counted by :meth:`mlp_forward`)."""
        return self.mlp.backward_input(inputs, g)

    def __repr__(self):
        return repr(self.teacher)


class _TeacherChunk:
    """Label one chunk of raw rows with a private copy of the teacher; return the
    answers and the rows the copy counted (and served from a cache). Picklable
    when the teacher is."""

    def __init__(self, teacher):
        self.teacher = teacher

    def __call__(self, X):
        teacher = self.teacher.fresh_copy()
        y = teacher.predict(X)
        return y, teacher.n_queries, getattr(teacher, "n_cached", 0)

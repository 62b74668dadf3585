"""Sampler base class, the problem a sampler works on, and the name registry."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

__all__ = [
    "Sampler",
    "DistillProblem",
    "SAMPLERS",
    "register_sampler",
    "resolve_sampler",
]


@dataclass
class DistillProblem:
    """What a sampler may use, all in standardized units.

    Attributes
    ----------
    space : StandardizedSpace
        Draws and projections of inputs.
    teacher : Teacher
        The adapter (``teacher.differentiable`` says whether gradients exist).
    teacher_fn : callable
        Standardized teacher ``z -> (T(to_raw(z)) - y_loc) / y_scale``; differentiable
        when the teacher is, and counted in the teacher's queries.
    student : torch.nn.Module
        The student core being trained (standardized in and out); samplers read it and
        must not update it.
    generator : torch.Generator
        Source of the sampler's own randomness.
    label_fn : callable
        Standardized teacher for labelling, without gradients (may be faster).
    y_loc, y_scale : float
        Standardization of the teacher's outputs: ``t = (y - y_loc) / y_scale``.
    teacher_mlp, student_mlp : FunctionalMLP or None
        Autograd-free views of teacher (standardized) and student when both are plain
        MLPs; samplers may use them for speed, with the same results.
    """

    space: object
    teacher: object
    teacher_fn: object
    student: torch.nn.Module
    generator: torch.Generator
    label_fn: object = None
    y_loc: float = 0.0
    y_scale: float = 1.0
    teacher_mlp: object = None
    student_mlp: object = None


class Sampler:
    """Base class of the synthetic-data strategies (paper section 3.2).

    A sampler turns starting points ``x0`` drawn from the input spec into the
    generated batch ``x_g`` of Algorithm 1 (line 5). Subclasses override
    :meth:`generate`, and :meth:`setup` when they need per-fit state.

    Attributes
    ----------
    uses_alpha : bool
        False when the generated samples are plain random draws; the estimator then
        spends the whole batch budget on random samples and ignores ``alpha``.
    """

    uses_alpha = True

    def setup(self, problem):
        """Bind to the fit's :class:`DistillProblem`; called once at the start of fit."""
        self.problem = problem
        return self

    def generate(self, x0):  # pragma: no cover - interface
        """Return generated standardized inputs of the shape of ``x0``, or a
        :class:`~skdistill.samplers.Generated` carrying their teacher labels (and any
        other labelled samples) when the sampler already paid for them."""
        raise NotImplementedError

    def query_cost(self, n):
        """Teacher rows this sampler spends to generate ``n`` samples, labels
        included (used to keep within ``max_teacher_queries``)."""
        return n

    def state_dict(self):
        """What the sampler carries from one :meth:`generate` call to the next
        (learned weights, optimizer moments, random streams of its own), copied; or
        None when it carries nothing.

        The estimator saves it at the start of every epoch and gives it back to
        :meth:`load_state_dict` after :meth:`setup` when training resumes
        (``warm_start``, ``checkpoint``). Samplers whose :meth:`generate` depends
        on earlier calls override both; randomness drawn from
        ``problem.generator`` is saved by the estimator.
        """
        return None

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (called after :meth:`setup`)."""

    def __repr__(self):
        params = ", ".join(
            f"{k}={v!r}"
            for k, v in vars(self).items()
            if not k.startswith("_") and k != "problem"
        )
        return f"{type(self).__name__}({params})"


SAMPLERS: dict[str, type[Sampler]] = {}


def register_sampler(name):
    """Class decorator adding a sampler to :data:`SAMPLERS` under ``name``."""

    def deco(cls):
        SAMPLERS[name] = cls
        cls.name = name
        return cls

    return deco


def resolve_sampler(sampler, **defaults):
    """A fresh sampler from a registered name, a ``Sampler`` class or instance.

    ``defaults`` are keyword arguments offered to a class built from a name or a
    class; only those its constructor accepts are passed. Instances are deep-copied
    so the user's object is never bound to a fit.
    """
    import inspect

    if isinstance(sampler, str):
        try:
            cls = SAMPLERS[sampler]
        except KeyError:
            raise ValueError(
                f"Unknown sampler {sampler!r}. Valid names: {sorted(SAMPLERS)}; or pass a "
                "skdistill.samplers.Sampler subclass or instance."
            ) from None
    elif isinstance(sampler, type) and issubclass(sampler, Sampler):
        cls = sampler
    elif isinstance(sampler, Sampler):
        return copy.deepcopy(sampler)
    else:
        raise TypeError(
            f"sampler must be one of {sorted(SAMPLERS)}, a Sampler subclass or instance; "
            f"got {sampler!r}."
        )
    accepted = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in defaults.items() if k in accepted})

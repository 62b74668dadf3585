"""Sampler base class, the problem a sampler works on, and the name registry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

from ..objectives import direct_objective, diversity_objective, standardize_objective
from ..students import as_outputs

__all__ = [
    "Sampler",
    "DistillProblem",
    "SAMPLERS",
    "register_sampler",
    "resolve_sampler",
    "build_objective",
]


@dataclass
class DistillProblem:
    """What a sampler may use, all in standardized units.

    Attributes
    ----------
    space : StandardizedSpace
        Draws and projections of inputs.
    teacher : StandardizedTeacher
        The teacher in standardized units
        (:class:`~skdistill.teachers.StandardizedTeacher`): ``forward(z)``
        (differentiable when ``teacher.differentiable``), ``label(z)`` (no
        gradients, may be faster), ``mlp`` (an autograd-free view of a plain MLP
        teacher, or None) with ``mlp_forward``/``mlp_backward_input``, and the
        target scaling ``y_loc``/``y_scale`` (``t = (y - y_loc) / y_scale``).
        Every row it is asked about is counted in the teacher's queries.
    student : torch.nn.Module
        The student core being trained (standardized in and out); samplers read it and
        must not update it.
    generator : torch.Generator
        Source of the sampler's own randomness.
    student_mlp : FunctionalMLP or None
        Autograd-free view of the student when it is a plain MLP; samplers may use it
        (with ``teacher.mlp``) for speed, with the same results.
    n_outputs : int, default=1
        The teacher's outputs per row: labels and student outputs have shape (n,)
        when 1, (n, n_outputs) otherwise (:meth:`student_output`).
    output_weights : Tensor or None
        Weights of the outputs (summing to 1; None: uniform) in the student loss
        and in the objective (:func:`~skdistill.objectives.output_mean`).
    """

    space: object
    teacher: object
    student: torch.nn.Module
    generator: torch.Generator
    student_mlp: object = None
    n_outputs: int = 1
    output_weights: object = None

    @property
    def label_shape(self):
        """The shape of one row's labels: ``()`` for one output, ``(k,)``."""
        return () if self.n_outputs == 1 else (self.n_outputs,)

    def student_output(self, z):
        """The student core's output on ``z`` in the labels' shape: (n,) for one
        output, (n, k) for k (through autograd: differentiable)."""
        return as_outputs(self.student(z), self.n_outputs)

    @property
    def y_loc(self):
        return self.teacher.y_loc

    @property
    def y_scale(self):
        return self.teacher.y_scale


class Sampler(BaseEstimator):
    """Base class of the synthetic-data strategies (paper section 3.2).

    A sampler turns starting points ``x0`` drawn from the input spec into the
    generated batch ``x_g`` of Algorithm 1 (line 5). Subclasses override
    :meth:`generate`, and :meth:`setup` when they need per-fit state.

    A sampler owns its parameters, as a scikit-learn estimator does: ``__init__``
    stores them, ``_parameter_constraints`` declares what they may be, and the
    estimator checks them (``_validate_params``) when ``fit`` resolves
    ``sampler=`` into ``sampler_``. ``get_params``/``set_params`` make them tunable
    as ``sampler__<name>`` in :class:`~sklearn.model_selection.GridSearchCV`.

    Attributes
    ----------
    uses_alpha : bool
        False when the generated samples are plain random draws; the estimator then
        spends the whole batch budget on random samples and ignores ``alpha``.
    """

    uses_alpha = True
    _parameter_constraints: dict = {}

    def check_params(self):
        """Validate the parameters (``_parameter_constraints``, then
        :meth:`_check_params` for what constraints cannot say); called by
        :func:`resolve_sampler`."""
        self._validate_params()
        self._check_params()
        return self

    def _check_params(self):
        """Checks beyond ``_parameter_constraints``; raise a ValueError naming the
        parameter."""

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

    def min_generated(self):
        """The fewest samples one :meth:`generate` call can make (after
        :meth:`setup`); a pool round too small for them spends its rows on
        random draws instead."""
        return 1

    def state_dict(self):
        """What the sampler carries from one :meth:`generate` call to the next
        (learned weights, optimizer moments, random streams of its own), copied; or
        None when it carries nothing.

        The training loop saves it at the start of every epoch and gives it back to
        :meth:`load_state_dict` after :meth:`setup` when training resumes
        (``warm_start``, ``checkpoint``). Samplers whose :meth:`generate` depends
        on earlier calls override both; randomness drawn from
        ``problem.generator`` is saved by the loop.
        """
        return None

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (called after :meth:`setup`)."""


SAMPLERS: dict[str, type[Sampler]] = {}


def register_sampler(name):
    """Class decorator adding a sampler to :data:`SAMPLERS` under ``name``."""

    def deco(cls):
        SAMPLERS[name] = cls
        cls.name = name
        return cls

    return deco


def _sampler_class(sampler):
    if isinstance(sampler, str):
        try:
            return SAMPLERS[sampler]
        except KeyError:
            raise ValueError(
                f"Unknown sampler {sampler!r}. Valid names: {sorted(SAMPLERS)}; or pass a "
                "skdistill.samplers.Sampler subclass or instance."
            ) from None
    if isinstance(sampler, type) and issubclass(sampler, Sampler):
        return sampler
    raise TypeError(
        f"sampler must be one of {sorted(SAMPLERS)}, a Sampler subclass or instance; "
        f"got {sampler!r}."
    )


def resolve_sampler(sampler, params=None, changed=None):
    """A fresh, validated sampler from a registered name, a class or an instance.

    Parameters
    ----------
    sampler : str, Sampler subclass or Sampler instance
    params : dict, default=None
        Sampler parameters the estimator holds (``{"lr": 0.1, ...}``, in the
        sampler's names). Those the sampler takes build a sampler named by a string
        or a class; the others are parameters of other samplers, unused here (as
        ``beta`` is with ``sampler="random"``).
    changed : set of str, default=None
        The names in ``params`` the user set to other values than their defaults
        (all of them when None). An instance is never overridden: given with any,
        a ValueError says where to set them. Instances are cloned (:func:`sklearn.base.clone`), so the user's
        object is never bound to a fit.
    """
    params = dict(params or {})
    changed = set(params) if changed is None else set(changed)
    if isinstance(sampler, Sampler):
        if changed:
            names = ", ".join(f"{k}={params[k]!r}" for k in sorted(changed))
            kind = type(sampler).__name__
            raise ValueError(
                f"The estimator got sampler parameters ({names}) and a {kind} "
                f"instance as sampler, which keeps its own parameters: these would "
                f"be ignored. Set them on the sampler instead ({kind}(...), or "
                "sampler__<name> in set_params and GridSearchCV), or pass the "
                "sampler by name."
            )
        return clone(sampler).check_params()
    cls = _sampler_class(sampler)
    accepted = set(cls._get_param_names())
    return cls(**{k: v for k, v in params.items() if k in accepted}).check_params()


def check_target_range(target_range):
    """``target_range`` as two finite floats, low <= high (the teacher's units)."""
    if target_range is None:
        return None
    try:
        low, high = (float(v) for v in target_range)
    except (TypeError, ValueError):
        ok = False
    else:
        ok = np.isfinite(low) and np.isfinite(high) and low <= high
    if not ok:
        raise ValueError(
            "target_range must be a pair (low, high) of finite numbers with low <= "
            f"high, in the teacher's units; got {target_range!r}."
        )
    return low, high


def build_objective_of(sampler, problem):
    """:func:`build_objective` from a sampler's own ``objective``, ``beta``,
    ``gamma``, ``target_range`` and ``epsilon`` parameters."""
    return build_objective(
        problem,
        sampler.objective,
        beta=sampler.beta,
        gamma=sampler.gamma,
        target_range=sampler.target_range,
        epsilon=sampler.epsilon,
    )


def build_objective(problem, objective=None, *, beta=1e-5, gamma=1e-5,
                    target_range=None, epsilon=0.05):
    """The objective a sampler minimises, in the standardized units it works in.

    ``objective`` (eq. 8 terms, callables...) when given; else eq. 9 when a
    ``target_range`` is given; else eq. 5 with ``beta`` and ``gamma``. Target
    values (``target_range``, a term's ``values`` or ``target_range``) are in the
    teacher's units wherever the objective was given, and this is the one place
    they are converted (:func:`~skdistill.objectives.standardize_objective`).
    With several outputs the terms of the outputs are averaged with
    ``problem.output_weights``.
    """
    if objective is None and target_range is not None:
        objective = diversity_objective(epsilon, check_target_range(target_range))
    if objective is None:
        objective = direct_objective(beta, gamma)
    else:
        objective = standardize_objective(objective, problem.y_loc, problem.y_scale)
    # k outputs: every term of the outputs averaged with the student loss's weights
    objective.output_weights = problem.output_weights
    return objective

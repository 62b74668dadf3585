"""Direct optimisation of the inputs (paper section 3.2.3, Algorithm 2)."""

from __future__ import annotations

from numbers import Integral, Real

import torch
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from .._mlp import RMSprop
from ..objectives import as_objective
from ._base import Sampler, build_objective_of, check_target_range, register_sampler
from ._de import DE_STRATEGIES, DifferentialEvolution
from ._gradient import objective_gradient

__all__ = ["DirectSampler"]


@register_sampler("direct")
class DirectSampler(Sampler):
    """Move random draws towards inputs where teacher and student disagree.

    Algorithm 2: starting from draws of the input spec, minimise an objective over
    the inputs (eq. 5 by default, ``-(T-S)^2 + beta ||x||^2 + gamma S^2``; eq. 9 when a
    ``target_range`` is given), keeping every sample inside the spec's constraints.
    Two optimisers:

    - ``"gradient"``: ``steps`` RMSprop steps of size ``lr``, projecting after each
      step; needs a differentiable teacher;
    - ``"de"``: differential evolution (section 3.6), for teachers without
      gradients: the start points are the initial population, each generation is one
      teacher call, the final population is the generated batch, and every trial
      the teacher labelled is handed to the student as a training sample too.

    ``"auto"`` (default) takes gradients when the teacher has them, DE otherwise.

    Parameters
    ----------
    lr : float, default=0.1
        RMSprop step size on the (standardized) inputs.
    steps : int, default=2
        Number of gradient steps.
    beta, gamma : float, default=1e-5
        Weights of the input and student-output penalties of eq. 5.
    objective : Objective, list of terms, str, tuple or callable, default=None
        What to minimise instead of eq. 5/9 (see
        :func:`~skdistill.objectives.as_objective`; an ``Objective`` with
        closed-form ``grad`` runs faster on MLPs). Target values of diversity terms
        are in the teacher's units, here as on the estimator.
    rms_decay : float, default=0.99
        RMSprop smoothing constant (torch's default).
    optimizer : {"auto", "gradient", "de"}, default="auto"
    target_range : (float, float) or None, default=None
        Range of the teacher's outputs (raw units). When given, the objective is
        eq. 9, ``-epsilon (T-S)^2 + (1-epsilon) (T - y_rand)^2`` with ``y_rand``
        uniform on this range, which spreads the teacher's answers on generated
        samples. ``None``: eq. 5.
    epsilon : float, default=0.05
        Weight of the disagreement in eq. 9 (the paper's protein setting).
    de_strategy : str, default="best2bin"
    de_maxiter : int, default=25
    de_popsize : int or None, default=None
    de_radius : float or None, default=None
    de_workers : int, map-like callable or None, default=None
        See :class:`~skdistill.samplers.DifferentialEvolution` (``workers``).
    """

    _parameter_constraints: dict = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "steps": [Interval(Integral, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "objective": [None, list, tuple, str, callable],
        "rms_decay": [Interval(Real, 0, 1, closed="left")],
        "optimizer": [StrOptions({"auto", "gradient", "de"})],
        "target_range": [tuple, list, None],
        "epsilon": [Interval(Real, 0, 1, closed="right")],
        "de_strategy": [StrOptions(set(DE_STRATEGIES))],
        "de_maxiter": [Interval(Integral, 1, None, closed="left")],
        "de_popsize": [Interval(Integral, 5, None, closed="left"), None],
        "de_radius": [Interval(Real, 0, None, closed="neither"), None],
        "de_workers": [Interval(Integral, 1, None, closed="left"), callable, None],
    }

    def __init__(
        self,
        lr=0.1,
        steps=2,
        beta=1e-5,
        gamma=1e-5,
        objective=None,
        rms_decay=0.99,
        optimizer="auto",
        target_range=None,
        epsilon=0.05,
        de_strategy="best2bin",
        de_maxiter=25,
        de_popsize=None,
        de_radius=None,
        de_workers=None,
    ):
        self.lr = lr
        self.steps = steps
        self.beta = beta
        self.gamma = gamma
        self.objective = objective
        self.rms_decay = rms_decay
        self.optimizer = optimizer
        self.target_range = target_range
        self.epsilon = epsilon
        self.de_strategy = de_strategy
        self.de_maxiter = de_maxiter
        self.de_popsize = de_popsize
        self.de_radius = de_radius
        self.de_workers = de_workers

    def _check_params(self):
        check_target_range(self.target_range)
        if self.objective is not None:
            as_objective(self.objective)  # unknown term names fail here

    def __sklearn_clone__(self):
        # a pool's map or a dask client is shared, not copied
        params = self.get_params(deep=False)
        workers = params.pop("de_workers")
        return type(self)(**{k: clone(v, safe=False) for k, v in params.items()},
                          de_workers=workers)

    def setup(self, problem):
        differentiable = problem.teacher.differentiable
        if self.optimizer == "gradient" and not differentiable:
            raise ValueError(
                f"optimizer='gradient' needs gradients, but the teacher "
                f"{problem.teacher!r} is a black box. Use optimizer='de' (or 'auto'): "
                "differential evolution needs only the teacher's answers."
            )
        use_de = self.optimizer == "de" or (
            self.optimizer == "auto" and not differentiable
        )
        self.optimizer_ = "de" if use_de else "gradient"
        self._de = (
            DifferentialEvolution(
                self.de_strategy,
                self.de_maxiter,
                self.de_popsize,
                self.de_radius,
                workers=self.de_workers,
            )
            if use_de
            else None
        )
        self._objective = build_objective_of(self, problem)
        return super().setup(problem)

    def query_cost(self, n):
        """Teacher rows spent to generate ``n`` labelled samples."""
        if self._de is not None:
            return self._de.query_cost(n)
        return (self.steps + 1) * n

    def min_generated(self):
        """Differential evolution's smallest population (see
        :meth:`DifferentialEvolution.min_population`); 1 for gradient steps."""
        return 1 if self._de is None else self._de.min_population()

    def generate(self, x0):
        """Optimise the start points ``x0`` (standardized) into generated samples."""
        if self._de is not None:
            return self._de.run(x0, self.problem, self._objective)
        begin = getattr(self._objective, "begin", None)
        if begin is not None:
            begin(x0.shape[0], self.problem.generator, self.problem.n_outputs)
        return self._gradient_descent(x0)

    def _gradient_descent(self, x0):
        """``steps`` RMSprop steps on the inputs, each followed by the projection."""
        problem = self.problem
        project = problem.space.project
        x = x0
        optimizer = RMSprop(x0, self.lr, alpha=self.rms_decay)
        for _ in range(self.steps):
            grad = objective_gradient(problem, self._objective, x)
            with torch.no_grad():
                if x is x0:  # the draws themselves stay as they are
                    x = x0.clone()
                optimizer.step(x, grad)
                x = project(x)
        return x

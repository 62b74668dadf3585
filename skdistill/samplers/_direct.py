"""Direct optimisation of the inputs (paper section 3.2.3, Algorithm 2)."""

from __future__ import annotations

import torch

from ..objectives import direct_objective, diversity_objective
from ._base import Sampler, register_sampler
from ._de import DifferentialEvolution

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
    objective : callable, default=None
        ``objective(t, s, x) -> per-sample loss`` to minimise instead of eq. 5/9
        (see :mod:`skdistill.objectives`; an ``Objective`` with closed-form ``grad``
        runs faster on MLPs).
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

    OPTIMIZERS = ("auto", "gradient", "de")

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

    def setup(self, problem):
        if self.optimizer not in self.OPTIMIZERS:
            raise ValueError(
                f"Unknown optimizer {self.optimizer!r}; valid: {list(self.OPTIMIZERS)}."
            )
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
        self._objective = self._build_objective(problem)
        return super().setup(problem)

    def _build_objective(self, problem):
        if self.objective is not None:
            return self.objective
        if self.target_range is None:
            return direct_objective(self.beta, self.gamma)
        low, high = (float(v) for v in self.target_range)
        y_loc, y_scale = problem.y_loc, problem.y_scale
        return diversity_objective(
            self.epsilon, ((low - y_loc) / y_scale, (high - y_loc) / y_scale)
        )

    def query_cost(self, n):
        """Teacher rows spent to generate ``n`` labelled samples."""
        if self._de is not None:
            return self._de.query_cost(n)
        return (self.steps + 1) * n

    def generate(self, x0):
        """Optimise the start points ``x0`` (standardized) into generated samples."""
        if self._de is not None:
            return self._de.run(x0, self.problem, self._objective)
        begin = getattr(self._objective, "begin", None)
        if begin is not None:
            begin(x0.shape[0], self.problem.generator)
        return self._gradient_descent(x0)

    def _gradient_descent(self, x0):
        """RMSprop on the inputs (torch's update rule, written out to save overhead)."""
        problem = self.problem
        fast = (
            problem.teacher_mlp is not None
            and problem.student_mlp is not None
            and getattr(self._objective, "has_grad", False)
        )
        gradient = self._mlp_gradient if fast else self._autograd_gradient
        project, lr, decay = problem.space.project, self.lr, self.rms_decay
        x = x0
        square_avg = torch.zeros_like(x0)
        for _ in range(self.steps):
            grad = gradient(x)
            with torch.no_grad():
                square_avg.mul_(decay).addcmul_(grad, grad, value=1.0 - decay)
                x = project(x.addcdiv(grad, square_avg.sqrt().add_(1e-8), value=-lr))
        return x

    def _autograd_gradient(self, x):
        """Gradient of the batch-mean objective with respect to ``x``."""
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            t = self.problem.teacher_fn(x)
            s = self.problem.student(x).reshape(-1)
            (grad,) = torch.autograd.grad(self._objective(t, s, x).mean(), x)
        return grad

    def _mlp_gradient(self, x):
        """The same gradient by explicit backpropagation through both MLPs."""
        problem = self.problem
        problem.teacher.n_queries += x.shape[0]
        t, t_inputs = problem.teacher_mlp.forward(x)
        s, s_inputs = problem.student_mlp.forward(x)
        g_t, g_s, g_x = self._objective.grad(t, s, x, 1.0 / x.shape[0])
        grad = g_x if g_x is not None else torch.zeros_like(x)
        if g_t is not None:
            grad = grad.add_(problem.teacher_mlp.backward_input(t_inputs, g_t))
        if g_s is not None:
            grad = grad.add_(problem.student_mlp.backward_input(s_inputs, g_s))
        return grad

"""Direct optimisation of the inputs (paper section 3.2.3, Algorithm 2)."""

from __future__ import annotations

import torch

from ..objectives import direct_objective
from ._base import Sampler, register_sampler

__all__ = ["DirectSampler"]


@register_sampler("direct")
class DirectSampler(Sampler):
    """Move random draws towards inputs where teacher and student disagree.

    Algorithm 2: starting from draws of the input spec, take ``steps`` RMSprop steps
    of size ``lr`` on the objective (eq. 5 by default,
    ``-(T-S)^2 + beta ||x||^2 + gamma S^2``), projecting back into the spec's bounds
    after each step. Gradients flow through the teacher, so it must be differentiable.

    Parameters
    ----------
    lr : float, default=0.1
        RMSprop step size on the (standardized) inputs.
    steps : int, default=2
        Number of optimisation steps.
    beta, gamma : float, default=1e-5
        Weights of the input and student-output penalties of eq. 5.
    objective : callable, default=None
        ``objective(t, s, x) -> per-sample loss`` to minimise instead of eq. 5.
    rms_decay : float, default=0.99
        RMSprop smoothing constant (torch's default).
    """

    def __init__(
        self, lr=0.1, steps=2, beta=1e-5, gamma=1e-5, objective=None, rms_decay=0.99
    ):
        self.lr = lr
        self.steps = steps
        self.beta = beta
        self.gamma = gamma
        self.objective = objective
        self.rms_decay = rms_decay

    def setup(self, problem):
        if not problem.teacher.differentiable:
            raise ValueError(
                f"sampler='direct' needs gradients, but the teacher {problem.teacher!r} "
                "is a black box. Direct optimisation of black-box teachers by "
                "differential evolution is not available yet; use sampler='random' "
                "for this teacher."
            )
        self._objective = self.objective or direct_objective(self.beta, self.gamma)
        return super().setup(problem)

    def generate(self, x0):
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

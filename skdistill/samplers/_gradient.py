"""The gradient of a sampler's objective with respect to its inputs.

Gradient samplers (direct optimisation, the generator) minimise the batch mean of
an objective ``L(T(x), S(x), x)`` over inputs ``x``. When teacher and student are
plain MLPs and every term has a closed-form ``grad``, the gradient is written out
(:mod:`skdistill._mlp`: explicit backpropagation, no autograd); otherwise autograd
computes it. Both give the same result (tests compare them).
"""

from __future__ import annotations

import torch

__all__ = ["objective_gradient"]


def objective_gradient(problem, objective, x, with_loss=False):
    """Gradient of ``objective(T(x), S(x), x).mean()`` with respect to ``x``.

    Every row of ``x`` is one teacher query, counted by ``problem.teacher``.
    Returns the gradient, or ``(loss, gradient)`` with ``with_loss``.
    """
    teacher, student_mlp = problem.teacher, problem.student_mlp
    if (
        teacher.mlp is not None
        and student_mlp is not None
        and getattr(objective, "has_grad", False)
    ):
        # no autograd here (the MLP views hold detached weights): no no_grad
        # context either, which would cost more than the arithmetic at paper sizes
        x = x.detach()
        t, t_inputs = teacher.mlp_forward(x)
        s, s_inputs = student_mlp.forward(x)
        loss = float(objective(t, s, x).mean()) if with_loss else None
        g_t, g_s, g_x = objective.grad(t, s, x, 1.0 / x.shape[0])
        grad = g_x if g_x is not None else torch.zeros_like(x)
        if g_t is not None:
            grad = grad.add_(teacher.mlp_backward_input(t_inputs, g_t))
        if g_s is not None:
            grad = grad.add_(student_mlp.backward_input(s_inputs, g_s))
        return (loss, grad) if with_loss else grad
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        t = teacher.forward(x)
        s = problem.student_output(x)
        loss = objective(t, s, x).mean()
        (grad,) = torch.autograd.grad(loss, x)
    return (float(loss.detach()), grad) if with_loss else grad

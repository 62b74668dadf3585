"""Loss terms of the paper, each written once.

Every term maps teacher predictions ``t``, student predictions ``s`` (both shape (n,))
and inputs ``x`` (shape (n, d)) to a per-sample loss of shape (n,). An
:class:`Objective` sums weighted terms; samplers minimise its mean over a batch.

- eq. 1, the student loss: :func:`student_loss`;
- eq. 5, direct optimisation: ``-(T-S)^2 + beta ||x||^2 + gamma S^2``,
  built by :func:`direct_objective`;
- eq. 7, the mix of generated and random samples: :func:`mixed_student_loss`.
"""

from __future__ import annotations

__all__ = [
    "Term",
    "Disagreement",
    "InputPenalty",
    "StudentOutputPenalty",
    "Objective",
    "direct_objective",
    "student_loss",
    "mixed_student_loss",
]


def student_loss(t, s):
    """Eq. 1: per-sample squared difference ``(T(x) - S(x))^2``."""
    return (t - s) ** 2


def mixed_student_loss(loss_generated, loss_random, alpha):
    """Eq. 7: ``alpha * L_S(x_g) + (1 - alpha) * L_S(x_p)`` on batch means."""
    return alpha * loss_generated + (1.0 - alpha) * loss_random


class Term:
    """A weighted per-sample loss term ``weight * f(t, s, x)``.

    Subclasses implement ``__call__`` and, optionally, ``grad(t, s, x, scale)`` (the
    per-sample partial derivatives with respect to ``t``, ``s`` and ``x`` times
    ``scale``, each a tensor or None), which lets samplers skip autograd.
    """

    def __init__(self, weight=1.0):
        self.weight = float(weight)

    def __call__(self, t, s, x):  # pragma: no cover - interface
        raise NotImplementedError

    grad = None

    def __repr__(self):
        return f"{type(self).__name__}(weight={self.weight:g})"


class Disagreement(Term):
    """``-weight * (T - S)^2``: rewards inputs where teacher and student disagree."""

    def __call__(self, t, s, x):
        return -self.weight * student_loss(t, s)

    def grad(self, t, s, x, scale=1.0):
        g = (t - s).mul_(-2.0 * self.weight * scale)
        return g, -g, None


class InputPenalty(Term):
    """``weight * ||x||_2^2``: keeps generated inputs near the (standardized) origin."""

    def __call__(self, t, s, x):
        return self.weight * (x * x).sum(dim=1)

    def grad(self, t, s, x, scale=1.0):
        return None, None, x * (2.0 * self.weight * scale)


class StudentOutputPenalty(Term):
    """``weight * S(x)^2``: penalises extreme student outputs."""

    def __call__(self, t, s, x):
        return self.weight * s * s

    def grad(self, t, s, x, scale=1.0):
        return None, s * (2.0 * self.weight * scale), None


class Objective:
    """Sum of weighted terms; terms with weight 0 are skipped."""

    def __init__(self, terms):
        self.terms = [term for term in terms if term.weight != 0.0]
        if not self.terms:
            raise ValueError(
                "An objective needs at least one term with nonzero weight."
            )

    def __call__(self, t, s, x):
        total = self.terms[0](t, s, x)
        for term in self.terms[1:]:
            total = total + term(t, s, x)
        return total

    @property
    def has_grad(self):
        """Whether every term gives its derivatives in closed form."""
        return all(term.grad is not None for term in self.terms)

    def grad(self, t, s, x, scale=1.0):
        """Summed per-sample partial derivatives ``(d/dt, d/ds, d/dx)``, times
        ``scale`` (for example ``1 / n`` for the gradient of a batch mean)."""
        totals = [None, None, None]
        for term in self.terms:
            for i, g in enumerate(term.grad(t, s, x, scale)):
                if g is not None:
                    totals[i] = g if totals[i] is None else totals[i] + g
        return tuple(totals)

    def __repr__(self):
        return f"Objective({self.terms!r})"


def direct_objective(beta=1e-5, gamma=1e-5):
    """Eq. 5: ``-(T(x)-S(x))^2 + beta ||x||^2 + gamma S(x)^2`` (also eq. 3 and 4)."""
    return Objective(
        [Disagreement(1.0), InputPenalty(beta), StudentOutputPenalty(gamma)]
    )

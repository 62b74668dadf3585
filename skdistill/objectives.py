"""Loss terms of the paper, each written once.

Every term maps teacher predictions ``t``, student predictions ``s`` (both shape (n,),
or (n, k) for a teacher with k outputs) and inputs ``x`` (shape (n, d)) to a
per-sample loss of shape (n,), or (n, k) for a term of the outputs. An
:class:`Objective` sums weighted terms, terms of the outputs averaged over them with
its ``output_weights`` (:func:`output_mean`); samplers minimise its mean over a
batch.

- eq. 1, the student loss: :func:`student_loss` (with k outputs, their weighted
  mean, :func:`output_mean`);
- eq. 5, direct optimisation: ``-(T-S)^2 + beta ||x||^2 + gamma S^2``,
  built by :func:`direct_objective`;
- eq. 7, the mix of generated and random samples: :func:`mixed_weights`, per-sample
  weights that turn ``alpha L_S(x_g) + (1 - alpha) L_S(x_p)`` into one weighted sum;
- eq. 9, direct optimisation with target diversity (black-box case study):
  ``-epsilon (T-S)^2 + (1-epsilon) (T - y_rand)^2``, built by :func:`diversity_objective`.

Terms that need randomness (``y_rand``) draw it in :meth:`Term.begin`, which samplers
call once per optimisation run with the number of samples and a torch generator.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "Term",
    "Disagreement",
    "InputPenalty",
    "StudentOutputPenalty",
    "Objective",
    "TargetDiversity",
    "direct_objective",
    "diversity_objective",
    "student_loss",
    "mixed_weights",
    "output_mean",
    "check_output_weights",
    "resolve_output_weights",
]


def output_mean(values, output_weights=None):
    """Per-sample values of shape (n, k), one per output, averaged over the
    outputs with ``output_weights`` (k weights summing to 1; None: uniform).
    Values of shape (n,) (one output, or a term of the inputs) are returned as
    they are. The one place where outputs are combined: eq. 1 (:func:`student_loss`)
    and every term of an :class:`Objective` (eq. 3, 5, 8, 9) go through it."""
    if values.ndim < 2:
        return values
    if output_weights is None:
        return values.mean(dim=1)
    return values @ output_weights.to(values.dtype)


def check_output_weights(output_weights, n_outputs=None):
    """``output_weights`` as a float32 tensor of weights summing to 1 (None: uniform,
    returned as None); a ValueError naming the problem otherwise. With
    ``n_outputs``, there must be one weight per output."""
    if output_weights is None:
        return None
    try:
        w = np.asarray(output_weights, dtype=np.float64)
    except (TypeError, ValueError):
        w = None
    if w is None or w.ndim != 1 or (n_outputs is not None and len(w) != n_outputs):
        expected = "" if n_outputs is None else f" ({n_outputs})"
        raise ValueError(
            f"output_weights must hold one weight per output of the teacher"
            f"{expected}, got {output_weights!r}."
        )
    if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise ValueError(
            f"output_weights must be finite, non-negative and not all zero, got "
            f"{output_weights!r}."
        )
    return torch.as_tensor(w / w.sum(), dtype=torch.float32)


def resolve_output_weights(output_weights, n_outputs):
    """``output_weights`` (a tensor summing to 1), or the uniform ``1 / n_outputs``
    each when None: the weights :func:`output_mean` applies, written out for the
    closed-form gradients and the per-output validation RMSE."""
    if output_weights is not None:
        return output_weights
    return torch.full((n_outputs,), 1.0 / n_outputs)


def student_loss(t, s, output_weights=None):
    """Eq. 1: per-sample squared difference ``(T(x) - S(x))^2``; for k outputs,
    its mean over the outputs weighted by ``output_weights``."""
    return output_mean((t - s) ** 2, output_weights)


def mixed_weights(n_generated, n_other, alpha, device=None):
    """Eq. 7 as per-sample weights: ``alpha L_S(x_g) + (1 - alpha) L_S(x_p)``.

    The student loss of a joint batch, ``n_generated`` generated rows first and then
    ``n_other`` random (or other labelled) rows, is ``sum(weights * loss)``: ``alpha``
    spread evenly over the generated rows (the mean of eq. 1 on them) and
    ``1 - alpha`` over the others. When one kind is absent the other gets the whole
    weight, so that the sum stays a mean.

    Examples
    --------
    >>> mixed_weights(2, 1, 0.5)
    tensor([0.2500, 0.2500, 0.5000])
    """
    if not n_generated:
        alpha = 0.0
    elif not n_other:
        alpha = 1.0
    weights = torch.cat(
        [
            torch.full((n_generated,), alpha / max(n_generated, 1)),
            torch.full((n_other,), (1.0 - alpha) / max(n_other, 1)),
        ]
    )
    return weights if device is None else weights.to(device)


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

    def begin(self, n, generator, n_outputs=None):
        """Called before each optimisation run of ``n`` samples (draw ``y_rand``;
        one per output when ``n_outputs`` is given: a teacher of k > 1 outputs)."""

    def __repr__(self):
        return f"{type(self).__name__}(weight={self.weight:g})"


class Disagreement(Term):
    """``-weight * (T - S)^2``: rewards inputs where teacher and student disagree."""

    def __call__(self, t, s, x):
        return -self.weight * (t - s) ** 2  # per output: the Objective averages them

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


class TargetDiversity(Term):
    """``weight * (T(x) - y_rand)^2``: spreads the teacher's answers on generated inputs.

    ``y_rand`` is drawn uniformly from ``target_range`` for every sample at the start
    of each optimisation run (eq. 8-9 draw it per batch; a draw per sample spreads
    the batch further). ``target_range`` is in the units the objective sees
    (standardized targets inside the estimator).
    """

    def __init__(self, weight=1.0, target_range=(0.0, 1.0)):
        super().__init__(weight)
        low, high = (float(v) for v in target_range)
        if not low <= high:
            raise ValueError(
                f"target_range must be (low, high) with low <= high, got "
                f"{target_range!r}."
            )
        self.target_range = (low, high)
        self.y_rand = None

    def begin(self, n, generator, n_outputs=None):
        low, high = self.target_range
        if n_outputs is None:
            self.y_rand = low + (high - low) * torch.rand(n, generator=generator)
            return
        # one range per output (standardized per output), or one for all
        low = torch.as_tensor(low, dtype=torch.float32)
        high = torch.as_tensor(high, dtype=torch.float32)
        self.y_rand = low + (high - low) * torch.rand(n, n_outputs, generator=generator)

    def _target(self, t):
        if self.y_rand is None or self.y_rand.shape[0] != t.shape[0]:
            raise RuntimeError(
                "TargetDiversity.begin(n, generator) must be called first."
            )
        return self.y_rand.to(t.device, t.dtype)

    def __call__(self, t, s, x):
        return self.weight * (t - self._target(t)) ** 2

    def grad(self, t, s, x, scale=1.0):
        return (t - self._target(t)) * (2.0 * self.weight * scale), None, None


class Objective:
    """Sum of weighted terms; terms with weight 0 are skipped.

    With a teacher of k outputs, terms of the outputs (disagreement, student
    output, target diversity) give one value per output, averaged with
    ``output_weights`` (:func:`output_mean`; None: uniform); the estimator sets
    them from its own ``output_weights``.
    """

    output_weights = None

    def __init__(self, terms, output_weights=None):
        self.terms = [term for term in terms if term.weight != 0.0]
        if not self.terms:
            raise ValueError(
                "An objective needs at least one term with nonzero weight."
            )
        self.output_weights = output_weights

    def begin(self, n, generator, n_outputs=None):
        """Start an optimisation run of ``n`` samples (terms draw their randomness,
        one value per output when ``t`` has ``n_outputs`` columns)."""
        for term in self.terms:
            if n_outputs and n_outputs > 1:
                term.begin(n, generator, n_outputs)
            else:  # the paper's signature, which user terms may have
                term.begin(n, generator)

    def __call__(self, t, s, x):
        w = self.output_weights
        total = output_mean(self.terms[0](t, s, x), w)
        for term in self.terms[1:]:
            total = total + output_mean(term(t, s, x), w)
        return total

    @property
    def has_grad(self):
        """Whether every term gives its derivatives in closed form."""
        return all(term.grad is not None for term in self.terms)

    def grad(self, t, s, x, scale=1.0):
        """Summed per-sample partial derivatives ``(d/dt, d/ds, d/dx)``, times
        ``scale`` (for example ``1 / n`` for the gradient of a batch mean)."""
        totals = [None, None, None]
        w = None
        if t.ndim == 2:  # d/dt and d/ds of the weighted mean over outputs
            w = resolve_output_weights(self.output_weights, t.shape[1])
            w = w.to(device=t.device, dtype=t.dtype)
        for term in self.terms:
            for i, g in enumerate(term.grad(t, s, x, scale)):
                if g is not None:
                    if w is not None and i < 2:
                        g = g * w
                    totals[i] = g if totals[i] is None else totals[i] + g
        return tuple(totals)

    def __repr__(self):
        return f"Objective({self.terms!r})"


def direct_objective(beta=1e-5, gamma=1e-5):
    """Eq. 5: ``-(T(x)-S(x))^2 + beta ||x||^2 + gamma S(x)^2`` (also eq. 3 and 4)."""
    return Objective(
        [Disagreement(1.0), InputPenalty(beta), StudentOutputPenalty(gamma)]
    )


def diversity_objective(epsilon=0.05, target_range=(0.0, 1.0)):
    """Eq. 9: ``-epsilon (T-S)^2 + (1-epsilon) (T - y_rand)^2``, ``y_rand`` uniform on
    ``target_range``."""
    if not 0.0 < epsilon <= 1.0:
        raise ValueError(f"epsilon must be in (0, 1], got {epsilon!r}.")
    return Objective(
        [Disagreement(epsilon), TargetDiversity(1.0 - epsilon, target_range)]
    )


# ---------------------------------------------------------------------------------
# Terms for other kinds of data (section 3.5, eq. 8) and user-defined objectives.

__all__ += [
    "LogCoshDisagreement",
    "InputL1Penalty",
    "DiscreteTargetDiversity",
    "CallableTerm",
    "TERMS",
    "make_term",
    "as_objective",
    "standardize_objective",
    "eq8_objective",
    "logcosh",
    "logcosh_student_loss",
    "STUDENT_LOSSES",
]


def logcosh(u):
    """``log(cosh(u))`` without overflow: ``|u| + log1p(exp(-2|u|)) - log 2``."""
    a = u.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - 0.6931471805599453


def logcosh_student_loss(t, s):
    """Per-sample log-cosh student loss ``log cosh(T(x) - S(x))`` (section 3.5):
    quadratic for small errors, linear for large ones."""
    return logcosh(t - s)


#: Per-sample student losses by name (the estimator's ``loss`` parameter).
STUDENT_LOSSES = {"squared": student_loss, "logcosh": logcosh_student_loss}


class LogCoshDisagreement(Term):
    """``-weight * log cosh(T - S)``: the disagreement of eq. 8.

    Like :class:`Disagreement` near agreement (``log cosh u ~ u^2 / 2``), but its
    gradient is bounded (``tanh``), so a few wild inputs do not dominate the batch.
    """

    def __call__(self, t, s, x):
        return -self.weight * logcosh(t - s)

    def grad(self, t, s, x, scale=1.0):
        g = torch.tanh(t - s).mul_(-self.weight * scale)
        return g, -g, None


class InputL1Penalty(Term):
    """``weight * ||x||_1``: favours sparse inputs (eq. 8, handwritten digits).

    ``x`` is in the units the objective sees: inside the estimator, standardized
    inputs, which for image specs are the pixel values rescaled to ``[0, 1]`` (see
    :meth:`skdistill.InputSpec.standardization`), so the penalty is the paper's
    ``beta |x_g|`` on pixels.
    """

    def __call__(self, t, s, x):
        return self.weight * x.abs().sum(dim=1)

    def grad(self, t, s, x, scale=1.0):
        return None, None, torch.sign(x).mul_(self.weight * scale)


class DiscreteTargetDiversity(TargetDiversity):
    """``weight * (T(x) - y_rand)^2`` with ``y_rand`` drawn from a set of ``values``.

    The target-diversity term of eq. 8: when the teacher's outputs are discrete
    (digits 0-9), pulling each generated input towards a random one of them spreads
    the batch over the targets while keeping the teacher's answers near values real
    data would get. ``y_rand`` is drawn uniformly from ``values`` for every sample
    at the start of each optimisation run.

    Parameters
    ----------
    weight : float, default=1.0
    values : sequence of float
        The possible targets, in the units the objective sees. Given to the
        estimator (``objective=``), they are in the teacher's units and converted
        to its standardized units by :func:`standardize_objective`.

    Examples
    --------
    >>> import torch
    >>> term = DiscreteTargetDiversity(1.0, values=range(10))
    >>> term.begin(1000, torch.Generator().manual_seed(0))
    >>> sorted(set(term.y_rand.tolist())) == list(range(10))
    True
    """

    def __init__(self, weight=1.0, values=tuple(range(10))):
        values = torch.as_tensor(list(values), dtype=torch.float64).reshape(-1)
        if values.numel() == 0 or not torch.isfinite(values).all():
            raise ValueError(
                "values must be a non-empty sequence of finite target values."
            )
        super().__init__(weight, (float(values.min()), float(values.max())))
        self.values = values

    def begin(self, n, generator, n_outputs=None):
        if n_outputs is None:
            idx = torch.randint(len(self.values), (n,), generator=generator)
            self.y_rand = self.values[idx].float()
            return
        # values of shape (V,), or (V, k) once standardized per output
        values = self.values.reshape(len(self.values), -1).expand(-1, n_outputs)
        idx = torch.randint(len(values), (n, n_outputs), generator=generator)
        self.y_rand = values.gather(0, idx).float()

    def __repr__(self):
        shown = ", ".join(f"{v:g}" for v in self.values[:10].tolist())
        more = ", ..." if len(self.values) > 10 else ""
        return f"{type(self).__name__}(weight={self.weight:g}, values=[{shown}{more}])"


class CallableTerm(Term):
    """A user-defined term: ``weight * fn(t, s, x)``.

    ``fn`` receives teacher predictions ``t`` and student predictions ``s`` (shape
    (n,), or (n, k) for a teacher with k outputs) and inputs ``x`` (shape (n, d)),
    all torch tensors in the units the objective sees, and returns a per-sample
    loss of shape (n,) (or (n, k), one per output, which the objective averages
    with its output weights) built from torch operations: samplers differentiate
    it by autograd.

    Examples
    --------
    >>> import torch
    >>> term = CallableTerm(lambda t, s, x: (t - s).abs(), weight=-1.0)
    >>> term(torch.tensor([1.0, 2.0]), torch.tensor([0.5, 3.0]), None)
    tensor([-0.5000, -1.0000])
    """

    def __init__(self, fn, weight=1.0):
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}.")
        super().__init__(weight)
        self.fn = fn

    def __call__(self, t, s, x):
        out = self.fn(t, s, x)
        if not isinstance(out, torch.Tensor) or out.shape not in (t.shape, t.shape[:1]):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"The objective term {self.fn!r} must return a tensor of per-sample "
                f"losses of shape {tuple(t.shape)}; got {got}."
            )
        return self.weight * out if self.weight != 1.0 else out

    def __repr__(self):
        name = getattr(self.fn, "__name__", repr(self.fn))
        return f"CallableTerm({name}, weight={self.weight:g})"


def _target_term(weight=1.0, values=None, target_range=None):
    if (values is None) == (target_range is None):
        raise ValueError(
            "The 'target' term needs exactly one of values= (discrete targets) or "
            "target_range= (continuous (low, high))."
        )
    if values is not None:
        return DiscreteTargetDiversity(weight, values)
    return TargetDiversity(weight, target_range)


#: Objective terms by the names :func:`make_term` and :func:`as_objective` accept.
TERMS = {
    "squared": Disagreement,  # -w (T - S)^2          eq. 3, 5, 9
    "logcosh": LogCoshDisagreement,  # -w log cosh(T - S)  eq. 8
    "l2": InputPenalty,  # w ||x||_2^2              eq. 3, 5
    "l1": InputL1Penalty,  # w ||x||_1              eq. 8
    "student_output": StudentOutputPenalty,  # w S(x)^2   eq. 3, 5
    "target": _target_term,  # w (T - y_rand)^2     eq. 8, 9
}


def make_term(name, weight=1.0, **kwargs):
    """The term registered as ``name`` in :data:`TERMS`, with ``weight``.

    ``"target"`` takes ``values=`` (discrete ``y_rand``) or ``target_range=``
    (uniform ``y_rand``).

    Examples
    --------
    >>> make_term("l1", 1e-6)
    InputL1Penalty(weight=1e-06)
    >>> make_term("target", 1.0, values=[0, 1, 2])
    DiscreteTargetDiversity(weight=1, values=[0, 1, 2])
    """
    try:
        factory = TERMS[name]
    except KeyError:
        raise ValueError(
            f"Unknown objective term {name!r}; valid names: {sorted(TERMS)}."
        ) from None
    return factory(weight, **kwargs)


def _as_term(spec):
    if isinstance(spec, Term):
        return spec
    if isinstance(spec, str):
        return make_term(spec)
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        if len(spec) == 2:
            return make_term(spec[0], spec[1])
        if len(spec) == 3 and isinstance(spec[2], dict):
            return make_term(spec[0], spec[1], **spec[2])
    elif callable(spec):
        return CallableTerm(spec)
    raise TypeError(
        "An objective term must be a Term, a name from skdistill.objectives.TERMS, a "
        "(name, weight) or (name, weight, kwargs) tuple, or a callable "
        f"(t, s, x) -> per-sample loss; got {spec!r}."
    )


def as_objective(spec):
    """An :class:`Objective` from an objective, one term, or a list of terms.

    Parameters
    ----------
    spec : Objective, Term, str, tuple, callable or list of those
        Terms are :class:`Term` instances, names from :data:`TERMS` (weight 1),
        ``(name, weight)`` or ``(name, weight, kwargs)`` tuples, or callables
        ``(t, s, x) -> per-sample loss`` (wrapped in :class:`CallableTerm`). An
        :class:`Objective` is returned as it is.

    Examples
    --------
    >>> as_objective([("logcosh", 1e-6), ("l1", 1e-6),
    ...               ("target", 1.0, {"values": range(10)})])  # doctest: +ELLIPSIS
    Objective([LogCoshDisagreement(weight=1e-06), InputL1Penalty(weight=1e-06), ...])
    """
    if isinstance(spec, Objective):
        return spec
    if isinstance(spec, list):
        return Objective([_as_term(s) for s in spec])
    return Objective([_as_term(spec)])


def standardize_objective(objective, y_loc, y_scale):
    """A copy of ``objective`` whose target values are in standardized units.

    Target-diversity terms given in the teacher's units (``values`` or
    ``target_range``) get ``(y - y_loc) / y_scale``, the units the estimator's
    samplers see; the weights are unchanged. Other terms are copied as they are.
    """
    import copy

    objective = copy.deepcopy(as_objective(objective))
    vector = np.ndim(y_loc) > 0  # one (loc, scale) per output: ranges per output
    for term in objective.terms:
        if isinstance(term, DiscreteTargetDiversity):
            if vector:
                loc = torch.as_tensor(y_loc, dtype=term.values.dtype)
                scale = torch.as_tensor(y_scale, dtype=term.values.dtype)
                term.values = (term.values.reshape(-1, 1) - loc) / scale
            else:
                term.values = (term.values - y_loc) / y_scale
        if isinstance(term, TargetDiversity):
            low, high = term.target_range
            term.target_range = ((low - y_loc) / y_scale, (high - y_loc) / y_scale)
    return objective


def eq8_objective(
    epsilon=1e-6, beta=1e-6, gamma=1.0, values=tuple(range(10)), target_range=None
):
    """Eq. 8: ``-epsilon log cosh(T-S) + beta |x| + gamma (T - y_rand)^2``.

    The paper's objective for images (section 3.5), built from
    :class:`LogCoshDisagreement`, :class:`InputL1Penalty` and
    :class:`DiscreteTargetDiversity` (``y_rand`` drawn from ``values``, the digits
    0-9 by default) or, with ``target_range``, :class:`TargetDiversity`. The
    defaults are the paper's MNIST settings (section 4.3).

    Examples
    --------
    >>> eq8_objective()  # doctest: +NORMALIZE_WHITESPACE
    Objective([LogCoshDisagreement(weight=1e-06), InputL1Penalty(weight=1e-06),
               DiscreteTargetDiversity(weight=1, values=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])])
    """
    if target_range is not None:
        values = None
    return Objective(
        [
            LogCoshDisagreement(epsilon),
            InputL1Penalty(beta),
            _target_term(gamma, values=values, target_range=target_range),
        ]
    )

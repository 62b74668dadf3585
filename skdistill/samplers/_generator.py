"""Adversarial generator (paper section 3.2.2, eq. 2-3; Kang & Kang 2021)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from .._mlp import RMSprop, flatten_parameters
from ..objectives import as_objective
from ._base import Sampler, build_objective_of, check_target_range, register_sampler
from ._gradient import objective_gradient

__all__ = ["GeneratorSampler"]


@register_sampler("generator")
class GeneratorSampler(Sampler):
    """Inputs made by a small network trained against the student.

    A generator ``G``: noise ``z ~ N(0, I)`` of ``noise_dim`` -> ``hidden`` tanh units
    -> one standardized input. It is trained by RMSprop to minimise the batch mean of
    eq. 3, ``-(T(G(z)) - S(G(z)))^2 + beta ||G(z)||^2 + gamma S(G(z))^2`` (the terms
    of eq. 5, built by :func:`~skdistill.objectives.direct_objective`), so that it
    learns to produce inputs where the student is still wrong. Gradients flow through
    the teacher, which must therefore be differentiable.

    The starting points ``x0`` given to :meth:`generate` only set how many samples
    are returned: generated inputs come from fresh noise, not from ``x0``.

    **When the generator learns.** Each call of :meth:`generate` first takes
    ``generator_steps`` RMSprop steps against the current student, each on a fresh
    noise batch of the size of ``x0``, then returns ``G`` applied to new noise. With
    the estimator's ``regenerate="epoch"`` (the default) ``generate`` is called once
    per epoch, which is the paper's protocol (one generator step per epoch). With
    ``regenerate="batch"`` it is called before every student batch, so generator and
    student alternate step for step, as GANs are usually trained: ``batches_per_epoch``
    times more generator steps per epoch, each on a batch of ``batch_size`` (or
    ``2 * batch_size``) noise vectors. The sampler cannot tell epochs apart from
    batches (the estimator does not say), and a step per call is the rule that stays
    meaningful in both modes.

    Parameters
    ----------
    generator_lr : float, default=1e-3
        RMSprop learning rate of the generator's weights.
    generator_steps : int, default=1
        Generator updates per call of :meth:`generate` (see above); 0 freezes the
        generator at its random initialization.
    noise_dim : int, default=50
        Dimension of the generator's Gaussian noise.
    hidden : int, default=500
        Hidden tanh units of the generator.
    weight_decay : float, default=1e-5
        RMSprop weight decay of the generator.
    beta, gamma : float, default=1e-5
        Weights of ``||x||^2`` and ``S(x)^2`` in eq. 3 (standardized units).
    objective : Objective, list of terms, str, tuple or callable, default=None
        What to minimise instead of eq. 3 (see
        :func:`~skdistill.objectives.as_objective`); target values in the
        teacher's units.
    target_range : (float, float) or None, default=None
        Range of the teacher's outputs (its units): the generator then minimises
        eq. 9 instead of eq. 3, as :class:`~skdistill.samplers.DirectSampler` does.
    epsilon : float, default=0.05
        Weight of the disagreement in eq. 9.

    Attributes
    ----------
    generator_ : torch.nn.Sequential
        The generator network of the last fit, in standardized input units.
    n_steps_ : int
        Generator updates taken during the last fit.

    Examples
    --------
    >>> import torch
    >>> from skdistill import DataFreeDistillRegressor
    >>> teacher = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
    ...                               torch.nn.Linear(8, 1))
    >>> est = DataFreeDistillRegressor(teacher, student=(8,), sampler="generator",
    ...                                max_epochs=5, random_state=0).fit()
    >>> est.sampler_.n_steps_
    5
    """

    _parameter_constraints: dict = {
        "generator_lr": [Interval(Real, 0, None, closed="neither")],
        "generator_steps": [Interval(Integral, 0, None, closed="left")],
        "noise_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "objective": [None, list, tuple, str, callable],
        "target_range": [tuple, list, None],
        "epsilon": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(
        self,
        generator_lr=1e-3,
        generator_steps=1,
        noise_dim=50,
        hidden=500,
        weight_decay=1e-5,
        beta=1e-5,
        gamma=1e-5,
        objective=None,
        target_range=None,
        epsilon=0.05,
    ):
        self.generator_lr = generator_lr
        self.generator_steps = generator_steps
        self.noise_dim = noise_dim
        self.hidden = hidden
        self.weight_decay = weight_decay
        self.beta = beta
        self.gamma = gamma
        self.objective = objective
        self.target_range = target_range
        self.epsilon = epsilon

    def _check_params(self):
        check_target_range(self.target_range)
        if self.objective is not None:
            as_objective(self.objective)

    def setup(self, problem):
        if not problem.teacher.differentiable:
            raise ValueError(
                f"sampler='generator' trains a generator through the teacher's "
                f"gradients, but the teacher {problem.teacher!r} is a black box. Use "
                "sampler='random' for this teacher (or a differentiable teacher: a "
                "torch module or a skorch net)."
            )
        discrete = [
            c.name for c in (getattr(problem.space, "columns", None)
                             if problem.space.spec.tabular else None) or ()
            if c.kind in ("integer", "categorical") or (
                c.kind == "empirical" and (c.integer or c.quantiles is None))
        ]
        if discrete:
            raise ValueError(
                "sampler='generator' makes continuous inputs through the teacher's "
                f"gradients; the input spec has integer, discrete or categorical columns "
                f"{discrete}. Use sampler='direct' (which rounds and snaps them) or "
                "'random'."
            )
        device = problem.space.loc.device
        dtype = problem.space.loc.dtype
        # The generator's own stream, seeded from the fit's: initialization and noise
        # are reproducible with random_state and leave torch's global RNG alone.
        seed = int(torch.randint(2**31 - 1, (1,), generator=problem.generator))
        self._noise = torch.Generator().manual_seed(seed)
        d = problem.space.n_features
        net = torch.nn.Sequential(
            torch.nn.Linear(self.noise_dim, self.hidden),
            torch.nn.Tanh(),
            torch.nn.Linear(self.hidden, d),
        ).to(dtype)
        with torch.no_grad():
            # torch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn
            # from the sampler's own stream
            for layer in (net[0], net[2]):
                bound = 1.0 / np.sqrt(layer.in_features)
                for p in (layer.weight, layer.bias):
                    u = torch.rand(p.shape, generator=self._noise, dtype=dtype)
                    p.copy_(u.mul_(2.0 * bound).sub_(bound))
        net = net.to(device).requires_grad_(False)
        # One flat parameter vector and its gradient buffer: the generator is trained
        # by explicit backpropagation and a flat RMSprop (see skdistill._mlp).
        flat, grad, views = flatten_parameters(net)
        self._grads = [views[p] for p in net.parameters()]
        self._flat, self._grad = flat, grad
        self._optimizer = RMSprop(flat, self.generator_lr, weight_decay=self.weight_decay)
        self.generator_ = net
        self._objective = build_objective_of(self, problem)
        self.n_steps_ = 0
        return super().setup(problem)

    def state_dict(self):
        """The generator's weights, its RMSprop moments, its noise stream and step
        count: what resuming needs to draw the same inputs."""
        return {
            "flat": self._flat.clone(),
            "square_avg": self._optimizer.square_avg.clone(),
            "noise": self._noise.get_state(),
            "n_steps": self.n_steps_,
        }

    def load_state_dict(self, state):
        self._flat.copy_(state["flat"])
        self._optimizer.square_avg.copy_(state["square_avg"])
        self._noise.set_state(state["noise"])
        self.n_steps_ = state["n_steps"]

    def _draw_noise(self, n):
        loc = self.problem.space.loc
        noise = torch.randn(n, self.noise_dim, generator=self._noise, dtype=loc.dtype)
        return noise.to(loc.device)

    def _forward(self, noise):
        """``G(noise)`` and its hidden layer, without autograd.

        ``tanh(a)`` is computed as ``2 sigmoid(2 a) - 1``: the same function, two to
        three times faster than ``torch.tanh`` on CPU at these sizes.
        """
        (W1, b1), (W2, b2) = (
            (layer.weight, layer.bias) for layer in self.generator_[::2]
        )
        h = torch.addmm(b1, noise, W1.t(), beta=2.0, alpha=2.0)
        h = torch.sigmoid(h, out=h).mul_(2.0).sub_(1.0)
        return torch.addmm(b2, h, W2.t()), h

    def query_cost(self, n):
        """Teacher rows spent to generate ``n`` labelled samples: one gradient
        evaluation per generator step, then the labels."""
        return (self.generator_steps + 1) * n

    def generate(self, x0):
        """Take the generator's steps, then return ``len(x0)`` generated inputs."""
        n = x0.shape[0]
        for _ in range(self.generator_steps):
            self.step(n)
        x, _ = self._forward(self._draw_noise(n))
        return self.problem.space.project(x).reshape(x0.shape)

    def step(self, n):
        """One RMSprop step of the generator on eq. 3 over ``n`` noise vectors.

        Returns the batch mean of eq. 3 before the step.
        """
        noise = self._draw_noise(n)
        x, h = self._forward(noise)
        z = self.problem.space.project(x)
        begin = getattr(self._objective, "begin", None)
        if begin is not None:  # objectives with their own randomness (eq. 9)
            begin(n, self._noise, self.problem.n_outputs)
        loss, g = objective_gradient(self.problem, self._objective, z, with_loss=True)
        if self.problem.space.bounded:
            g = g.masked_fill_(z != x, 0.0)  # no gradient through clipped coordinates
        gW1, gb1, gW2, gb2 = self._grads
        torch.mm(g.t(), h, out=gW2)
        torch.sum(g, dim=0, out=gb2)
        g_hidden = torch.ops.aten.tanh_backward(g @ self.generator_[2].weight, h)
        torch.mm(g_hidden.t(), noise, out=gW1)
        torch.sum(g_hidden, dim=0, out=gb1)
        self._optimizer.step(self._flat, self._grad)
        self.n_steps_ += 1
        return loss

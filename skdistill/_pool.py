"""The pool regime: every labelled row is kept and replayed.

The paper's loop (:class:`~skdistill._loop.TrainingLoop`, the *stream* regime)
draws fresh rows for every student update, so each teacher answer trains the
student once: fine for a differentiable teacher answered at the cost of a matrix
product, wasteful for a black box whose answers are the costly resource. Here the
teacher is asked in a few *rounds* (``n_rounds``, sizes doubling, planned so that
validation and rounds spend exactly the row budget); every answer joins the pool,
and the student trains on minibatches drawn from the whole pool for as long as it
improves on the validation set. When it stops improving (``patience`` epochs), the
next round is bought; after the last round the learning rate is halved instead
(``n_decays`` times), and when that no longer helps the run ends
(``stop_reason_ == "converged"``).

*Focus* (``focus``, a share of each round after the first): rows drawn around
pool rows where the teacher's answers depart most from their median, chosen with
probability proportional to that departure, moved by Gaussian noise of
``focus_scale`` (standardized units) and put back inside the spec. A spec broader
than the teacher's data puts most of its mass where a fitted model answers with
little variation (an SVR's intercept, a kNN's edge neighbours); the rows where
its answers move are where it was fitted. The choice reads only answers already
bought, so it costs no teacher row, and every focused row is labelled and
trained on like the others; the validation set stays drawn from the spec.

Memory: the pool holds ``budget x (n_features + n_outputs)`` float32 numbers (100,000 rows
of 20 features: 8 MB); checkpoints and ``warm_start`` keep it, so that a resumed
run pays for no row twice.
"""

from __future__ import annotations

import math

import torch

from ._loop import TrainingLoop
from .samplers import Generated

__all__ = ["PoolLoop", "focus_weights", "plan_rounds"]

# Minibatches grow with the pool (see PoolLoop._minibatch)
_ROWS_PER_MINIBATCH_ROW = 1000
_MAX_MINIBATCH = 512
# focus_weights: departures above this quantile count as this quantile
_FOCUS_CAP_QUANTILE = 0.9


def plan_rounds(rows, n_rounds, min_rows=1):
    """Sizes of ``n_rounds`` rounds doubling in size and summing to ``rows``.

    >>> plan_rounds(15_000, 4)
    [1000, 2000, 4000, 8000]
    """
    n_rounds = max(1, min(n_rounds, rows // max(1, min_rows)))
    weights = [2.0**i for i in range(n_rounds)]
    sizes = [int(rows * w / sum(weights)) for w in weights]
    sizes[-1] += rows - sum(sizes)
    return [s for s in sizes if s > 0]


def focus_weights(t):
    """Probabilities of pool rows for focused draws: each row's departure from the
    median answer (the Euclidean norm over outputs of ``t - median``, targets in
    standardized units), capped at the departures' 90th percentile so that a few
    extreme answers do not draw the whole round, then normalized; uniform when
    every answer is the same.

    >>> [round(p, 3) for p in focus_weights(torch.arange(5.0)).tolist()]
    [0.333, 0.167, 0.0, 0.167, 0.333]
    """
    t = t.double().reshape(len(t), -1)
    dev = (t - t.median(dim=0).values).norm(dim=1)
    # kthvalue, not torch.quantile, which refuses tensors of 2**24 elements
    k = max(1, math.ceil(_FOCUS_CAP_QUANTILE * len(dev)))
    dev = torch.minimum(dev, dev.kthvalue(k).values)
    total = dev.sum()
    if not torch.isfinite(total) or total <= 0:
        return torch.full_like(dev, 1.0 / len(dev))
    return dev / total


class PoolLoop(TrainingLoop):
    """:class:`~skdistill._loop.TrainingLoop` on a growing pool of labelled rows.

    Parameters
    ----------
    rows : int
        Teacher rows for the rounds (the budget less the validation labels).
    n_rounds : int
        Rounds of new rows (sizes double from one to the next).
    patience : int
        Epochs without a new best validation RMSE (within the current step of
        the schedule) before the next round is bought, or, after the last round,
        before the learning rate is halved.
    n_decays : int
        Halvings of the learning rate after the last round before the run ends.
    min_steps : int
        Student updates per epoch at least (an epoch is one pass over the pool,
        and at least this many minibatches while the pool is small).
    focus : float
        Share of the plain draws of every round after the first drawn around
        the pool rows where the teacher's answers depart most from their median
        (see the module's docstring); 0 draws them all from the spec.
    focus_scale : float
        Standard deviation of the focused draws around their pool row, in
        standardized units.
    seed : (z, t) tensors, default=None
        Rows labelled before the loop (the user's own rows): the pool starts
        with them, and the rounds add ``rows`` more.

    The minibatch is ``batch_size`` rows, or one row per 1000 of the pool when
    that is more (at most 512).
    **kwargs
        As :class:`~skdistill._loop.TrainingLoop`; ``batch_size`` is the
        minibatch size of the replay.
    """

    def __init__(self, *args, rows, n_rounds=4, patience=5, n_decays=3,
                 min_steps=100, focus=0.0, focus_scale=0.6, seed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.focus, self.focus_scale = focus, focus_scale
        self.rows, self.n_rounds = rows, n_rounds
        self.rounds = plan_rounds(rows, n_rounds, min_rows=self.batch_size)
        self.patience = patience
        self.n_decays = n_decays
        self.min_steps = min_steps
        self.base_lr = self.trainer.lr
        d = self.problem.space.n_features
        device = self.problem.space.loc.device
        self.pool_z = torch.empty(0, d, device=device)
        self.pool_t = torch.empty(0, *self.problem.label_shape, device=device)
        if seed is not None:  # rows labelled before the loop (the user's own)
            self.pool_z = seed[0].to(device, self.pool_z.dtype)
            self.pool_t = seed[1].to(device, self.pool_z.dtype).reshape(
                len(seed[1]), *self.problem.label_shape)
        # schedule state: rounds bought, halvings done in this round, epochs
        # without improvement, best validation RMSE of this step
        self.n_bought, self.decays, self.wait, self.step_best = 0, 0, 0, math.inf

    # ------------------------------------------------------------- planning
    def epoch_cost(self, epoch=None):
        """Teacher rows the next epoch sends: a round's, when it buys one."""
        if not self._buying():
            return 0
        n = self.rounds[self.n_bought]
        n_gen, n_rand = self._round_plan(n)
        return self.sampler.query_cost(n_gen) + n_rand

    def _buying(self):
        if self.n_bought >= len(self.rounds):
            return False
        # a round before the last is followed by the next at the first plateau;
        # the learning rate decays in the last round only
        return (self.n_bought == 0 and len(self.pool_z) == 0) or (
            self.wait >= self.patience)

    def _round_plan(self, n):
        """Generated and random rows of a round of ``n`` teacher rows: half
        generated, or none when half cannot pay for the sampler's smallest call
        (differential evolution's population of 5, at 26 rows each)."""
        if not self.sampler.uses_alpha:
            return 0, n
        cost = self.sampler.query_cost(1000) / 1000.0  # rows per generated sample
        n_gen = int((n / 2) / cost)
        if n_gen < self.sampler.min_generated():
            n_gen = 0
        return n_gen, n - int(round(n_gen * cost))

    # ---------------------------------------------------------------- state
    def _capture(self):
        snap = super()._capture()
        snap["pool"] = {
            "z": self.pool_z,  # replaced on growth, never changed in place
            "t": self.pool_t,
            "schedule": (self.n_bought, self.decays, self.wait, self.step_best),
            "lr": self.trainer.lr,
            "rounds": list(self.rounds),
        }
        return snap

    def _restore(self, snap):
        super()._restore(snap)
        pool = snap["pool"]
        self.pool_z, self.pool_t = pool["z"], pool["t"]
        self.n_bought, self.decays, self.wait, self.step_best = pool["schedule"]
        self.trainer.set_lr(pool["lr"])
        self._replan(pool.get("rounds", self.rounds))

    def _replan(self, rounds):
        """The rounds of a continued run (``warm_start``, a checkpoint): those
        bought stay, and a budget raised since plans new ones for the rows it
        adds (doubling, ``n_rounds`` of them after a finished plan), the first
        bought at the next epoch when the old plan was spent; with the same
        budget the run goes on with its own plan."""
        bought = list(rounds[: self.n_bought])
        rest = self.rows - sum(bought)
        if rest - sum(rounds[self.n_bought :]) < self.batch_size:
            self.rounds = list(rounds)
            return
        finished = self.n_bought >= len(rounds)
        n_new = self.n_rounds if finished else max(1, self.n_rounds - self.n_bought)
        self.rounds = bought + plan_rounds(rest, n_new, min_rows=self.batch_size)
        if finished:
            self.wait = max(self.wait, self.patience)

    def exhausted(self):
        """Whether every round is bought and the schedule has ended: continuing
        the run trains its last epoch again and buys nothing."""
        return self.n_bought >= len(self.rounds) and self.decays >= self.n_decays

    # -------------------------------------------------------------- running
    def _buy(self):
        problem, sampler = self.problem, self.sampler
        n = self.rounds[self.n_bought]
        n_gen, n_rand = self._round_plan(n)
        # the first round has no answers to focus on
        n_focus = int(round(self.focus * n_rand)) if len(self.pool_z) else 0
        draws = problem.space.draw(n_gen + n_rand - n_focus, problem.generator,
                                   self.draws)
        if n_focus:
            draws = torch.cat([draws, self._focused(n_focus)])
        zs, ts = [self.pool_z], [self.pool_t]
        if n_rand:
            z_rand = draws[n_gen:]
            zs.append(z_rand)
            ts.append(problem.teacher.label(z_rand))
        if n_gen:
            g = sampler.generate(draws[:n_gen])
            g = g if isinstance(g, Generated) else Generated(g)
            zs.append(g.x)
            ts.append(g.t if g.t is not None else problem.teacher.label(g.x))
            if g.extra_x is not None:
                zs.append(g.extra_x)
                ts.append(g.extra_t)
        self.pool_z = torch.cat(zs)
        self.pool_t = torch.cat([t.to(self.pool_z.dtype) for t in ts])
        self.n_bought += 1
        self.decays, self.wait, self.step_best = 0, 0, math.inf
        self.trainer.set_lr(self.base_lr)

    def _focused(self, n):
        """``n`` rows around pool rows drawn by :func:`focus_weights`."""
        gen = self.problem.generator
        # drawn on the generator's device (the CPU), then moved to the pool's
        # (inverse CDF rather than torch.multinomial, which caps the categories
        # at 2**24 pool rows)
        cdf = focus_weights(self.pool_t.cpu()).cumsum(0)
        u = torch.rand(n, generator=gen, dtype=cdf.dtype) * cdf[-1]
        idx = torch.searchsorted(cdf, u).clamp_(max=len(cdf) - 1)
        noise = torch.randn(n, self.pool_z.shape[1], generator=gen)
        device, dtype = self.pool_z.device, self.pool_z.dtype
        z = self.pool_z[idx.to(device)] + self.focus_scale * noise.to(device, dtype)
        return self.problem.space.project(z)

    def _minibatch(self, n):
        """Rows per update for a pool of ``n``: ``batch_size``, or one per 1000
        pool rows when more (up to 512): large pools train on smoother gradients
        (measured: cpusmall at 500k rows, fidelity RMSE 0.160 against 0.172 with
        fixed minibatches of 50, in half the time)."""
        m = max(self.batch_size, min(n // _ROWS_PER_MINIBATCH_ROW, _MAX_MINIBATCH))
        return min(m, n)

    def _train_epoch(self, alpha):
        if self._buying():
            self._buy()
        n = len(self.pool_z)
        m = self._minibatch(n)
        steps = max(math.ceil(n / m), self.min_steps)
        gen = self.problem.generator
        order = torch.cat(
            [torch.randperm(n, generator=gen) for _ in range(math.ceil(steps * m / n))]
        ).to(self.pool_z.device)
        weights = torch.full((m,), 1.0 / m, device=self.pool_z.device)
        sq = []  # reduced once per epoch, not once per update
        for b in range(steps):
            idx = order[b * m : (b + 1) * m]
            sq.append(self.trainer.step(self.pool_z[idx], self.pool_t[idx], weights))
        return float("nan"), float(torch.cat(sq).double().mean())

    def run_epoch(self):
        row = super().run_epoch()
        val = row["val_rmse"]
        if val < self.step_best * (1 - 1e-4):
            self.step_best, self.wait = val, 0
        else:
            self.wait += 1
        if self.wait >= self.patience and self.n_bought >= len(self.rounds):
            if self.decays < self.n_decays:
                self.decays += 1
                self.wait = 0
                self.trainer.set_lr(self.trainer.lr * 0.5)
            else:
                self.stop("converged")
        return row

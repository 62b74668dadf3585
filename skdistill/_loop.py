"""The training loop of Algorithm 1, as an object with callbacks.

:class:`TrainingLoop` owns what changes while a student is distilled: the trainer
(student weights, optimizer moments), the sampler, the random stream, the history
and the best student. ``fit`` builds it, and :meth:`TrainingLoop.run` runs epochs
until ``max_epochs`` or until a callback stops it. Everything that watches or stops
a run (model selection, query budget, checkpoints, early stopping, progress, logs)
is a :class:`~skdistill.callbacks.Callback`, called at named points of the loop.

:meth:`TrainingLoop.state_dict` is the one resumable state of a run (``warm_start``
keeps it, checkpoint files hold it); :meth:`TrainingLoop.load_state_dict` restores
it, and the rest of the run is then exactly the uninterrupted one.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from .objectives import mixed_weights, resolve_output_weights
from .samplers import Generated
from .schedules import resolve_alpha
from .teachers import TeacherError

__all__ = ["TrainingLoop", "HISTORY_KEYS", "FORMAT"]

# Version of the state_dict layout (checkpoint files of another version are ignored).
FORMAT = 3
HISTORY_KEYS = (
    "epoch",
    "alpha",
    "loss_generated",
    "loss_random",
    "val_rmse",
    "elapsed",
    "n_teacher_queries",
)


class TrainingLoop:
    """Epochs of Algorithm 1 over one fit's objects.

    Parameters
    ----------
    problem : DistillProblem
        Space, standardized teacher view, student core and random stream.
    sampler : Sampler
        Set up on ``problem``.
    trainer : trainer of ``skdistill._trainer``
        Student updates (eq. 1 and 7).
    alpha : float, str or callable
        The weight of generated samples (eq. 7), see
        :func:`~skdistill.schedules.resolve_alpha`.
    max_epochs, batch_size, batches_per_epoch : int
        ``t_max``, ``m`` and ``n_s`` of Algorithm 1.
    regenerate : {"epoch", "batch"}
        When generated samples are optimised against the student.
    draws : {"random", "sobol", "lhs"}
        How each epoch's draws are made (see ``StandardizedSpace.draw``).
    validation : (Tensor, Tensor)
        Standardized inputs and targets on which every epoch's student is scored.
    constants : dict
        What the run depends on besides its changing state (seeds, target scaling,
        the estimator's fingerprint); stored in :meth:`state_dict` as it is.
    callbacks : list of Callback

    Attributes
    ----------
    epoch : int
        Epochs completed (so the index of the next epoch to run).
    history : dict of lists
        One row per completed epoch, keys :data:`HISTORY_KEYS` (and
        ``val_rmse_0``... ``val_rmse_{k-1}``, each output's validation RMSE, for a
        teacher of k > 1 outputs).
    best : (float, int, object)
        Validation RMSE, epoch and weights of the best student so far (set by the
        selection callback; ``(inf, -1, None)`` before the first epoch).
    stop_reason : str or None
        Why :meth:`run` stopped.
    teacher_error : str or None
        The teacher's message when ``stop_reason == "teacher_error"``.
    """

    def __init__(
        self,
        problem,
        sampler,
        trainer,
        *,
        alpha,
        max_epochs,
        batch_size,
        batches_per_epoch,
        regenerate="epoch",
        draws="random",
        validation,
        constants=None,
        callbacks=(),
    ):
        self.problem = problem
        self.sampler = sampler
        self.trainer = trainer
        self.alpha = alpha
        self._alpha_fn = resolve_alpha(alpha)
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.batches_per_epoch = batches_per_epoch
        self.per_batch = regenerate == "batch"
        self.draws = draws
        self.z_val, self.t_val = validation
        self.constants = dict(constants or {})
        self.callbacks = list(callbacks)
        self.epoch = 0
        self.history = {k: [] for k in HISTORY_KEYS}
        if problem.n_outputs > 1:  # and the validation RMSE of each output
            self.history.update({f"val_rmse_{j}": [] for j in range(problem.n_outputs)})
        self.best = (np.inf, -1, None)
        self.stop_reason = None
        self.teacher_error = None
        self.rows_sent = None
        self._stop = None
        self._t0 = None

    # ----------------------------------------------------------------- reading
    @property
    def teacher(self):
        """The teacher, seen through its
        :class:`~skdistill.teachers.StandardizedTeacher` (``n_queries`` counts
        every row sent)."""
        return self.problem.teacher

    @property
    def n_teacher_queries(self):
        return self.teacher.n_queries

    def alpha_at(self, epoch):
        """``alpha`` of ``epoch`` (eq. 7), checked to lie in [0, 1]."""
        alpha = float(self._alpha_fn(epoch / self.max_epochs))
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1]; the schedule gave {alpha}.")
        return alpha

    def batch_plan(self, alpha):
        """Generated and random samples per batch: ``m`` each, or all ``2 m`` of one
        kind when alpha is 0 or 1 (or the sampler ignores alpha), as in the paper."""
        m = self.batch_size
        if not self.sampler.uses_alpha or alpha == 0.0:
            return 0, 2 * m
        if alpha == 1.0:
            return 2 * m, 0
        return m, m

    def epoch_cost(self, epoch=None):
        """Teacher rows the epoch ``epoch`` (default: the next) will send."""
        epoch = self.epoch if epoch is None else epoch
        n_gen, n_rand = self.batch_plan(self.alpha_at(epoch))
        nb = self.batches_per_epoch
        return self.sampler.query_cost(nb * n_gen) + nb * n_rand

    # ------------------------------------------------------------------ state
    def _capture(self):
        """The changing state at an epoch boundary, copied where it changes in
        place (weights, optimizer moments and random streams are small)."""
        return {
            "epoch": self.epoch,
            "trainer": self.trainer.state_dict(),
            "generator": self.problem.generator.get_state(),
            "sampler": self.sampler.state_dict(),
            "teacher": self.teacher.state_dict(),
            "best": self.best,  # (score, epoch, weights): replaced, never changed
            "n_history": len(self.history["epoch"]),
        }

    def _restore(self, snap):
        self.epoch = snap["epoch"]
        self.trainer.load_state_dict(snap["trainer"])
        self.problem.generator.set_state(snap["generator"])
        self.sampler.load_state_dict(snap["sampler"])
        self.teacher.load_state_dict(snap["teacher"])
        self.best = snap["best"]
        for values in self.history.values():
            del values[snap["n_history"] :]

    def state_dict(self):
        """The resumable state of the run between two epochs: constants, the
        state of every changing object, history, best student, stop reason."""
        snap = self._capture()
        del snap["n_history"]
        return {
            "format": FORMAT,
            **self.constants,
            **snap,
            "history": {k: list(v) for k, v in self.history.items()},
            "stop_reason": self.stop_reason,
        }

    def load_state_dict(self, state):
        """Continue from :meth:`state_dict` (of a loop built with the same
        constants); the next :meth:`run` trains the epochs left."""
        self.history = {k: list(v) for k, v in state["history"].items()}
        self._restore({**state, "n_history": len(self.history["epoch"])})
        self.stop_reason = state.get("stop_reason")

    # ------------------------------------------------------------------ running
    def stop(self, reason):
        """Ask the loop to stop after the current callback hook (``reason``
        becomes ``stop_reason``). Called at ``on_epoch_begin`` the epoch is not
        run."""
        self._stop = reason

    def _notify(self, hook):
        for callback in self.callbacks:
            getattr(callback, hook)(self)

    def run(self):
        """Train until ``max_epochs`` or until a callback stops the run.

        A KeyboardInterrupt, or a :class:`~skdistill.teachers.TeacherError` during
        an epoch, after at least one completed epoch, stops the run with
        ``stop_reason`` ``"interrupted"`` or ``"teacher_error"``; the cut epoch is
        undone (the state is that of its start), so that a resumed run redoes it.
        Before the first completed epoch they propagate. Any exception also undoes
        the cut epoch before ``on_train_end`` sees the loop.
        """
        elapsed = self.history["elapsed"]
        self._t0 = time.perf_counter() - (elapsed[-1] if elapsed else 0.0)
        self._stop, self.stop_reason, self.rows_sent = None, None, None
        self._notify("on_train_begin")
        boundary = None
        try:
            while self.epoch < self.max_epochs:
                boundary = self._capture()
                try:
                    self._notify("on_epoch_begin")
                    if self._stop is not None:
                        break
                    try:
                        self.run_epoch()
                    except TeacherError as exc:
                        if self.best[2] is None:
                            raise TeacherError(f"Epoch {self.epoch}: {exc}") from exc
                        self._undo(boundary)
                        self._teacher_failed(exc)
                        break
                    self._notify("on_epoch_end")
                except KeyboardInterrupt:
                    self._undo(boundary)
                    if self.best[2] is None:
                        raise
                    self._stop = "interrupted"  # Ctrl-C: keep what was learned
                if self._stop is not None:
                    break
            self.stop_reason = self._stop or "max_epochs"
        except BaseException:
            if boundary is not None and self.rows_sent is None:
                self._undo(boundary)
            self.stop_reason = "error"
            self._notify("on_train_end")
            raise
        self._notify("on_train_end")
        if self.rows_sent is None:
            self.rows_sent = self.teacher.n_queries
        return self

    def _undo(self, boundary):
        """Back to the start of the cut epoch; the rows it sent stay counted in
        ``rows_sent`` (they were paid), not in the resumable state."""
        self.rows_sent = self.teacher.n_queries
        self._restore(boundary)

    def _teacher_failed(self, exc):
        epoch = self.epoch
        self.teacher_error = f"Epoch {epoch}: {exc}"
        warnings.warn(
            f"Training stopped at epoch {epoch}: the teacher failed: {exc} The best "
            f"student of the {epoch} epochs run is kept (stop_reason_='teacher_error'"
            "); fit again with warm_start=True (or the same checkpoint) to continue "
            f"from epoch {epoch}.",
            UserWarning,
            stacklevel=5,
        )
        self._stop = "teacher_error"

    def run_epoch(self):
        """One epoch of Algorithm 1 (``n_s`` student updates on eq. 7), then the
        student's validation RMSE; appends the epoch's row to ``history``."""
        alpha = self.alpha_at(self.epoch)
        loss_gen, loss_other = self._train_epoch(alpha)
        val_rmse, per_output = self.validation_rmse()
        row = (
            self.epoch,
            alpha if self.sampler.uses_alpha else 0.0,
            loss_gen,
            loss_other,
            val_rmse,
            time.perf_counter() - self._t0,
            self.teacher.n_queries,
        )
        row = dict(zip(HISTORY_KEYS, row))
        for j, value in enumerate(per_output):
            row[f"val_rmse_{j}"] = value
        for key, value in row.items():
            self.history[key].append(value)
        self.epoch += 1
        return row

    def validation_rmse(self):
        """The student's RMSE to the validation targets in the teacher's units:
        overall (with k outputs, the mean of the outputs' RMSEs weighted by
        ``output_weights``, as ``sklearn.metrics.root_mean_squared_error``
        averages them) and per output (a list of k; empty for one output)."""
        s_val = self.trainer.predict(self.z_val)
        sq = (self.t_val - s_val) ** 2  # eq. 1 per output
        if sq.ndim == 1:
            return float(sq.mean().sqrt()) * self.teacher.y_scale, []
        per_output = (sq.double().mean(dim=0).sqrt().cpu().numpy()
                      * self.teacher.y_scale)
        w = resolve_output_weights(self.problem.output_weights, len(per_output))
        return float(per_output @ w.double().cpu().numpy()), per_output.tolist()

    def _train_epoch(self, alpha):
        """The ``n_s`` updates of one epoch.

        With ``regenerate="batch"`` the generated samples of each batch are optimised
        against the student as it is just before that batch (Algorithm 1 to the
        letter). Otherwise the epoch's generated samples are optimised together
        against the student at the start of the epoch, and labelled with the random
        samples in one teacher call: ``n_s`` times fewer, larger tensor operations
        (and teacher calls) for a student that moves very little within an epoch.

        Samplers that already know labels (differential evolution) are not asked
        twice, and the other samples they had labelled (``Generated.extra_x``) are
        spread over the epoch's batches with the random samples: every answer
        trains the student.

        Returns the mean student loss (eq. 1) on generated and on other samples.
        """
        problem, sampler, trainer = self.problem, self.sampler, self.trainer
        space, label = problem.space, problem.teacher.label
        nb = self.batches_per_epoch
        n_gen, n_rand = self.batch_plan(alpha)
        d = space.n_features
        tail = problem.label_shape
        draws = space.draw(nb * (n_gen + n_rand), problem.generator, self.draws)
        z_start = draws[: nb * n_gen]
        z_rand = draws[nb * n_gen :]

        if self.per_batch and n_gen:
            t_rand = label(z_rand).view(nb, n_rand, *tail) if n_rand else None
            z_rand = z_rand.view(nb, n_rand, d)
            sq = []
            for b in range(nb):
                g = _as_generated(sampler.generate(z_start[b * n_gen : (b + 1) * n_gen]))
                t_gen = g.t if g.t is not None else label(g.x)
                z_other = [z_rand[b]] if n_rand else []
                t_other = [t_rand[b]] if n_rand else []
                if g.extra_x is not None:
                    z_other.append(g.extra_x)
                    t_other.append(g.extra_t)
                sq.append(_step(trainer, alpha, g.x, t_gen, z_other, t_other))
            return _mean_losses(sq)

        g = _as_generated(sampler.generate(z_start)) if n_gen else Generated(z_start)
        if g.t is None and g.extra_x is None:
            # the common case: label generated and random samples in one teacher call
            z_all = torch.cat([g.x.view(nb, n_gen, d), z_rand.view(nb, n_rand, d)], 1)
            t_all = label(z_all.view(nb * (n_gen + n_rand), d))
            t_all = t_all.view(nb, n_gen + n_rand, *tail)
            weights = mixed_weights(n_gen, n_rand, alpha, space.loc.device)
            sq = [(trainer.step(z_all[b], t_all[b], weights), n_gen) for b in range(nb)]
            return _mean_losses(sq)
        t_rand = label(z_rand) if n_rand else z_rand[:, 0]
        z_gen, t_gen = g.x.view(nb, n_gen, d), g.t.view(nb, n_gen, *tail)
        z_rand, t_rand = z_rand.view(nb, n_rand, d), t_rand.view(nb, n_rand, *tail)
        extra_z = g.extra_x.tensor_split(nb) if g.extra_x is not None else [None] * nb
        extra_t = g.extra_t.tensor_split(nb) if g.extra_x is not None else [None] * nb
        sq = []
        for b in range(nb):
            z_other = [z_rand[b]] + ([extra_z[b]] if extra_z[b] is not None else [])
            t_other = [t_rand[b]] + ([extra_t[b]] if extra_t[b] is not None else [])
            sq.append(_step(trainer, alpha, z_gen[b], t_gen[b], z_other, t_other))
        return _mean_losses(sq)


def _as_generated(out):
    return out if isinstance(out, Generated) else Generated(out)


def _step(trainer, alpha, z_gen, t_gen, z_other, t_other):
    """One student update on generated rows and other (random, extra) rows; the
    squared errors and the number of generated rows among them."""
    n_other = sum(len(z) for z in z_other)
    z = torch.cat([z_gen, *z_other])
    t = torch.cat([t_gen, *t_other])
    weights = mixed_weights(len(z_gen), n_other, alpha, z.device)
    return trainer.step(z, t, weights), len(z_gen)


def _mean_losses(sq_losses):
    """Mean eq. 1 loss of generated rows and of the other rows over an epoch."""
    gen = torch.cat([s[:k] for s, k in sq_losses])
    other = torch.cat([s[k:] for s, k in sq_losses])
    loss_gen = float(gen.mean()) if len(gen) else float("nan")
    loss_other = float(other.mean()) if len(other) else float("nan")
    return loss_gen, loss_other

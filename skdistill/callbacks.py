"""Callbacks: what watches or stops a distillation run.

A callback is an object with four hooks, each called with the
:class:`~skdistill._loop.TrainingLoop` of the fit (as skorch's callbacks are):

- ``on_train_begin(loop)``: once, before the first epoch of this ``fit`` call
  (``loop.epoch`` is above 0 when the fit continues a stopped run);
- ``on_epoch_begin(loop)``: before each epoch; ``loop.epoch`` is the index of the
  epoch about to run;
- ``on_epoch_end(loop)``: after each completed epoch; ``loop.epoch`` counts the
  completed epochs and ``loop.history`` holds their rows (``epoch``, ``alpha``,
  ``loss_generated``, ``loss_random``, ``val_rmse``, ``elapsed``,
  ``n_teacher_queries``, and ``val_rmse_0``... per output of a multi-output
  teacher; the last entry of each list is this epoch's);
- ``on_train_end(loop)``: once, when the run stops, also when ``fit`` raises
  (``loop.stop_reason == "error"``; the cut epoch is undone first).

A callback reads the loop (``epoch``, ``max_epochs``, ``history``, ``best`` as
``(val_rmse, epoch, weights)``, ``n_teacher_queries``, ``epoch_cost()``,
``state_dict()``) and stops it with ``loop.stop(reason)``: ``reason`` becomes the
estimator's ``stop_reason_``; asked at ``on_epoch_begin``, the epoch is not run.
It must not change the trainer, the sampler or the random streams, or a resumed run
would differ from the uninterrupted one.

Give callbacks to the estimator with ``callbacks=[...]``. ``fit`` works on copies
(:func:`copy.deepcopy`), so one list can serve many fits; the copies used are the
fitted ``callbacks_``. The estimator adds its own, in this order: best-student
selection (always first), then the user's callbacks, then :class:`Checkpoint`
(``checkpoint=``), :class:`QueryBudget` (``max_teacher_queries=``) and
:class:`ProgressBar` (``verbose=1``).

Examples
--------
>>> import torch
>>> from skdistill import DataFreeDistillRegressor
>>> from skdistill.callbacks import Callback, EarlyStopping
>>> class PrintEvery(Callback):
...     def __init__(self, every=10):
...         self.every = every
...     def on_epoch_end(self, loop):
...         if loop.epoch % self.every == 0:
...             print(loop.epoch, round(loop.history["val_rmse"][-1], 3))
>>> teacher = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
...                               torch.nn.Linear(8, 1))
>>> est = DataFreeDistillRegressor(teacher, student=(8,), max_epochs=400,
...                                callbacks=[EarlyStopping(patience=5)],
...                                random_state=0).fit()
>>> est.stop_reason_ in ("early_stopping", "max_epochs")
True
"""

from __future__ import annotations

import csv
import math
import numbers
import os

__all__ = [
    "Callback",
    "EarlyStopping",
    "CSVLogger",
    "QueryBudget",
    "Checkpoint",
    "ProgressBar",
    "BestStudent",
]


class Callback:
    """Base class of callbacks: every hook does nothing; override those you need.

    See :mod:`skdistill.callbacks` for the contract.
    """

    def on_train_begin(self, loop):
        """Called once before the first epoch of a ``fit`` call."""

    def on_epoch_begin(self, loop):
        """Called before each epoch (``loop.epoch``: its index)."""

    def on_epoch_end(self, loop):
        """Called after each completed epoch (its row is last in ``loop.history``)."""

    def on_train_end(self, loop):
        """Called once when the run stops (``loop.stop_reason`` says why)."""

    def __repr__(self):
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_")
        )
        return f"{type(self).__name__}({params})"


class BestStudent(Callback):
    """Keep the student with the lowest validation RMSE (the estimator's model
    selection, on the synthetic validation set or on ``validation_data``).

    The estimator adds it first, so that other callbacks see ``loop.best`` of the
    epoch that just ended; the fitted student is the best one.
    """

    def on_epoch_end(self, loop):
        val = loop.history["val_rmse"][-1]
        if val < loop.best[0]:
            loop.best = (val, loop.epoch - 1, loop.trainer.snapshot())


class EarlyStopping(Callback):
    """Stop when the validation RMSE has not improved for ``patience`` epochs.

    The estimator always ends with the best student seen (``best_epoch_``), so
    stopping early restores the best student, not the last one.

    Parameters
    ----------
    patience : int, default=50
        Epochs without improvement before the run stops (``stop_reason_`` is
        ``"early_stopping"``).
    min_delta : float, default=0.0
        An epoch improves when its validation RMSE is below the best so far by more
        than ``min_delta`` (in the teacher's units) times ``max(1, best)`` when
        ``relative``, else by more than ``min_delta``.
    relative : bool, default=False
        Whether ``min_delta`` is a share of the best RMSE.
    monitor : str, default="val_rmse"
        History column to watch (lower is better).

    Attributes
    ----------
    stopped_epoch_ : int or None
        The last epoch run before stopping, when the callback stopped the run.
    """

    def __init__(self, patience=50, min_delta=0.0, relative=False, monitor="val_rmse"):
        self.patience = patience
        self.min_delta = min_delta
        self.relative = relative
        self.monitor = monitor

    def on_train_begin(self, loop):
        patience, min_delta = self.patience, self.min_delta
        if not (
            isinstance(patience, numbers.Integral)
            and not isinstance(patience, bool)
            and patience >= 1
        ):
            raise ValueError(
                f"EarlyStopping patience must be an integer >= 1, got {patience!r}."
            )
        if not (
            isinstance(min_delta, numbers.Real)
            and not isinstance(min_delta, bool)
            and math.isfinite(min_delta)
            and min_delta >= 0
        ):
            raise ValueError(
                f"EarlyStopping min_delta must be a number >= 0, got {min_delta!r}."
            )
        if self.monitor not in loop.history:
            raise ValueError(
                f"EarlyStopping monitor={self.monitor!r} is not a history column; "
                f"choose one of {sorted(loop.history)}."
            )
        # rebuilt from the history, so that a resumed run stops where the
        # uninterrupted one does
        self._best, self._wait = math.inf, 0
        self.stopped_epoch_ = None
        for value in loop.history[self.monitor]:
            self._update(value)

    def _update(self, value):
        margin = self.min_delta * (max(1.0, self._best) if self.relative else 1.0)
        if value < self._best - margin or self._best == math.inf:
            self._best, self._wait = value, 0
        else:
            self._wait += 1

    def on_epoch_end(self, loop):
        self._update(loop.history[self.monitor][-1])
        if self._wait >= self.patience:
            self.stopped_epoch_ = loop.epoch - 1
            loop.stop("early_stopping")


class CSVLogger(Callback):
    """Write each epoch's history row to a CSV file (one line per epoch).

    Parameters
    ----------
    path : str or path
        The file. A fit that starts afresh writes it anew with a header line; a
        fit that continues a run (``warm_start``, ``checkpoint``) appends to it.
    flush_every : int, default=1
        Epochs between writes to disk (the file is closed at the end of the run).
    """

    def __init__(self, path, flush_every=1):
        self.path = path
        self.flush_every = flush_every

    def on_train_begin(self, loop):
        self._columns = list(loop.history)
        append = loop.epoch > 0 and os.path.exists(self.path)
        self._file = open(self.path, "a" if append else "w", newline="")
        self._writer = csv.writer(self._file)
        if not append:
            self._writer.writerow(self._columns)

    def on_epoch_end(self, loop):
        self._writer.writerow([loop.history[k][-1] for k in self._columns])
        if loop.epoch % self.flush_every == 0:
            self._file.flush()

    def on_train_end(self, loop):
        self._file.close()

    def __getstate__(self):  # a fitted logger pickles without its closed file
        return {k: v for k, v in vars(self).items() if k not in ("_file", "_writer")}


class QueryBudget(Callback):
    """Stop before an epoch that would send the teacher more than ``max_queries``
    rows in all (the validation labels included); ``stop_reason_`` is
    ``"max_teacher_queries"``. Added by ``max_teacher_queries=``."""

    def __init__(self, max_queries):
        self.max_queries = max_queries

    def on_epoch_begin(self, loop):
        cost = loop.epoch_cost()
        if loop.n_teacher_queries + cost <= self.max_queries:
            return
        if loop.epoch == 0:
            raise ValueError(
                f"max_teacher_queries={self.max_queries} is too small: the "
                f"validation set took {loop.n_teacher_queries} rows and one "
                f"epoch needs {cost}."
            )
        loop.stop("max_teacher_queries")


class Checkpoint(Callback):
    """Save the run's resumable state (:meth:`TrainingLoop.state_dict`) to ``path``
    every ``every`` epochs (at the start of the epoch) and when the run stops, also
    on an error (the state of the start of the cut epoch). Added by
    ``checkpoint=``; see the estimator's ``checkpoint`` parameter.

    Parameters
    ----------
    path : str or path
    every : int, default=50
    skip_epoch : int or None
        An epoch whose state the file already holds (the one a run resumed from).
    """

    def __init__(self, path, every=50, skip_epoch=None):
        self.path = path
        self.every = every
        self.skip_epoch = skip_epoch

    def _save(self, loop, quiet=False):
        from ._resume import save_checkpoint

        if loop.epoch == self.skip_epoch:
            return
        try:
            save_checkpoint(self.path, loop.state_dict())
        except Exception:
            if not quiet:
                raise
            return  # pragma: no cover - keep the original error
        self.skip_epoch = loop.epoch

    def on_epoch_begin(self, loop):
        if loop.epoch % self.every == 0:
            self._save(loop)

    def on_train_end(self, loop):
        self._save(loop, quiet=loop.stop_reason == "error")


class ProgressBar(Callback):
    """A tqdm progress bar with epoch, loss and validation RMSE (``verbose=1``)."""

    def on_train_begin(self, loop):
        from tqdm.auto import tqdm

        total = loop.max_epochs
        self._bar = tqdm(
            total=total,
            initial=min(loop.epoch, total),
            desc="distilling",
            unit="epoch",
            mininterval=0.5,
        )

    def on_epoch_end(self, loop):
        h = loop.history
        losses = [h["loss_generated"][-1], h["loss_random"][-1]]
        loss = sum(v for v in losses if v == v)  # NaN: no such samples
        self._bar.update(1)
        self._bar.set_postfix(
            loss=f"{loss:.4g}", val_rmse=f"{h['val_rmse'][-1]:.4g}", refresh=False
        )

    def on_train_end(self, loop):
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.close()
            self._bar = None

    def __getstate__(self):
        return {k: v for k, v in vars(self).items() if k != "_bar"}

"""The estimator: parameters, validation, Algorithm 1's training loop, predict."""

from __future__ import annotations

import copy
import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _resume
from . import columns as _columns
from ._loop import TrainingLoop
from ._pool import PoolLoop
from ._teacher_inputs import NoInputSpecWarning, teacher_spec, with_teacher_levels
from ._trainer import make_trainer
from .callbacks import BestStudent, Callback, Checkpoint, ProgressBar, QueryBudget
from .inputs import InputSpec, StandardizedSpace, _image_rows
from .objectives import check_output_weights
from .samplers import DirectSampler, DistillProblem, Sampler, resolve_sampler
from .students import ScaledStudent, as_outputs, check_student_outputs, stack_students
from .students_cnn import build_image_student
from .teachers import SklearnTeacher, StandardizedTeacher, TeacherError, as_teacher
from .teachers._frame import fitted_names, frame_teacher
from .teachers._leaves import leaf_cells_or_none, teacher_leaves

__all__ = ["DataFreeDistillRegressor"]

_INT32_MAX = np.iinfo(np.int32).max
# lr="auto": the paper's 1e-3, scaled up by sqrt(_POOL_LR_ROWS / budget) for pool
# budgets (validation included) below _POOL_LR_ROWS, at most by sqrt(5) (the factor
# at 20k rows). Measured on the blackbox bench (12 teacher x dataset pairs, 3
# seeds): at 20k rows the larger step lowered the fidelity RMSE in 9 of 12 pairs
# (kNN on compactiv 0.323 -> 0.252) and raised it by at most 3.5% in the others; at
# 100k rows 3e-3 was worse for both tree teachers on cpusmall (HGB 0.138 -> 0.159),
# so 1e-3 stays there.
_BASE_LR = 1e-3
_POOL_LR_ROWS = 100_000
_POOL_LR_MAX_FACTOR = 5**0.5
# Teacher rows of the pool regime when max_teacher_queries is not set.
_POOL_DEFAULT_ROWS = 100_000
# pool_focus="auto": half of each later round's plain draws focused (see _pool),
# none for draws from leaves or of tabular specs (see _resolve_focus)
_POOL_FOCUS = 0.5
# fit(X) with label_rows: the draws of the pool's rounds (see draws): measured on
# the black-box bench (rows spec, 20k rows, seed 0), half around the rows and half
# from their data sheet was closer to the teacher than MUNGE alone in 14 of 20
# pairs (3 ties) and than sheet draws alone in 10 (4 ties)
_ROWS_DRAWS = "mix"
_AROUND_ROWS = ("munge", "mix")  # the draws that need the user's rows
# ... and at most this share of the budget goes to labelling them, the rest to
# the rounds' draws: measured on the tabular bench (diamonds, 43k rows, 20k
# teacher rows, seed 0), fidelity 253 / 346 / 256 USD for ohe-hgb / ohe-rf /
# hgb-cat against 339 / 431 / 374 when the whole budget labelled rows (a
# quarter: 338 and 260 for the last two); selecting the student on held-out
# rows instead of sheet draws was no better once the rounds' draws are in
_ROWS_MAX_SHARE = 0.5
# ... and its epochs make 200 updates at least (100 on spec draws): measured on the
# black-box bench (rows spec, 20k rows, seed 0), cpusmall kNN / HGB / RF fidelity
# 0.119 / 0.087 / 0.066 against 0.125 / 0.089 / 0.065 with 100, at 1.0-1.15 x the
# by-hand wall time; doubling the patience and the halvings as well reached
# 0.109 / 0.081 / 0.066 but in 2.2-2.6 x its wall time (the target is 2 x)
_ROWS_MIN_STEPS = 200

# Estimator parameters that belong to the sampler: estimator name -> sampler name.
# Their defaults are DirectSampler's. They are forwarded to a sampler given by name
# or class (those it takes; the others are unused, as beta is by "random"); with a
# sampler instance, a value other than the default is an error (see resolve_sampler).
_SAMPLER_PARAMS = {
    "beta": "beta",
    "gamma": "gamma",
    "direct_lr": "lr",
    "direct_steps": "steps",
    "optimizer": "optimizer",
    "target_range": "target_range",
    "epsilon": "epsilon",
    "objective": "objective",
    "de_strategy": "de_strategy",
    "de_maxiter": "de_maxiter",
    "de_popsize": "de_popsize",
    "de_radius": "de_radius",
    "de_workers": "de_workers",
}


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _forwarded_constraints():
    """The constraints of forwarded parameters, read from the sampler that owns
    them (declared once there)."""
    own = DirectSampler._parameter_constraints
    return {key: own[name] for key, name in _SAMPLER_PARAMS.items()}


class _Setup:
    """What a fit's loop starts from (see ``_build_setup``): seeds (data,
    student), selection set, the user's labelled rows, rows spent before it."""

    seed = None  # (z, t) of the user's labelled rows, or None
    fingerprint = None


class DataFreeDistillRegressor(RegressorMixin, BaseEstimator):
    """Distil a fitted regression model into a small neural network, with no data.

    The student is trained only on synthetic inputs labelled by the teacher
    (Zhou & Chiam, Algorithm 1). Each batch mixes ``batch_size`` *generated* inputs,
    produced by the sampler from random draws of the input spec, and ``batch_size``
    plain random draws, weighted by ``alpha`` (eq. 7). With the ``"direct"`` sampler
    the generated inputs are random draws pushed by a few gradient steps towards
    where teacher and student disagree most (Algorithm 2, eq. 5).

    Inputs and targets are standardized internally (from the input spec and from the
    teacher's outputs on the validation draws), so teachers trained on raw data
    distil as well as teachers trained on standardized data.

    Parameters
    ----------
    teacher : object
        The model to distil: a ``torch.nn.Module`` (differentiable), a fitted skorch
        ``NeuralNetRegressor`` (differentiable), a fitted scikit-learn regressor or
        Pipeline, or a callable ``X -> y`` (black boxes). It is never modified.
        Teachers with k outputs (predictions of shape (n, k)) give a student
        with k outputs (see ``outputs`` and ``output_weights``).
    student : tuple of int, nn.Module class or instance, or skorch net, default=(50,)
        The network to train: hidden-layer sizes of a tanh MLP (the paper's choice), a
        module class or instance (copied, re-initialized), or an unfitted skorch
        ``NeuralNetRegressor`` whose ``module`` is used. With an image input spec
        also ``"cnn"``/``"cnn:F"``, the paper's CNN with ``F`` filters (Table 2,
        :class:`~skdistill.students_cnn.PaperCNN`); convolutional modules (and torch
        teachers) receive images ``(n, C, H, W)``.
    sampler : str or Sampler, default="auto"
        How generated inputs are made: ``"random"`` (plain draws), ``"direct"``
        (gradient steps on eq. 5 for differentiable teachers, differential
        evolution for black boxes), ``"generator"``, or a
        :class:`~skdistill.samplers.Sampler` subclass or instance. ``"auto"``:
        ``"direct"`` for differentiable teachers (the paper's method), ``"random"``
        for black boxes (with ``regime="auto"``, the pool of replayed answers:
        on the black-box benchmark this was more consistent than differential
        evolution, and at parity with a hand-written ``MLPRegressor`` baseline at
        equal teacher rows).
    alpha : float, {"decreasing", "increasing"} or callable, default="decreasing"
        Weight of generated samples in the student loss (eq. 7). ``"decreasing"`` is
        the paper's ``1 - epoch / max_epochs``; a callable receives the training
        progress in [0, 1). With alpha 0 (or 1) only random (or generated) samples
        are used, ``2 * batch_size`` of them, as in the paper. Ignored by
        ``sampler="random"``.

    **Sampler parameters.** ``beta``, ``gamma``, ``direct_lr``, ``direct_steps``,
    ``optimizer``, ``target_range``, ``epsilon``, ``objective`` and the ``de_*``
    parameters belong to the sampler (their defaults are those of
    :class:`~skdistill.samplers.DirectSampler`). They are forwarded to a sampler
    named by ``sampler`` (a string or a class), each to the samplers that take
    it (the generator takes ``beta``, ``gamma``, ``objective``, ``target_range``
    and ``epsilon``; the random sampler none, as it ignores ``alpha``). A sampler
    *instance* keeps its own parameters, and setting any of these here to another
    value than its default is an error, so that nothing is silently ignored: tune
    them as ``sampler__beta`` (``set_params``, ``GridSearchCV``) instead.

    beta : float, default=1e-5
        Weight of ``||x||^2`` in eq. 5 (inputs in standardized units).
    gamma : float, default=1e-5
        Weight of ``S(x)^2`` in eq. 5 (student output in standardized units).
    max_epochs : int, default=2000
        Training epochs (``t_max``).
    batches_per_epoch : int, default=10
        Batches per epoch (``n_s``).
    batch_size : int, default=50
        Samples per half-batch (``m``): ``m`` generated plus ``m`` random.
    lr : float or "auto", default="auto"
        Learning rate of the student (RMSprop in the stream regime, Adam in the
        pool). ``"auto"``: 1e-3 in the stream regime (the paper's); in the pool
        regime, 1e-3 from a budget of 100,000 teacher rows upward and ``1e-3 *
        sqrt(100000 / max_teacher_queries)`` below, at most ``1e-3 * sqrt(5)``
        (reached at 20,000 rows): a small pool settles better with larger steps
        (the black-box benchmark's measurements: see the black-box guide).
    weight_decay : float, default=1e-5
        RMSprop weight decay of the student.
    loss : {"squared", "logcosh"}, default="squared"
        Per-sample student loss: squared error (eq. 1) or ``log cosh(T - S)``, which
        the paper uses for its CNN on MNIST (section 3.5). ``history_`` reports
        squared errors either way.
    output_weights : array-like of shape (n_outputs,), default=None
        For a teacher of k outputs (predictions of shape (n, k)): the weight of
        each output in the student loss (eq. 1 and 7, on targets standardized
        output by output), in the disagreement terms of the sampler's objective
        (eq. 3, 5, 9, which differential evolution minimises too) and in the
        validation RMSE that selects the best student. Normalised to sum 1;
        ``None``: every output weighs the same.
    outputs : {"joint", "separate"}, default="joint"
        For a teacher of k outputs: ``"joint"`` distils them into one student with
        k outputs; ``"separate"`` into k students of one output each (as
        :class:`~sklearn.multioutput.MultiOutputRegressor` would), kept in
        ``estimators_``, each fitted with every parameter of this estimator and
        its own teacher rows. One joint student costs one student's teacher rows
        and is k times smaller for the same hidden sizes; separate students give
        each output the whole width (see the multi-output guide).
    direct_lr : float, default=0.1
        RMSprop step size on the inputs for ``sampler="direct"``.
    direct_steps : int, default=2
        Optimisation steps on the inputs for ``sampler="direct"`` (``tau_max``).
    regenerate : {"epoch", "batch"}, default="epoch"
        When generated samples are re-optimised against the current student:
        ``"batch"`` before every batch, as Algorithm 1 is written; ``"epoch"`` once per
        epoch for all its batches, against the student at the start of the epoch. The
        student moves little within an epoch (``batches_per_epoch`` small RMSprop
        steps), and ``"epoch"`` is several times faster: far fewer, larger tensor
        operations, and ``batches_per_epoch`` times fewer teacher calls.
    optimizer : {"auto", "gradient", "de"}, default="auto"
        How ``sampler="direct"`` optimises: gradient steps when the teacher is
        differentiable, differential evolution otherwise (``"auto"``), or forced.
    target_range : (float, float), default=None
        Range of the teacher's outputs, in its units. When given, direct optimisation
        minimises eq. 9, ``-epsilon (T-S)^2 + (1-epsilon) (T - y_rand)^2`` with
        ``y_rand`` uniform on the range, which spreads the teacher's answers on
        generated inputs (the paper's protein case uses ``(0, 1)``); otherwise eq. 5
        (the generator sampler takes it too, for eq. 3).
    epsilon : float, default=0.05
        Weight of the disagreement term in eq. 9.
    objective : Objective, list of terms, str, tuple or callable, default=None
        What direct optimisation (and the generator) minimises instead of eq. 5/9;
        ``beta``, ``gamma``, ``target_range`` and ``epsilon`` are then unused. Terms
        are :class:`~skdistill.objectives.Term` instances, names or ``(name, weight)``
        pairs from :data:`~skdistill.objectives.TERMS`, or callables
        ``(t, s, x) -> per-sample loss`` (see
        :func:`~skdistill.objectives.as_objective`). They see standardized units;
        target values of diversity terms (``values``, ``target_range``) are given in
        the teacher's units and converted, here as on a sampler instance. E.g. the paper's eq. 8 for digits:
        ``objective=eq8_objective(epsilon=1e-6, beta=1e-6, gamma=1.0,
        values=range(10))``.
    de_strategy : str, default="best2bin"
        Differential evolution strategy, one of the names of
        :func:`scipy.optimize.differential_evolution` (``"best1bin"``,
        ``"rand1exp"``, ...).
    de_maxiter : int, default=25
        Differential evolution generations per run; each costs one teacher call.
    de_popsize : int, default=None
        Members per differential evolution run; ``None`` evolves all the start points
        of a batch (or of an epoch, with ``regenerate="epoch"``) as one population.
    de_radius : float, default=None
        Trust region of differential evolution, in standardized input units: each
        member stays within this distance (per feature) of its random start point.
        ``None``: the whole box of the input spec, as in the paper.
    de_workers : int, map-like callable or None, default=None
        Spread each differential evolution generation's teacher call over workers,
        for slow black-box teachers: the rows are split into chunks, labelled in
        parallel and put back in order, so the student is the same as with ``None``
        and ``n_teacher_queries_`` counts the same rows. An int ``n``: ``n`` threads
        (:class:`concurrent.futures.ThreadPoolExecutor`), which suit teachers that
        wait, such as prediction services over HTTP. A callable
        ``workers(func, iterable)`` returning results in order, as :func:`map`
        does: ``multiprocessing.Pool(4).map``, or for a dask cluster
        ``lambda f, xs: client.gather(client.map(f, list(xs), pure=False))``; the
        teacher is then pickled to the workers. Kept by reference by
        :func:`~sklearn.base.clone`.
        See :class:`~skdistill.samplers.DifferentialEvolution`.
    regime : {"auto", "stream", "pool"}, default="auto"
        How teacher answers train the student. ``"stream"`` is the paper's
        Algorithm 1: fresh rows for every update, each answer used once.
        ``"pool"`` (for black boxes, whose answers are the costly resource) asks
        the teacher in ``pool_rounds`` rounds of doubling size that spend exactly
        ``max_teacher_queries`` (100,000 rows when it is None), keeps every answer
        and trains (with Adam, not the paper's RMSprop) on minibatches of
        ``batch_size`` replayed from the whole pool,
        buying the next round when the validation RMSE stalls for
        ``pool_patience`` epochs; after the last round it halves ``lr`` three
        times on plateaus, then ends with ``stop_reason_ == "converged"``
        (``max_epochs`` caps the epochs, each one pass over the pool). With a sampler other than
        ``"random"``, half of each round's rows are the sampler's. ``"auto"``
        (default): ``"pool"`` for black-box teachers, after ``fit(X)`` and on
        specs of columns (data sheets, DataFrames); ``"stream"`` for
        differentiable teachers on the other specs. The paper's protocol is ``regime="stream"`` (with
        ``sampler="direct"`` on a black box: differential evolution, section 3.6).
        See :mod:`skdistill._pool`.
    pool_rounds : int, default=4
        Rounds of new teacher rows in the pool regime.
    pool_patience : int, default=5
        Epochs without improvement before the pool regime buys the next round
        (or, after the last, halves ``lr``).
    pool_focus : float in [0, 1] or "auto", default="auto"
        Share of the plain draws of every pool round after the first that are
        drawn around rows already labelled, where the teacher's answers depart
        most from their median (probability proportional to the departure,
        Gaussian steps of ``0.6`` standard deviations per feature, put back
        inside the spec): the choice reads answers already bought, so it costs
        no teacher row. It helps when the spec is broader than the teacher's
        data, which puts most draws where a fitted model answers with little
        variation. ``"auto"`` is ``0.5``, or ``0`` when the rows are drawn from
        a tree's leaves (``draws_ == "leaves"``) and for tabular specs (a
        DataFrame's columns, where it was worse on the tabular benchmark); ``0``
        draws every row from the spec.
        The validation set is drawn from the spec either way. See
        :mod:`skdistill._pool` and the black-box guide for the figures.
    draws : {"auto", "random", "sobol", "lhs", "leaves", "munge", "mix"}, default="auto"
        How the training rows are drawn from the input spec: ``"random"``,
        independent draws; ``"sobol"``, ``"lhs"``, space-filling points of
        :mod:`scipy.stats.qmc` (scrambled Sobol, Latin hypercube) mapped through
        the spec the same way (inverse normal CDF for Gaussian features); the
        validation set is drawn at random for these. ``"leaves"`` (a grey box,
        for scikit-learn trees, forests and gradient boosting): a leaf of the
        teacher drawn by its share of the teacher's training rows, then the spec
        restricted to the leaf's box, so that rows go where the teacher was
        fitted rather than where the spec alone puts its mass; the validation set
        is drawn the same way, and the spec must have independent numeric
        features. ``"munge"``: around the rows of ``fit``'s ``X`` (MUNGE,
        Bucila, Caruana and Niculescu-Mizil, 2006: each column of a row, with
        probability 0.5, moved to its nearest neighbour's value, numbers with a
        Gaussian spread of a tenth of their distance); ``"mix"``: half so, half
        random draws of the spec; both need ``X`` and ``label_rows``. ``"auto"``
        is ``"mix"`` when ``fit`` labels rows,
        ``"leaves"`` where it applies, ``"random"`` elsewhere (``draws_`` tells
        which); see the black-box guide for the figures.
    max_teacher_queries : int, default=None
        Budget of rows sent to the teacher, validation labels included. Training
        stops before an epoch that would exceed it, keeping the best student so far;
        ``stop_reason_`` says so.
    n_validation : int, default=1000
        Size of the validation set on which the best student is selected: draws
        of the input spec (for ``fit(X)``, of the rows' data sheet) labelled by
        the teacher, counted in ``max_teacher_queries``. Not the rows of ``X``
        themselves: when they are the teacher's own training rows, a teacher
        that memorized them (an SVR, a kNN) answers there as it does nowhere
        else (see the input guide). ``validation_data`` replaces them.
    label_rows : bool, default=True
        What ``fit(X)`` does with the rows ``X``: ``True`` sends them to the
        teacher (counted in ``max_teacher_queries``; at most half of it, a
        random subset of larger samples), trains on them and draws the rest of
        the budget around them and from the data sheet they give
        (``draws="mix"``); the student is selected on ``n_validation`` labelled
        draws of the sheet (or ``validation_data``); ``False`` only describes them
        (:meth:`InputSpec.from_data`), for rows that must not reach the
        teacher: no row of ``X`` is sent.
    random_state : int, RandomState instance or None, default=None
        Seeds the student's initialization and every draw: the same value gives the
        same student on CPU.
    verbose : int, default=0
        ``1`` shows a progress bar with epoch, loss and validation fidelity.
    device : str or torch.device, default="cpu"
        Where student, teacher and sampling run (``"cuda"`` when available).
    callbacks : list of Callback, default=None
        Objects called at the start and end of the run and of every epoch
        (:mod:`skdistill.callbacks`): :class:`~skdistill.callbacks.EarlyStopping`,
        :class:`~skdistill.callbacks.CSVLogger`, or a user's
        :class:`~skdistill.callbacks.Callback` subclass. ``fit`` works on copies,
        kept as ``callbacks_``.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues the previous fit
        where it stopped (``stop_reason_``): same student weights and optimizer
        state, sampler state, random streams, epoch counter (hence ``alpha``
        schedule), ``history_`` (appended), best student, teacher query count,
        validation set and target scaling. It trains the epochs left up to
        ``max_epochs`` (raise it to train more; with none left it warns and
        returns). A run stopped at epoch ``k`` and continued gives exactly the
        uninterrupted run with the same ``random_state``: the stopped epoch is run
        again from its start. Only ``max_epochs``, ``max_teacher_queries``,
        ``verbose``, ``checkpoint``, ``checkpoint_every``, ``de_workers``,
        ``callbacks`` (and ``random_state``) may change in between, and ``fit`` must get the same input
        description; otherwise it raises a ValueError naming what changed (set
        ``warm_start=False`` to start over). The ``alpha`` schedule reads
        ``epoch / max_epochs`` with the current ``max_epochs``.
    checkpoint : str or path, default=None
        File where ``fit`` saves its resumable state with :func:`joblib.dump` (the
        state ``warm_start`` uses, a fingerprint of the parameters and fit
        arguments, and the labelled validation set), written atomically (a
        temporary file, then ``os.replace``) every ``checkpoint_every`` epochs and
        when training stops (or ``fit`` raises). A fit (in any process) given an
        existing file with the same fingerprint resumes from it, so a crashed run
        loses at most ``checkpoint_every`` epochs and pays no teacher row twice: the
        validation labels come from the file, and the redone epochs' rows come from
        ``RemoteTeacher(cache=...)`` when the teacher has a cache. The fingerprint
        hashes every parameter but those ``warm_start`` lets change, the teacher
        by its pickled state (a lambda only by its type), and the input
        description. A file written otherwise, or unreadable, is ignored with a
        warning and overwritten. The
        file is kept after a successful fit (fitting again loads the finished run;
        raise ``max_epochs`` to continue it); delete it to start over. Do not share
        one file between estimators (``GridSearchCV`` clones would).
    checkpoint_every : int, default=50
        Epochs between checkpoint writes (the state at the start of the epoch). A
        write takes about 5 ms in the paper's setting (25-unit student, 1000
        validation rows, a 75-200 kB file), about 2% of 50 epochs of 5 ms.

    Attributes
    ----------
    student_ : ScaledStudent
        The selected student as a torch module taking and returning raw units.
    teacher_ : Teacher
        The teacher adapter used (its ``differentiable`` flag says which path ran).
    sampler_ : Sampler
        The sampler used.
    input_spec_ : InputSpec
        The input distribution the synthetic data was drawn from.
    input_source_ : str
        Set by a ``fit()`` given no input distribution: what the spec was read
        from (``"read from the teacher: the StandardScaler's mean_ and scale_"``)
        or ``"N(0, I) assumed: ..."``.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Feature names, when ``fit`` got a DataFrame.
    history_ : dict of lists
        Per epoch: ``epoch``, ``alpha``, ``loss_generated`` and ``loss_random`` (mean
        squared student loss, eq. 1, in standardized units; NaN when the epoch had no
        such samples), ``val_rmse`` (RMSE to the validation targets, in target
        units; with k outputs the mean of the outputs' RMSEs weighted by
        ``output_weights``, which selects the best student, and each output's
        as ``val_rmse_0``... ``val_rmse_{k-1}``), ``elapsed`` (seconds since the
        start of fit) and ``n_teacher_queries``.
        A continued fit (``warm_start``, ``checkpoint``) appends to it, and its
        ``elapsed`` and query counts go on from the previous values.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        Epoch of the selected student.
    best_score_ : float
        Its validation RMSE.
    n_teacher_queries_ : int
        Rows sent to the teacher during fit, validation labels included (all the
        fits of a continued run together; with ``outputs="separate"``, of every
        student).
    n_outputs_ : int
        The teacher's outputs per row; ``predict`` returns shape (n,) when 1 and
        ``(n, n_outputs_)`` otherwise.
    estimators_ : list of DataFreeDistillRegressor
        With ``outputs="separate"``: the fitted one-output estimator of each
        output (``history_``, ``student_`` and the other fitted attributes here
        are those of the first).
    draws_ : str
        How the rows were drawn: ``draws`` with ``"auto"`` resolved
        (``"leaves"``, ``"random"``, or ``"mix"`` after ``fit(X)`` with rows).
    regime_ : str
        ``regime`` with ``"auto"`` resolved: ``"pool"`` or ``"stream"``.
    lr_ : float
        The student's learning rate, ``lr`` with ``"auto"`` resolved.
    max_teacher_queries_ : int or None
        The row budget that ran: the pool's (100,000 when
        ``max_teacher_queries=None``), or the stream's limit (None: none).
    selection_ : str
        What the kept student was selected on (``validation_data``, or labelled
        draws of the spec).
    pool_focus_ : float
        ``pool_focus`` with ``"auto"`` resolved (used by the pool regime only).
    stop_reason_ : str
        Why training stopped: ``"max_epochs"``, ``"max_teacher_queries"``,
        ``"early_stopping"`` (:class:`~skdistill.callbacks.EarlyStopping`), ``"converged"``
        (the pool regime's schedule ended, see ``regime``), the
        reason a user's callback gave to ``loop.stop``,
        ``"interrupted"`` (KeyboardInterrupt after at least one epoch) or
        ``"teacher_error"`` (the teacher failed, :class:`~skdistill.teachers.TeacherError`,
        after at least one epoch; a warning gives its message). After any but
        the first the estimator is fitted with the best student so far, and
        ``warm_start=True`` or ``checkpoint`` continue the run from the start of
        the epoch that was cut short. Before the first epoch is complete these
        errors propagate and the estimator stays unfitted.
    teacher_error_ : str or None
        The teacher's error message when ``stop_reason_ == "teacher_error"``.
    callbacks_ : list of Callback
        The copies of ``callbacks`` the fit used (fitted state such as
        ``EarlyStopping.stopped_epoch_``).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdistill import DataFreeDistillRegressor
    >>> teacher = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
    ...                               torch.nn.Linear(8, 1))
    >>> est = DataFreeDistillRegressor(teacher, student=(8,), max_epochs=20,
    ...                                random_state=0)
    >>> est.fit(bounds=[(-1, 1)] * 3).predict(np.zeros((2, 3))).shape
    (2,)
    """

    _parameter_constraints: dict = {
        "teacher": "no_validation",
        "student": "no_validation",  # checked by build_student, with its own message
        "sampler": [str, type, Sampler],
        "alpha": [
            Interval(Real, 0, 1, closed="both"),
            StrOptions({"decreasing", "increasing"}),
            callable,
        ],
        **_forwarded_constraints(),
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batches_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "regenerate": [StrOptions({"epoch", "batch"})],
        "regime": [StrOptions({"auto", "stream", "pool"})],
        "draws": [StrOptions({"auto", "random", "sobol", "lhs", "leaves", "munge",
                              "mix"})],
        "label_rows": ["boolean"],
        "pool_rounds": [Interval(Integral, 1, None, closed="left")],
        "pool_patience": [Interval(Integral, 1, None, closed="left")],
        "pool_focus": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "max_teacher_queries": [Interval(Integral, 1, None, closed="left"), None],
        "n_validation": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "loss": [StrOptions({"squared", "logcosh"})],
        "output_weights": ["array-like", None],
        "outputs": [StrOptions({"joint", "separate"})],
        "callbacks": [list, tuple, None],
        "warm_start": ["boolean"],
        "checkpoint": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        teacher,
        student=(50,),
        sampler="auto",
        *,
        alpha="decreasing",
        beta=1e-5,
        gamma=1e-5,
        max_epochs=2000,
        batches_per_epoch=10,
        batch_size=50,
        lr="auto",
        weight_decay=1e-5,
        loss="squared",
        output_weights=None,
        outputs="joint",
        direct_lr=0.1,
        direct_steps=2,
        regenerate="epoch",
        regime="auto",
        pool_rounds=4,
        pool_patience=5,
        pool_focus="auto",
        draws="auto",
        optimizer="auto",
        target_range=None,
        epsilon=0.05,
        objective=None,
        de_strategy="best2bin",
        de_maxiter=25,
        de_popsize=None,
        de_radius=None,
        de_workers=None,
        max_teacher_queries=None,
        n_validation=1000,
        label_rows=True,
        random_state=None,
        verbose=0,
        device="cpu",
        callbacks=None,
        warm_start=False,
        checkpoint=None,
        checkpoint_every=50,
    ):
        self.teacher = teacher
        self.student = student
        self.sampler = sampler
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.max_epochs = max_epochs
        self.batches_per_epoch = batches_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = loss
        self.output_weights = output_weights
        self.outputs = outputs
        self.direct_lr = direct_lr
        self.direct_steps = direct_steps
        self.regenerate = regenerate
        self.regime = regime
        self.pool_rounds = pool_rounds
        self.pool_patience = pool_patience
        self.pool_focus = pool_focus
        self.draws = draws
        self.label_rows = label_rows
        self.optimizer = optimizer
        self.target_range = target_range
        self.epsilon = epsilon
        self.objective = objective
        self.de_strategy = de_strategy
        self.de_maxiter = de_maxiter
        self.de_popsize = de_popsize
        self.de_radius = de_radius
        self.de_workers = de_workers
        self.max_teacher_queries = max_teacher_queries
        self.n_validation = n_validation
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X=None, y=None, *, bounds=None, input_spec=None, validation_data=None
    ):
        """Distil the teacher into a fresh student.

        Give the input distribution in one of four ways: ``X`` (an unlabeled sample:
        the data sheet of :meth:`InputSpec.from_data <skdistill.InputSpec.from_data>`,
        and, with ``label_rows=True``, the rows themselves, sent to the teacher),
        ``bounds`` (uniform on the box),
        ``input_spec`` (an :class:`~skdistill.InputSpec`), or nothing: then what
        a scikit-learn teacher keeps of its inputs (a Pipeline's first scaler or
        ``ColumnTransformer``, an encoder's ``categories_``, HistGradientBoosting's
        bins, a forest's split thresholds, the rows a kNN keeps; see
        ``input_source_``), or else the standard normal ``N(0, I)`` of the paper
        with a :class:`~skdistill.NoInputSpecWarning` (right for a teacher
        trained on standardized inputs). A DataFrame ``X`` lacking a level the
        teacher's encoder knows gets that level too.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), default=None
            Unlabeled inputs: they give the input spec (empirical marginals and a
            Gaussian copula; images ``(n, C, H, W)`` or ``(n, H, W)`` give an
            image spec of per-pixel moments). With ``label_rows=True`` (the
            default) they are also labelled by the teacher, counted in
            ``max_teacher_queries``, trained on and augmented (``draws="mix"``);
            ``label_rows=False`` sends none of them to the teacher.
        y : ignored
            Accepted so that ``GridSearchCV(...).fit(X, y)`` and Pipelines work.
        bounds : sequence of (low, high), default=None
            Per-feature box bounds.
        input_spec : InputSpec, default=None
            Full input specification.
        validation_data : array-like or tuple (X_val, y_val), default=None
            Real data for model selection instead of the synthetic validation set:
            with ``y_val`` the student closest to ``y_val`` is kept, without it the
            one closest to the teacher on ``X_val``.

        Returns
        -------
        self
        """
        # a warm start that fails (refused, or crashed) leaves the previous fit as
        # it was: _fit sets fitted attributes only at its end
        resumable = self.warm_start and self._resume_state_or_none() is not None
        previous = dict(vars(self)) if resumable else None
        before = set(vars(self))
        try:
            return self._fit(X, bounds, input_spec, validation_data)
        except BaseException:
            if previous is not None:
                vars(self).clear()
                vars(self).update(previous)
                raise
            # Nothing half-fitted: a failed fit leaves no fitted attribute behind.
            for key in set(vars(self)) - before:
                delattr(self, key)
            for key in [
                k for k in vars(self) if k.endswith("_") and not k.startswith("_")
            ]:
                delattr(self, key)
            raise

    def _spec_of_teacher(self, teacher):
        """The spec of a ``fit()`` given none: what the teacher keeps of its
        inputs (see :mod:`skdistill._teacher_inputs`), else N(0, I) with a
        warning; ``input_source_`` says which."""
        d = teacher.n_features_in_
        spec, source = teacher_spec(self.teacher, d, fitted_names(teacher))
        if spec is None:
            self.input_source_ = "N(0, I) assumed: the teacher keeps nothing of its inputs"
            warnings.warn(
                f"fit() got no input distribution and the teacher {teacher!r} keeps "
                f"none of its inputs: N(0, I) on its {d} features is assumed, which "
                "suits a teacher trained on standardized inputs only. Pass X (an "
                "unlabeled sample), bounds or input_spec to fit.",
                NoInputSpecWarning,
                stacklevel=6,  # the user's fit (through _fit_context)
            )
            return InputSpec(n_features=d)
        self.input_source_ = f"read from the teacher: {source}"
        if self.verbose:
            print(f"Input distribution {self.input_source_}.")
        return spec

    def _resolve_spec(self, X, bounds, input_spec, teacher):
        given = [
            name
            for name, v in (("X", X), ("bounds", bounds), ("input_spec", input_spec))
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"Give the input distribution once: got {' and '.join(given)}. Use one of "
                "X (unlabeled sample), bounds, or input_spec."
            )
        rows = None
        if X is not None and _columns.is_frame(X) and not _floats_only(X):
            # a DataFrame of columns of several kinds: a spec of its columns, by
            # dtype (InputSpec.from_data); one of floats is read as an array is
            spec, added = with_teacher_levels(InputSpec.from_data(X), self.teacher)
            if added and self.verbose:
                print(f"Levels the teacher's encoders know and X lacks: {added}.")
            rows = _columns.encode(spec.columns, X)
        elif X is not None:
            X, shape = _image_rows(X)  # images (n, C, H, W) -> flat rows
            X = _check_rows(
                "X",
                validate_data,
                self,
                X,
                reset=True,
                dtype=np.float64,
                ensure_min_samples=1,
            )
            names = getattr(self, "feature_names_in_", None)
            spec = InputSpec.from_data(X, feature_names=names, shape=shape)
            rows = X
        elif bounds is not None:
            spec = InputSpec(bounds=bounds)
        elif input_spec is not None:
            if not isinstance(input_spec, InputSpec):
                raise TypeError(
                    f"input_spec must be an InputSpec, got {type(input_spec).__name__}."
                )
            spec = input_spec
        elif teacher.n_features_in_ is not None:
            spec = self._spec_of_teacher(teacher)
        else:
            raise ValueError(
                f"No input distribution given and the teacher {teacher!r} does not tell "
                "its number of features. Pass X (an unlabeled sample), bounds=[(low, "
                "high), ...] or input_spec=InputSpec(...) to fit."
            )
        self._check_spec_width(spec, teacher, given[0] if given else None)
        return spec, rows

    @staticmethod
    def _check_spec_width(spec, teacher, source):
        """The spec gives the teacher as many features as it expects (names on
        both sides are checked by frame_teacher, which names the differences)."""
        named = spec.feature_names is not None and fitted_names(teacher) is not None
        # differentiable teachers of tabular specs read the encoded rows
        encoded = spec.tabular and teacher.differentiable
        width = spec.n_encoded if encoded else spec.n_features
        if (
            not named  # names on both sides: frame_teacher names the differences
            and teacher.n_features_in_ is not None
            and teacher.n_features_in_ != width
        ):
            source = f" (from {source})" if source else ""
            what = (
                f"gives encoded rows of {width} columns (numbers, and one indicator "
                "per level of each categorical column), which a differentiable "
                "teacher reads,"
                if encoded else f"has {width} features"
            )
            raise ValueError(
                f"The input spec{source} {what} but the teacher expects "
                f"{teacher.n_features_in_} ({teacher!r}). Describe the inputs the "
                "teacher takes, one entry per feature."
            )

    def _state_to_resume(self, fingerprint):
        """The run state this fit continues (and where it comes from), or None.

        ``warm_start`` on a fitted estimator continues its last fit, and refuses
        changed parameters or fit arguments; otherwise an existing ``checkpoint``
        file written with the same fingerprint is resumed, and one written with
        another is ignored with a warning (and overwritten by this fit).
        """
        if self.warm_start and self._resume_state_or_none() is not None:
            state = self._resume_state
            _check_warm_start(state, fingerprint, self.teacher)
            return state, "the previous fit"
        if self.checkpoint is not None and os.path.exists(self.checkpoint):
            state, problem = _resume.load_checkpoint(self.checkpoint)
            if state is not None:
                changed = _resume.changed_params(state["fingerprint"], fingerprint)
                if changed:
                    state = None
                    problem = (
                        f"it was written with another {_describe_changes(changed)}"
                    )
            if state is None:
                warnings.warn(
                    f"Not resuming from checkpoint {os.fspath(self.checkpoint)!r}: "
                    f"{problem}. Training starts afresh and overwrites it.",
                    UserWarning,
                    stacklevel=4,
                )
                return None, None
            return state, "checkpoint"
        return None, None

    def _resume_state_or_none(self):
        if not self.__sklearn_is_fitted__():
            return None
        return getattr(self, "_resume_state", None)

    def _sampler_params(self):
        """The sampler parameters of the estimator, in the sampler's names, and the
        names of those set to other values than their defaults."""
        params = self.get_params(deep=False)
        defaults = _DEFAULTS
        values = {name: params[key] for key, name in _SAMPLER_PARAMS.items()}
        changed = {
            name
            for key, name in _SAMPLER_PARAMS.items()
            if not _same(params[key], defaults[key])
        }
        return values, changed

    def _fit(self, X, bounds, input_spec, validation_data):
        device = _check_device(self.device)
        sampler, sampler_params = self._check_fit_params()
        if self.outputs == "separate" and self._output_index() is None:
            return self._fit_separate(X, bounds, input_spec, validation_data)
        teacher = as_teacher(self.teacher, device=device)
        if _is_auto(self.sampler) and not teacher.differentiable:
            sampler = resolve_sampler("random", *sampler_params)
        if teacher is self.teacher:  # a Teacher instance: count this fit's queries only
            teacher = teacher.fresh_copy()
        spec, rows, teacher = self._build_spec(X, bounds, input_spec, teacher)
        fingerprint = _resume.fingerprint(
            self.get_params(deep=False), spec, validation_data
        )
        state, resumed_from = self._state_to_resume(fingerprint)
        space = StandardizedSpace(spec, device=device)
        z_rows = None
        if rows is not None:
            rows = np.array(rows, dtype=np.float64)
            z_rows = space.from_raw(torch.as_tensor(rows, dtype=space.loc.dtype,
                                                    device=device))
        self.draws_ = self._resolve_draws(space, spec.n_encoded, z_rows is not None)
        self.pool_focus_ = self._resolve_focus(space)
        generator = torch.Generator()  # seeded below, or its state restored
        # every row sent to the teacher from here on goes through the view
        view = StandardizedTeacher(teacher, space, output=self._output_index())
        setup = self._build_setup(state, view, generator, rows, z_rows,
                                  validation_data)
        setup.fingerprint = fingerprint
        regime = self._regime(view, z_rows is not None)
        student, trainer, problem = self._build_student(
            view, spec, setup, generator, regime, device)
        self._record_plan(regime, trainer.lr, validation_data, z_rows is not None,
                          setup.n_seed_rows)
        sampler.setup(problem)
        callbacks = self._callbacks(state is not None and resumed_from == "checkpoint",
                                    state)
        loop = self._build_loop(regime, problem, sampler, trainer, setup, callbacks)
        if state is not None:
            self._resume_loop(loop, state, resumed_from)
        loop.run()
        return self._set_fitted(loop, trainer, student, space, view, sampler,
                                callbacks, teacher, spec, device)

    def _check_fit_params(self):
        """The sampler (validated: "auto" as "direct", whose parameters the
        estimator forwards), the callbacks and the output weights checked, so
        that bad values fail before the teacher is asked anything."""
        sampler_params = self._sampler_params()
        named = "direct" if _is_auto(self.sampler) else self.sampler
        sampler = resolve_sampler(named, *sampler_params)
        self._check_callbacks()
        check_output_weights(self.output_weights)  # their number: once k is known
        if self.output_weights is not None and self.outputs == "separate":
            raise ValueError(
                "output_weights weigh the outputs of one student; with "
                "outputs='separate' every output has its own student and they have "
                "no effect. Use outputs='joint' or output_weights=None."
            )
        return sampler, sampler_params

    def _build_spec(self, X, bounds, input_spec, teacher):
        """The input spec, the user's rows to label (or None) and the teacher
        as the spec's rows reach it (images, DataFrames)."""
        spec, rows = self._resolve_spec(X, bounds, input_spec, teacher)
        if not self.label_rows:
            rows = None
        if rows is not None and len(rows) < 2:
            raise ValueError(
                f"X has {len(rows)} sample (one row); a spec from data needs at "
                "least two rows (or give bounds or an input_spec)."
            )
        if spec.shape is not None:
            teacher = teacher.for_image_shape(spec.shape)
        # DataFrames for black boxes fitted on them; the student reads encoded
        # rows of width spec.n_encoded
        teacher = frame_teacher(teacher, spec)
        if spec.tabular:
            self.feature_names_in_ = np.asarray(spec.feature_names, dtype=object)
        elif X is None and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # from an earlier fit on a DataFrame
        if spec.n_encoded == 0:
            raise ValueError(
                "Every column of the input spec is constant: there is nothing for a "
                "student to learn."
            )
        return spec, rows, teacher

    def _build_setup(self, state, view, generator, rows, z_rows, validation_data):
        """What the loop starts from: the seeds, the target scale (set on
        ``view``), the selection set, the user's labelled rows (``seed``) and
        the rows spent before the loop; from ``state`` when a stopped run is
        continued (no teacher row paid again)."""
        space, d = view.space, view.space.spec.n_encoded
        setup = _Setup()
        if state is not None:
            setup.seeds = state["seeds"]
            view.set_target_scale(state["y_loc"], state["y_scale"])
            device = space.loc.device
            setup.z_sel, setup.t_sel = state["z_sel"].to(device), state["t_sel"].to(device)
            setup.setup_rows = state.get("setup_rows", self.n_validation)
            setup.n_seed_rows = state.get("n_seed_rows", 0)
            if self.draws_ in _AROUND_ROWS:
                space.set_rows(_seed_rows(z_rows, state))
            return setup
        rng = check_random_state(self.random_state)
        setup.seeds = tuple(int(s) for s in rng.randint(_INT32_MAX, size=2))
        generator.manual_seed(setup.seeds[0])
        if z_rows is not None:
            (setup.z_sel, setup.t_sel), setup.seed = self._label_rows(
                view, generator, rows, z_rows, validation_data, d)
        else:
            setup.z_sel, setup.t_sel = self._label_validation(
                view, generator, validation_data, d)
        setup.setup_rows = view.n_queries
        setup.n_seed_rows = 0 if setup.seed is None else len(setup.seed[0])
        return setup

    def _build_student(self, view, spec, setup, generator, regime, device):
        """The student (of the teacher's number of outputs, known from its first
        answers), its trainer for the regime, and the problem samplers see."""
        d, k = spec.n_encoded, view.n_outputs
        output_weights = check_output_weights(self.output_weights, k)
        if k == 1:
            output_weights = None
        student = build_image_student(
            self.student, d, setup.seeds[1], spec.shape, n_outputs=k
        ).to(device)
        check_student_outputs(student, d, k)
        # the paper's RMSprop for the stream; Adam converges further on a pool
        trainer = make_trainer(student, self._resolve_lr(regime), self.weight_decay,
                               self.loss,
                               optimizer="adam" if regime == "pool" else "rmsprop",
                               n_outputs=k, output_weights=output_weights)
        problem = DistillProblem(
            view.space, view, student, generator, student_mlp=trainer.mlp,
            n_outputs=k, output_weights=output_weights,
        )
        return student, trainer, problem

    def _build_loop(self, regime, problem, sampler, trainer, setup, callbacks):
        """The training loop of the regime: the paper's stream, or the pool of
        rounds (started with the user's labelled rows, if any)."""
        loop_cls, extra = TrainingLoop, {}
        if regime == "pool":
            loop_cls = PoolLoop
            extra = dict(
                rows=self._pool_rows(setup.setup_rows, setup.n_seed_rows),
                n_rounds=self.pool_rounds,
                patience=self.pool_patience,
                focus=self.pool_focus_,
                seed=setup.seed,
            )
            if setup.n_seed_rows:  # a pool of real rows: longer epochs
                extra.update(min_steps=_ROWS_MIN_STEPS)
        view = problem.teacher
        return loop_cls(
            problem,
            sampler,
            trainer,
            **extra,
            alpha=self.alpha,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            batches_per_epoch=self.batches_per_epoch,
            regenerate=self.regenerate,
            draws=self.draws_,
            validation=(setup.z_sel, setup.t_sel),
            constants={
                "fingerprint": setup.fingerprint,
                "params": {
                    k: repr(v)[:200] for k, v in self.get_params(deep=False).items()
                },
                "seeds": setup.seeds,
                "y_loc": view.y_loc,
                "y_scale": view.y_scale,
                "z_sel": setup.z_sel,
                "t_sel": setup.t_sel,
                "setup_rows": setup.setup_rows,
                "n_seed_rows": setup.n_seed_rows,
            },
            callbacks=callbacks,
        )

    def _resume_loop(self, loop, state, resumed_from):
        """Put a stopped run's state into ``loop``; warn when it has nothing
        left to buy or to train."""
        loop.load_state_dict(state)
        if isinstance(loop, PoolLoop) and loop.exhausted():
            warnings.warn(
                f"Nothing to buy: the run resumed from {resumed_from} spent its "
                f"budget of {self._budget()} teacher rows and converged. Raise "
                "max_teacher_queries to continue it with new rows.",
                UserWarning,
                stacklevel=5,
            )
        if loop.epoch >= self.max_epochs:
            warnings.warn(
                f"Nothing to train: the run resumed from {resumed_from} has "
                f"already run {loop.epoch} epochs and max_epochs="
                f"{self.max_epochs}. Raise max_epochs to train more.",
                UserWarning,
                stacklevel=5,
            )

    def _set_fitted(self, loop, trainer, student, space, view, sampler, callbacks,
                    teacher, spec, device):
        """The best student put back, and the fitted attributes."""
        best_score, best_epoch, best_weights = loop.best
        if best_weights is None:
            raise FloatingPointError(
                "Training diverged: the validation RMSE was never finite. Try a smaller "
                "lr or direct_lr."
            )
        # for warm_start, the state of the last epoch (before the best student is
        # put back); the teacher itself only in memory, never in checkpoints
        resume_state = {**loop.state_dict(), "teacher_object": self.teacher}
        trainer.restore(best_weights)
        student.eval()
        loc, scale = space.loc.cpu(), space.scale.cpu()
        sampler.problem = None  # drop references to the fit's objects (picklable)

        self.teacher_ = teacher
        self.sampler_ = sampler
        self.callbacks_ = callbacks[1 : 1 + len(self.callbacks or ())]
        self.input_spec_ = spec
        self.n_features_in_ = spec.n_features
        self.n_outputs_ = view.n_outputs
        self.student_ = ScaledStudent(student, loc, scale, view.y_loc, view.y_scale).to(device)
        # predict runs a float64 twin: answers that do not depend on the batch a row
        # comes in (float32 matrix kernels differ by batch size in the last bits)
        self._student64 = copy.deepcopy(self.student_).double()
        self.history_ = loop.history
        self.n_iter_ = loop.epoch
        self.stop_reason_ = loop.stop_reason
        self.best_epoch_ = best_epoch
        self.best_score_ = best_score
        self.n_teacher_queries_ = loop.rows_sent
        self.teacher_error_ = loop.teacher_error
        self._resume_state = resume_state
        return self

    def _fit_separate(self, X, bounds, input_spec, validation_data):
        """``outputs="separate"``: one estimator of one output per teacher output,
        each a clone of this one fitted on its own teacher rows (the number of
        outputs is known once the first has labelled its validation set)."""
        X_val, y_val = _split_validation(validation_data)
        if y_val is not None:
            y_val = check_array(
                y_val, ensure_2d=False, dtype=np.float64, input_name="validation y"
            )
        previous = getattr(self, "estimators_", None) if self.warm_start else None
        rng = check_random_state(self.random_state)
        subs, k, j = [], None, 0
        while k is None or j < k:
            seed = None if self.random_state is None else int(rng.randint(_INT32_MAX))
            if previous is not None and j < len(previous):
                sub = previous[j]  # a warm start continues each output's run
            else:
                sub = clone(self)
                sub._output = j
            checkpoint = None if self.checkpoint is None else (
                f"{os.fspath(self.checkpoint)}.output{j}"
            )
            sub.set_params(outputs="joint", output_weights=None, random_state=seed,
                           checkpoint=checkpoint,
                           **{key: getattr(self, key) for key in _resume.FREE_PARAMS
                              if key != "checkpoint"})
            val_j = validation_data
            if y_val is not None:  # checked against the teacher after the first fit
                val_j = (X_val, y_val[:, j] if y_val.ndim == 2 else y_val)
            sub.fit(X, bounds=bounds, input_spec=input_spec, validation_data=val_j)
            if k is None:
                k = sub.teacher_.n_outputs or 1
                if y_val is not None:
                    _check_target_width(y_val, k)
            subs.append(sub)
            j += 1
        first = subs[0]
        for key in ("teacher_", "sampler_", "callbacks_", "input_spec_",
                    "n_features_in_", "history_", "n_iter_", "stop_reason_",
                    "best_epoch_", "best_score_", "teacher_error_",
                    "feature_names_in_", "draws_", "pool_focus_"):
            if hasattr(first, key):
                setattr(self, key, getattr(first, key))
        self.estimators_ = subs
        self.n_outputs_ = k
        self.n_teacher_queries_ = sum(sub.n_teacher_queries_ for sub in subs)
        if k == 1:
            self.student_, self._student64 = first.student_, first._student64
        else:
            self.student_ = stack_students([sub.student_ for sub in subs])
            self._student64 = copy.deepcopy(self.student_).double()
        return self

    def _regime(self, view, labelled_rows=False):
        """``"stream"`` or ``"pool"``: ``regime``, with ``"auto"`` resolved: the
        pool for black boxes, whenever ``fit`` labels the user's rows (they are
        kept in it) and on specs of columns (data sheets, DataFrames); the
        paper's stream for differentiable teachers on the other specs
        (Gaussians, boxes: the paper's). Measured on the multi-output bench
        (telemonitoring's data sheet, 20k teacher rows, seed 0), the stream was
        1.97-2.36 times the oracle's distance to the teacher for the MLP and
        torch teachers, the pool 0.89-1.17 times."""
        if self.regime != "auto":
            return self.regime
        columns = view.space.spec.columns is not None
        paper = view.differentiable and not labelled_rows and not columns
        return "stream" if paper else "pool"

    def _record_plan(self, regime, lr, validation_data, with_rows, n_seed_rows):
        """The resolved plan as fitted attributes (``regime_``, ``lr_``,
        ``max_teacher_queries_``, ``selection_``), printed at ``verbose``."""
        self.regime_ = regime
        self.lr_ = float(lr)
        self.max_teacher_queries_ = (self._budget() if regime == "pool"
                                     else self.max_teacher_queries)
        if validation_data is not None:
            y_val = _split_validation(validation_data)[1]
            self.selection_ = ("validation_data with its targets" if y_val is not None
                               else "validation_data labelled by the teacher")
        else:
            self.selection_ = f"{self.n_validation} draws of the spec labelled by the teacher"
        if self.verbose:
            rows = f", {n_seed_rows} of X's rows labelled" if with_rows else ""
            budget = self.max_teacher_queries_
            print(f"Plan: regime={regime!r}, draws={self.draws_!r}, lr={self.lr_:.3g}, "
                  f"max_teacher_queries={'no limit' if budget is None else budget}"
                  f"{rows}; the student is selected on {self.selection_}.")

    def _budget(self):
        """The pool regime's budget of teacher rows, validation included."""
        budget = self.max_teacher_queries
        return _POOL_DEFAULT_ROWS if budget is None else budget

    def _resolve_lr(self, regime):
        """``lr``, with ``"auto"`` resolved (see ``lr``) for the regime and, in
        the pool, its budget."""
        if self.lr != "auto":
            return self.lr
        if regime != "pool":
            return _BASE_LR
        ratio = _POOL_LR_ROWS / self._budget()
        return _BASE_LR * min(_POOL_LR_MAX_FACTOR, max(1.0, ratio**0.5))

    def _pool_rows(self, setup_rows, n_seed_rows):
        """Teacher rows of the pool regime's rounds: the budget less the rows
        labelled before them (validation, and ``n_seed_rows`` of the user's)."""
        budget = self._budget()
        rows = budget - setup_rows
        if n_seed_rows and rows < self.batch_size:
            return 0  # the user's rows fill the budget: no round to buy
        if rows < self.batch_size:
            raise ValueError(
                f"max_teacher_queries={budget} leaves {max(rows, 0)} rows after the "
                f"{setup_rows} validation labels; the pool regime "
                f"needs at least batch_size={self.batch_size}. Raise "
                f"max_teacher_queries to at least {setup_rows + self.batch_size}"
                " or lower n_validation."
            )
        return rows

    def _label_rows(self, view, generator, rows, z_rows, validation_data, d):
        """The user's rows labelled by the teacher, as many as the budget leaves
        after the selection set, and at most half of it (a random subset when
        there are more, see ``_ROWS_MAX_SHARE``): the pool's first rows. Their
        answers set the target scale. The selection set is
        ``validation_data`` when given, else ``n_validation`` draws of the spec
        (the rows' data sheet), labelled: measured on the black-box bench, where
        the rows are the teacher's own training rows, an SVR or a kNN answers
        there as it does nowhere else (it memorized them), and students selected
        on held-out rows were up to 1.8 times further from the teacher on new
        rows (puma32h SVR, 20k rows: 0.303 against 0.173). The teacher receives
        the rows as given (``rows``, raw float64); the student their
        standardized form ``z_rows``. Returns the selection set and the pool's
        seed ``(z, t)``."""
        n = len(z_rows)
        budget = self._budget()
        n_val = 0 if validation_data is not None else self.n_validation
        if budget < n_val + 2:
            raise ValueError(
                f"max_teacher_queries={budget} is too small to label the "
                f"n_validation={n_val} selection rows and train on rows of X; give "
                f"at least {n_val + self.batch_size}, or lower n_validation."
            )
        perm = torch.randperm(n, generator=generator).to(z_rows.device)
        cap = min(budget - n_val, max(2, int(_ROWS_MAX_SHARE * budget)))
        take = perm[: min(n, cap)]
        z = z_rows[take]
        try:
            t_raw = view.predict(rows[take.cpu().numpy()])
        except TeacherError as exc:
            raise TeacherError(f"Labelling the rows of X: {exc}") from exc
        view.set_target_scale(*view.target_scale(t_raw))
        seed = (z, view.standardize(t_raw))
        if self.draws_ in _AROUND_ROWS:
            view.space.set_rows(z)
        if validation_data is not None:
            return self._validation_targets(validation_data, view, d), seed
        z_val, t_val = self._label_draws(view, generator, "random")
        return (z_val, view.standardize(t_val)), seed

    def _check_callbacks(self):
        """The user's callbacks as a list, checked."""
        user = self.callbacks
        if user is None:
            return []
        if isinstance(user, (list, tuple)) and all(
            isinstance(cb, Callback) for cb in user
        ):
            return list(user)
        bad = user if isinstance(user, Callback) or not isinstance(
            user, (list, tuple)
        ) else next(cb for cb in user if not isinstance(cb, Callback))
        raise TypeError(
            "callbacks must be a list of skdistill.callbacks.Callback instances (or "
            f"None); got {bad!r}."
        )

    def _callbacks(self, from_checkpoint, state):
        """The run's callbacks: selection, the user's (copies), then those the
        estimator's parameters ask for."""
        callbacks = [BestStudent(), *copy.deepcopy(self._check_callbacks())]
        if self.checkpoint is not None:
            skip = state["epoch"] if from_checkpoint else None
            callbacks.append(
                Checkpoint(self.checkpoint, self.checkpoint_every, skip_epoch=skip)
            )
        if self.max_teacher_queries is not None:
            callbacks.append(QueryBudget(self.max_teacher_queries))
        if self.verbose:
            callbacks.append(ProgressBar())
        return callbacks

    def _resolve_draws(self, space, d, labelled_rows=False):
        """``draws``, with ``"auto"`` resolved: ``"mix"`` around the user's
        labelled rows and from their sheet, ``"leaves"`` for a scikit-learn tree teacher on a spec of
        independent numeric features, else ``"random"``. Gives the space the
        teacher's leaves when they are used."""
        teacher = self.teacher
        if isinstance(teacher, SklearnTeacher):
            teacher = teacher.estimator
        if self.draws in _AROUND_ROWS and not labelled_rows:
            raise ValueError(
                f"draws={self.draws!r} draws around the rows of fit's X, labelled by "
                "the teacher: give X and keep label_rows=True, or use draws='random'."
            )
        if self.draws == "auto" and labelled_rows:
            return _ROWS_DRAWS
        if self.draws == "auto":
            cells = leaf_cells_or_none(teacher, d) if space.accepts_leaves else None
            if cells is None:
                return "random"
        elif self.draws == "leaves":
            cells = teacher_leaves(teacher, d)
        else:
            return self.draws
        space.set_leaves(cells)
        return "leaves"

    def _resolve_focus(self, space):
        """``pool_focus``, with ``"auto"`` resolved: 0 for draws from a tree's
        leaves (already where the teacher was fitted; focusing them on top was
        worse for gradient boosting on all three of the blackbox bench's
        datasets) and for tabular specs (``space.focus_by_default``), else
        ``_POOL_FOCUS``."""
        if self.pool_focus != "auto":
            return float(self.pool_focus)
        if self.draws_ == "leaves" or not space.focus_by_default:
            return 0.0
        return _POOL_FOCUS

    def _label_validation(self, view, generator, validation_data, d):
        """The synthetic validation set, labelled once through ``view``: it fixes
        the target scale (set on ``view``) and is the first check of the teacher's
        answers (shape, NaN/inf, exceptions). Returns the selection set
        (``validation_data`` when given)."""
        # the distribution trained on: leaves when drawn from them, else the spec
        z_val, t_val_raw = self._label_draws(
            view, generator, "leaves" if self.draws_ == "leaves" else "random")
        view.set_target_scale(*view.target_scale(t_val_raw))
        if validation_data is None:
            return z_val, view.standardize(t_val_raw)
        return self._validation_targets(validation_data, view, d)

    def _label_draws(self, view, generator, method):
        """``n_validation`` draws of the spec and the teacher's raw answers."""
        z_val = view.space.draw(self.n_validation, generator, method)
        try:
            return z_val, view.predict(space_raw(view.space, z_val))
        except TeacherError as exc:
            raise TeacherError(f"Labelling the synthetic validation set: {exc}") from exc

    def _validation_targets(self, validation_data, view, d):
        space = view.space
        X_val, y_val = _split_validation(validation_data)
        columns = space.spec.columns if space.spec.tabular else None
        if columns is not None:
            X_val = _columns.encode(columns, X_val, where="validation_data X_val")
        X_val, _ = _image_rows(X_val, space.spec.shape, infer=False)
        X_val = _check_rows(
            "validation_data (X_val, or a tuple (X_val, y_val))",
            check_array,
            X_val,
            dtype=np.float64,
            input_name="validation X",
        )
        if columns is None and X_val.shape[1] != d:
            raise ValueError(
                f"validation_data has {X_val.shape[1]} features; the input spec has {d}."
            )
        if y_val is None:
            y_val = view.predict(X_val)
        else:
            y_val = check_array(
                y_val, ensure_2d=False, dtype=np.float64, input_name="validation y"
            )
            if y_val.ndim == 2 and y_val.shape[1] == 1:
                y_val = y_val[:, 0]
            _check_target_width(y_val, view.n_outputs)
            if y_val.shape[0] != X_val.shape[0]:
                raise ValueError(
                    f"validation_data has {X_val.shape[0]} rows of X but "
                    f"{y_val.shape[0]} targets."
                )
        z = space.from_raw(
            torch.as_tensor(X_val, dtype=torch.float32, device=space.loc.device)
        )
        return z, view.standardize(y_val)

    def to_compact(self, dtype="float64"):
        """The student alone, as a small regressor to ship without the teacher.

        Ship the compact model where predictions are made: it predicts what
        :meth:`predict` does (to 1e-6), its ``joblib`` file holds only the student,
        and for MLP students it loads with NumPy and scikit-learn, without torch.
        Keep this estimator (``joblib.dump`` works on it too) to inspect
        ``history_``, compare with ``teacher_`` or refit: it holds the teacher.

        Parameters
        ----------
        dtype : {"float64", "float32"}, default="float64"
            ``"float32"``: half the file and a faster predict, within about 1e-6
            of :meth:`predict` relative to the spread of its predictions (MLP
            students only).

        Returns
        -------
        CompactRegressor
            See :class:`skdistill.compact.CompactRegressor`, which also exports
            the student to scikit-learn (``to_sklearn``), C (``to_c``), skorch,
            TorchScript and ONNX.
        """
        from .compact import CompactRegressor

        return CompactRegressor.from_estimator(self, dtype=dtype)

    # -------------------------------------------------------------- prediction
    def __sklearn_clone__(self):
        """Clone every parameter but the teacher, which is shared as it is.

        ``sklearn.base.clone`` would otherwise clone a scikit-learn or skorch teacher
        into an unfitted copy, and ``GridSearchCV`` or ``cross_val_score`` would
        have nothing to distil. The teacher is never modified by ``fit``. So is
        ``de_workers``: a pool's ``map`` or a dask client is shared, not copied.
        """
        params = self.get_params(deep=False)
        teacher = params.pop("teacher")
        shared = {"de_workers": params.pop("de_workers")}
        return type(self)(
            teacher, **{k: clone(v, safe=False) for k, v in params.items()}, **shared
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "student_")

    def predict(self, X):
        """Student predictions in the teacher's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat rows, or images ``(n, C, H, W)`` when the input spec has a shape.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs_)
            One column per output of a teacher with several.
        """
        check_is_fitted(self)
        spec = self.input_spec_
        columns = spec.columns if getattr(spec, "tabular", False) else None
        if columns is not None:  # a DataFrame (by name) or rows in column order
            X = _columns.encode(columns, X)
        else:
            X, _ = _image_rows(X, self.input_spec_.shape, infer=False)  # images
            X = _check_rows("X", validate_data, self, X, reset=False, dtype=np.float64)
        device = self._student64.x_loc.device
        k = self.n_outputs_
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], 65536):
                # a copy: read-only inputs (pandas) cannot back a tensor
                chunk = torch.tensor(X[start : start + 65536], device=device)
                out.append(as_outputs(self._student64(chunk), k).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0,) if k == 1 else (0, k))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        return tags

    def _output_index(self):
        """The teacher output this estimator distils, when it is one student of
        ``outputs="separate"`` (None: every output)."""
        return getattr(self, "_output", None)


def _check_target_width(y_val, k):
    """Raise a ValueError when the validation targets ``y_val`` do not have one
    column per teacher output (1-D for one output)."""
    width = 1 if y_val.ndim == 1 else y_val.shape[1]
    if y_val.ndim > 2 or width != k:
        expected = "(n_samples,)" if k == 1 else f"(n_samples, {k})"
        raise ValueError(
            f"validation_data has targets y_val of shape {y_val.shape}; the teacher "
            f"gives {k} output{'s' if k > 1 else ''} per row, so y_val must have "
            f"shape {expected}."
        )


def _split_validation(validation_data):
    """``(X_val, y_val)`` of ``validation_data`` (``y_val`` None without targets)."""
    if isinstance(validation_data, tuple) and len(validation_data) == 2:
        return validation_data
    return validation_data, None


def _floats_only(frame):
    """Whether every column of a DataFrame holds floats (then it is read as an
    array with feature names, and draws are those of the array)."""
    return all(getattr(dt, "kind", None) == "f" for dt in frame.dtypes)


def _same(a, b):
    """Whether a parameter value is its default (``==`` where it means equality)."""
    if a is b:
        return True
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # arrays, objects without a truth value
        return False


_DEFAULTS = {
    key: param.default
    for key, param in __import__("inspect")
    .signature(DataFreeDistillRegressor.__init__)
    .parameters.items()
}


def _check_device(device):
    """``device`` as a ``torch.device`` that works on this machine, or a ValueError
    saying why not (torch's own errors name neither the parameter nor the fix)."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else "a CUDA build"
        raise ValueError(
            f"device={str(device)!r}, but torch sees no CUDA GPU on this machine "
            f"(torch {torch.__version__} is {build}). Use device='cpu', or run on a "
            "machine with a GPU and a CUDA build of torch."
        )
    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(
            f"device={str(device)!r} cannot be used on this machine: {exc}. Use "
            "device='cpu' or a device torch sees."
        ) from None
    return device


def _check_rows(name, check, *args, **kwargs):
    """``check(*args, **kwargs)``, a scikit-learn validation of an array; when numpy
    could not read the array at all (strings, ragged rows, 1-D), say which argument
    it was and what it must be: those errors name neither."""
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        unreadable = (
            "could not convert",  # strings
            "inhomogeneous",  # ragged rows
            "2D array",  # 1-D
            "Found array with",  # no rows, or 3-D and more
        )
        if not any(text in str(exc) for text in unreadable):
            raise
        raise ValueError(
            f"{name} must be a numeric array of shape (n_samples, n_features): {exc}"
        ) from None


def _check_warm_start(state, new, teacher):
    """Raise when parameters a warm start cannot change have changed. The teacher
    of the previous fit may have changed its hash (a callable counting its calls)."""
    ignore = ("random_state", "teacher") if teacher is state["teacher_object"] else ()
    changed = _resume.changed_params(
        state["fingerprint"], new, ignore=("random_state", *ignore)
    )
    if changed:
        raise ValueError(
            f"warm_start=True continues the previous fit, but {_describe_changes(changed)}"
            f" changed since. Only {', '.join(sorted(_resume.FREE_PARAMS))} and "
            "random_state may change; restore the others, or set warm_start=False to "
            "fit afresh."
        )


def _describe_changes(names):
    """Fingerprint entries in the user's terms."""
    words = {
        "input_spec": "input description (X, bounds or input_spec)",
        "validation_data": "validation_data",
    }
    return ", ".join(words.get(n, n) for n in names)


def space_raw(space, z):
    """Standardized rows ``z`` in the teacher's raw units, as a float64 array
    (computed in float64: point masses and integers come back exact)."""
    return space.to_raw(z.double()).cpu().numpy()


def _seed_rows(z_rows, state):
    """The rows a resumed run draws around: the first of its pool, which came
    from ``X`` (``z_rows`` for states written before they were counted)."""
    n_seed = state.get("n_seed_rows")
    pool = state.get("pool", {}).get("z")
    return pool[:n_seed] if pool is not None and n_seed else z_rows

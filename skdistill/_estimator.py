"""The estimator: parameters, validation, Algorithm 1's training loop, predict."""

from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._mlp import FunctionalMLP
from ._trainer import make_trainer
from .inputs import InputSpec, StandardizedSpace, _image_rows
from .objectives import standardize_objective, student_loss
from .samplers import DistillProblem, Generated, Sampler, resolve_sampler
from .schedules import resolve_alpha
from .students import ScaledStudent
from .students_cnn import build_image_student, image_teacher
from .teachers import TeacherError, TorchTeacher, as_teacher

__all__ = ["DataFreeDistillRegressor"]

_INT32_MAX = np.iinfo(np.int32).max


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
    student : tuple of int, nn.Module class or instance, or skorch net, default=(50,)
        The network to train: hidden-layer sizes of a tanh MLP (the paper's choice), a
        module class or instance (copied, re-initialized), or an unfitted skorch
        ``NeuralNetRegressor`` whose ``module`` is used. With an image input spec
        also ``"cnn"``/``"cnn:F"``, the paper's CNN with ``F`` filters (Table 2,
        :class:`~skdistill.students_cnn.PaperCNN`); convolutional modules (and torch
        teachers) receive images ``(n, C, H, W)``.
    sampler : str or Sampler, default="direct"
        How generated inputs are made: ``"random"`` (plain draws) or ``"direct"``
        (gradient steps on eq. 5; needs a differentiable teacher), or a
        :class:`~skdistill.samplers.Sampler` subclass or instance.
    alpha : float, {"decreasing", "increasing"} or callable, default="decreasing"
        Weight of generated samples in the student loss (eq. 7). ``"decreasing"`` is
        the paper's ``1 - epoch / max_epochs``; a callable receives the training
        progress in [0, 1). With alpha 0 (or 1) only random (or generated) samples
        are used, ``2 * batch_size`` of them, as in the paper. Ignored by
        ``sampler="random"``.
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
    lr : float, default=1e-3
        RMSprop learning rate of the student.
    weight_decay : float, default=1e-5
        RMSprop weight decay of the student.
    loss : {"squared", "logcosh"}, default="squared"
        Per-sample student loss: squared error (eq. 1) or ``log cosh(T - S)``, which
        the paper uses for its CNN on MNIST (section 3.5). ``history_`` reports
        squared errors either way.
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
        generated inputs (the paper's protein case uses ``(0, 1)``); otherwise eq. 5.
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
        the teacher's units and converted. E.g. the paper's eq. 8 for digits:
        ``objective=eq8_objective(epsilon=1e-6, beta=1e-6, gamma=1.0,
        values=range(10))``.
    de_strategy : str, default="best2bin"
        Differential evolution strategy (see :func:`scipy.optimize.differential_evolution`).
    de_maxiter : int, default=25
        Differential evolution generations per run; each costs one teacher call.
    de_popsize : int, default=None
        Members per differential evolution run; ``None`` evolves all the start points
        of a batch (or of an epoch, with ``regenerate="epoch"``) as one population.
    de_radius : float, default=None
        Trust region of differential evolution, in standardized input units: each
        member stays within this distance (per feature) of its random start point.
        ``None``: the whole box of the input spec, as in the paper.
    max_teacher_queries : int, default=None
        Budget of rows sent to the teacher, validation labels included. Training
        stops before an epoch that would exceed it, keeping the best student so far;
        ``stop_reason_`` says so.
    n_validation : int, default=1000
        Size of the synthetic validation set, drawn once from the input spec and
        labelled by the teacher, on which the best student is selected.
    random_state : int, RandomState instance or None, default=None
        Seeds the student's initialization and every draw: the same value gives the
        same student on CPU.
    verbose : int, default=0
        ``1`` shows a progress bar with epoch, loss and validation fidelity.
    device : str or torch.device, default="cpu"
        Where student, teacher and sampling run (``"cuda"`` when available).

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
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Feature names, when ``fit`` got a DataFrame.
    history_ : dict of lists
        Per epoch: ``epoch``, ``alpha``, ``loss_generated`` and ``loss_random`` (mean
        squared student loss, eq. 1, in standardized units; NaN when the epoch had no
        such samples), ``val_rmse`` (RMSE to the validation targets, in target
        units), ``elapsed`` (seconds since the start of fit) and ``n_teacher_queries``.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        Epoch of the selected student.
    best_score_ : float
        Its validation RMSE.
    n_teacher_queries_ : int
        Rows sent to the teacher during fit, validation labels included.
    stop_reason_ : str
        Why training stopped: ``"max_epochs"``, ``"max_teacher_queries"`` or
        ``"interrupted"`` (KeyboardInterrupt after at least one epoch: the estimator
        is fitted with the best student so far).

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
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batches_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "direct_lr": [Interval(Real, 0, None, closed="neither")],
        "direct_steps": [Interval(Integral, 0, None, closed="left")],
        "regenerate": [StrOptions({"epoch", "batch"})],
        "optimizer": [StrOptions({"auto", "gradient", "de"})],
        "target_range": [tuple, list, None],
        "epsilon": [Interval(Real, 0, 1, closed="right")],
        "de_strategy": [str],
        "de_maxiter": [Interval(Integral, 1, None, closed="left")],
        "de_popsize": [Interval(Integral, 5, None, closed="left"), None],
        "de_radius": [Interval(Real, 0, None, closed="neither"), None],
        "max_teacher_queries": [Interval(Integral, 1, None, closed="left"), None],
        "n_validation": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "loss": [StrOptions({"squared", "logcosh"})],
        "objective": [None, list, tuple, str, callable],
    }

    def __init__(
        self,
        teacher,
        student=(50,),
        sampler="direct",
        *,
        alpha="decreasing",
        beta=1e-5,
        gamma=1e-5,
        max_epochs=2000,
        batches_per_epoch=10,
        batch_size=50,
        lr=1e-3,
        weight_decay=1e-5,
        loss="squared",
        direct_lr=0.1,
        direct_steps=2,
        regenerate="epoch",
        optimizer="auto",
        target_range=None,
        epsilon=0.05,
        objective=None,
        de_strategy="best2bin",
        de_maxiter=25,
        de_popsize=None,
        de_radius=None,
        max_teacher_queries=None,
        n_validation=1000,
        random_state=None,
        verbose=0,
        device="cpu",
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
        self.direct_lr = direct_lr
        self.direct_steps = direct_steps
        self.regenerate = regenerate
        self.optimizer = optimizer
        self.target_range = target_range
        self.epsilon = epsilon
        self.objective = objective
        self.de_strategy = de_strategy
        self.de_maxiter = de_maxiter
        self.de_popsize = de_popsize
        self.de_radius = de_radius
        self.max_teacher_queries = max_teacher_queries
        self.n_validation = n_validation
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X=None, y=None, *, bounds=None, input_spec=None, validation_data=None
    ):
        """Distil the teacher into a fresh student.

        Give the input distribution in one of four ways: ``X`` (an unlabeled sample;
        its mean, std, min and max make the spec), ``bounds`` (uniform on the box),
        ``input_spec`` (an :class:`~skdistill.InputSpec`), or nothing (the standard
        normal ``N(0, I)`` of the paper, when the teacher tells its number of
        features).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Unlabeled inputs describing the input distribution. Images
            ``(n, C, H, W)`` or ``(n, H, W)`` give an image spec (per-pixel moments,
            clipped to the overall pixel range).
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
        before = set(vars(self))
        try:
            return self._fit(X, bounds, input_spec, validation_data)
        except BaseException:
            # Nothing half-fitted: a failed fit leaves no fitted attribute behind.
            for key in set(vars(self)) - before:
                delattr(self, key)
            for key in [
                k for k in vars(self) if k.endswith("_") and not k.startswith("_")
            ]:
                delattr(self, key)
            raise

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
        if X is not None:
            X, shape = _image_rows(X)  # images (n, C, H, W) -> flat rows
            X = validate_data(
                self, X, reset=True, dtype=np.float64, ensure_min_samples=1
            )
            names = getattr(self, "feature_names_in_", None)
            spec = InputSpec.from_data(X, feature_names=names, shape=shape)
        elif bounds is not None:
            spec = InputSpec(bounds=bounds)
        elif input_spec is not None:
            if not isinstance(input_spec, InputSpec):
                raise TypeError(
                    f"input_spec must be an InputSpec, got {type(input_spec).__name__}."
                )
            spec = input_spec
        elif teacher.n_features_in_ is not None:
            spec = InputSpec(n_features=teacher.n_features_in_)
        else:
            raise ValueError(
                f"No input distribution given and the teacher {teacher!r} does not tell "
                "its number of features. Pass X (an unlabeled sample), bounds=[(low, "
                "high), ...] or input_spec=InputSpec(...) to fit."
            )
        if (
            teacher.n_features_in_ is not None
            and teacher.n_features_in_ != spec.n_features
        ):
            raise ValueError(
                f"The input spec has {spec.n_features} features but the teacher expects "
                f"{teacher.n_features_in_}."
            )
        return spec

    def _fit(self, X, bounds, input_spec, validation_data):
        t_start = time.perf_counter()
        device = torch.device(self.device)
        teacher = as_teacher(self.teacher, device=device)
        if teacher is self.teacher:  # a Teacher instance: count this fit's queries only
            teacher = copy.copy(teacher)
            teacher.n_queries = 0
            if hasattr(teacher, "n_cached"):
                teacher.n_cached = 0
        spec = self._resolve_spec(X, bounds, input_spec, teacher)
        d = spec.n_features
        if spec.shape is not None and isinstance(teacher, TorchTeacher):
            teacher.module = image_teacher(teacher.module, spec.shape)

        rng = check_random_state(self.random_state)
        data_seed, student_seed = (int(s) for s in rng.randint(_INT32_MAX, size=2))
        generator = torch.Generator().manual_seed(data_seed)
        space = StandardizedSpace(spec, device=device)

        # Synthetic validation set, labelled once; it also fixes the target scale and
        # is the first check of the teacher's answers (shape, NaN/inf, exceptions).
        z_val = space.draw(self.n_validation, generator)
        try:
            t_val_raw = teacher.predict(space.to_raw(z_val).cpu().double().numpy())
        except TeacherError as exc:
            raise TeacherError(
                f"Labelling the synthetic validation set: {exc}"
            ) from exc
        y_loc = float(t_val_raw.mean())
        y_scale = float(t_val_raw.std())
        if not y_scale > 1e-12 * max(1.0, abs(y_loc)):
            y_scale = 1.0
        t_val = torch.as_tensor(
            (t_val_raw - y_loc) / y_scale, dtype=torch.float32, device=device
        )
        z_sel, t_sel = z_val, t_val
        if validation_data is not None:
            z_sel, t_sel = self._validation_targets(
                validation_data, space, teacher, y_loc, y_scale, d
            )

        teacher_mlp = _teacher_mlp(teacher, space, y_loc, y_scale)
        teacher_fn = _standardized_teacher(teacher, space, y_loc, y_scale)
        label_fn = _standardized_teacher(teacher, space, y_loc, y_scale, teacher_mlp)
        student = build_image_student(self.student, d, student_seed, spec.shape)
        student = student.to(device)
        trainer = make_trainer(student, self.lr, self.weight_decay, self.loss)
        sampler = resolve_sampler(
            self.sampler,
            lr=self.direct_lr,
            steps=self.direct_steps,
            beta=self.beta,
            gamma=self.gamma,
            optimizer=self.optimizer,
            target_range=self.target_range,
            epsilon=self.epsilon,
            objective=None
            if self.objective is None
            else standardize_objective(self.objective, y_loc, y_scale),
            de_strategy=self.de_strategy,
            de_maxiter=self.de_maxiter,
            de_popsize=self.de_popsize,
            de_radius=self.de_radius,
        )
        problem = DistillProblem(
            space,
            teacher,
            teacher_fn,
            student,
            generator,
            label_fn=label_fn,
            y_loc=y_loc,
            y_scale=y_scale,
            teacher_mlp=teacher_mlp,
            student_mlp=trainer.mlp,
        )
        sampler.setup(problem)
        alpha_fn = resolve_alpha(self.alpha)

        history = {
            k: []
            for k in (
                "epoch",
                "alpha",
                "loss_generated",
                "loss_random",
                "val_rmse",
                "elapsed",
                "n_teacher_queries",
            )
        }
        best = (np.inf, -1, None)
        m, nb = self.batch_size, self.batches_per_epoch
        budget = self.max_teacher_queries
        stop_reason, n_epochs = "max_epochs", self.max_epochs
        bar = _progress(self.max_epochs, self.verbose)
        try:
            for epoch in range(self.max_epochs):
                alpha = float(alpha_fn(epoch / self.max_epochs))
                if not 0.0 <= alpha <= 1.0:
                    raise ValueError(
                        f"alpha must lie in [0, 1]; the schedule gave {alpha}."
                    )
                if budget is not None:
                    n_gen, n_rand = _batch_budget(sampler, alpha, m)
                    cost = sampler.query_cost(nb * n_gen) + nb * n_rand
                    if teacher.n_queries + cost > budget:
                        if epoch == 0:
                            raise ValueError(
                                f"max_teacher_queries={budget} is too small: the "
                                f"validation set took {teacher.n_queries} rows and one "
                                f"epoch needs {cost}."
                            )
                        stop_reason, n_epochs = "max_teacher_queries", epoch
                        break
                try:
                    losses = _run_epoch(
                        problem,
                        sampler,
                        trainer,
                        alpha,
                        m,
                        nb,
                        self.regenerate == "batch",
                    )
                except TeacherError as exc:
                    raise TeacherError(f"Epoch {epoch}: {exc}") from exc
                except KeyboardInterrupt:
                    if best[2] is None:
                        raise
                    # Ctrl-C: keep what was learned; the interrupted epoch is dropped
                    stop_reason, n_epochs = "interrupted", epoch
                    break
                s_sel = trainer.predict(z_sel)
                val_rmse = float(student_loss(t_sel, s_sel).mean().sqrt()) * y_scale
                if val_rmse < best[0]:
                    best = (val_rmse, epoch, trainer.snapshot())
                history["epoch"].append(epoch)
                history["alpha"].append(alpha if sampler.uses_alpha else 0.0)
                history["loss_generated"].append(losses[0])
                history["loss_random"].append(losses[1])
                history["val_rmse"].append(val_rmse)
                history["elapsed"].append(time.perf_counter() - t_start)
                history["n_teacher_queries"].append(teacher.n_queries)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{np.nansum(losses):.4g}",
                        val_rmse=f"{val_rmse:.4g}",
                        refresh=False,
                    )
        finally:
            if bar is not None:
                bar.close()

        if best[2] is None:
            raise FloatingPointError(
                "Training diverged: the validation RMSE was never finite. Try a smaller "
                "lr or direct_lr."
            )
        trainer.restore(best[2])
        student.eval()
        loc, scale = space.loc.cpu(), space.scale.cpu()
        sampler.problem = None  # drop references to the fit's closures (picklable)

        self.teacher_ = teacher
        self.sampler_ = sampler
        self.input_spec_ = spec
        self.n_features_in_ = d
        self.student_ = ScaledStudent(student, loc, scale, y_loc, y_scale).to(device)
        # predict runs a float64 twin: answers that do not depend on the batch a row
        # comes in (float32 matrix kernels differ by batch size in the last bits)
        self._student64 = copy.deepcopy(self.student_).double()
        self.history_ = history
        self.n_iter_ = n_epochs
        self.stop_reason_ = stop_reason
        self.best_epoch_ = best[1]
        self.best_score_ = best[0]
        self.n_teacher_queries_ = teacher.n_queries
        return self

    def _validation_targets(self, validation_data, space, teacher, y_loc, y_scale, d):
        if isinstance(validation_data, tuple) and len(validation_data) == 2:
            X_val, y_val = validation_data
        else:
            X_val, y_val = validation_data, None
        X_val, _ = _image_rows(X_val, space.spec.shape, infer=False)
        X_val = check_array(X_val, dtype=np.float64, input_name="validation X")
        if X_val.shape[1] != d:
            raise ValueError(
                f"validation_data has {X_val.shape[1]} features; the input spec has {d}."
            )
        if y_val is None:
            y_val = teacher.predict(X_val)
        else:
            y_val = check_array(
                y_val, ensure_2d=False, dtype=np.float64, input_name="validation y"
            ).reshape(-1)
            if y_val.shape[0] != X_val.shape[0]:
                raise ValueError(
                    f"validation_data has {X_val.shape[0]} rows of X but "
                    f"{y_val.shape[0]} targets."
                )
        z = space.from_raw(
            torch.as_tensor(X_val, dtype=torch.float32, device=space.loc.device)
        )
        t = torch.as_tensor(
            (y_val - y_loc) / y_scale, dtype=torch.float32, device=space.loc.device
        )
        return z, t

    def to_compact(self):
        """The student alone, as a small regressor to ship without the teacher.

        Ship the compact model where predictions are made: it predicts what
        :meth:`predict` does (to 1e-6), its ``joblib`` file holds only the student,
        and for MLP students it loads with NumPy and scikit-learn, without torch.
        Keep this estimator (``joblib.dump`` works on it too) to inspect
        ``history_``, compare with ``teacher_`` or refit: it holds the teacher.

        Returns
        -------
        CompactRegressor
            See :class:`skdistill.compact.CompactRegressor`, which also exports
            the student to skorch, TorchScript and ONNX.
        """
        from .compact import CompactRegressor

        return CompactRegressor.from_estimator(self)

    # -------------------------------------------------------------- prediction
    def __sklearn_clone__(self):
        """Clone every parameter but the teacher, which is shared as it is.

        ``sklearn.base.clone`` would otherwise clone a scikit-learn or skorch teacher
        into an unfitted copy, and ``GridSearchCV`` or ``cross_val_score`` would
        have nothing to distil. The teacher is never modified by ``fit``.
        """
        params = self.get_params(deep=False)
        teacher = params.pop("teacher")
        return type(self)(teacher, **{k: clone(v, safe=False) for k, v in params.items()})

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
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X, _ = _image_rows(X, self.input_spec_.shape, infer=False)  # images -> rows
        X = validate_data(self, X, reset=False, dtype=np.float64)
        device = self._student64.x_loc.device
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], 65536):
                # a copy: read-only inputs (pandas) cannot back a tensor
                chunk = torch.tensor(X[start : start + 65536], device=device)
                out.append(self._student64(chunk).reshape(-1).cpu().numpy())
        return np.concatenate(out) if out else np.empty(0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.allow_nan = False
        return tags


def _batch_budget(sampler, alpha, m):
    """Generated and random samples per batch: ``m`` each, or all ``2 m`` of one kind
    when alpha is 0 or 1 (or the sampler ignores alpha), as in the paper."""
    if not sampler.uses_alpha or alpha == 0.0:
        return 0, 2 * m
    if alpha == 1.0:
        return 2 * m, 0
    return m, m


def _weights(n_gen, n_other, alpha, device):
    """Per-sample weights turning eq. 7 into one weighted sum over a joint batch:
    ``alpha`` spread over the generated rows, ``1 - alpha`` over the others."""
    if not n_gen:
        alpha = 0.0
    elif not n_other:
        alpha = 1.0
    return torch.cat(
        [
            torch.full((n_gen,), alpha / max(n_gen, 1)),
            torch.full((n_other,), (1.0 - alpha) / max(n_other, 1)),
        ]
    ).to(device)


def _as_generated(out):
    return out if isinstance(out, Generated) else Generated(out)


def _run_epoch(problem, sampler, trainer, alpha, m, nb, per_batch):
    """One epoch of Algorithm 1: ``nb`` student updates on eq. 7.

    With ``per_batch`` the generated samples of each batch are optimised against the
    student as it is just before that batch (Algorithm 1 to the letter). Otherwise
    the epoch's generated samples are optimised together against the student at the
    start of the epoch, and labelled with the random samples in one teacher call:
    ``nb`` times fewer, larger tensor operations (and teacher calls) for a student
    that moves very little within an epoch.

    Samplers that already know labels (differential evolution) are not asked twice,
    and the other samples they had labelled (``Generated.extra_x``) are spread over
    the epoch's batches with the random samples: every answer trains the student.

    Returns the mean student loss (eq. 1) on generated and on other samples.
    """
    space, label_fn, gen = problem.space, problem.label_fn, problem.generator
    device = space.loc.device
    n_gen, n_rand = _batch_budget(sampler, alpha, m)
    d = space.n_features
    draws = space.draw(nb * (n_gen + n_rand), gen)
    z_start = draws[: nb * n_gen]
    z_rand = draws[nb * n_gen :]

    if per_batch and n_gen:
        t_rand = _label(label_fn, z_rand).view(nb, n_rand) if n_rand else None
        z_rand = z_rand.view(nb, n_rand, d)
        sq = []
        for b in range(nb):
            g = _as_generated(sampler.generate(z_start[b * n_gen : (b + 1) * n_gen]))
            t_gen = g.t if g.t is not None else _label(label_fn, g.x)
            z_other = [z_rand[b]] if n_rand else []
            t_other = [t_rand[b]] if n_rand else []
            if g.extra_x is not None:
                z_other.append(g.extra_x)
                t_other.append(g.extra_t)
            sq.append(_step(trainer, alpha, g.x, t_gen, z_other, t_other))
        return _mean_losses(sq, n_gen)

    g = _as_generated(sampler.generate(z_start)) if n_gen else Generated(z_start)
    if g.t is None and g.extra_x is None:
        # the common case: label generated and random samples in one teacher call
        z_all = torch.cat([g.x.view(nb, n_gen, d), z_rand.view(nb, n_rand, d)], 1)
        t_all = _label(label_fn, z_all.view(nb * (n_gen + n_rand), d)).view(nb, -1)
        weights = _weights(n_gen, n_rand, alpha, device)
        sq = [trainer.step(z_all[b], t_all[b], weights) for b in range(nb)]
        return _mean_losses(sq, n_gen)
    t_rand = _label(label_fn, z_rand) if n_rand else z_rand[:, 0]
    z_gen, t_gen = g.x.view(nb, n_gen, d), g.t.view(nb, n_gen)
    z_rand, t_rand = z_rand.view(nb, n_rand, d), t_rand.view(nb, n_rand)
    extra_z = g.extra_x.tensor_split(nb) if g.extra_x is not None else [None] * nb
    extra_t = g.extra_t.tensor_split(nb) if g.extra_x is not None else [None] * nb
    sq = []
    for b in range(nb):
        z_other = [z_rand[b]] + ([extra_z[b]] if extra_z[b] is not None else [])
        t_other = [t_rand[b]] + ([extra_t[b]] if extra_t[b] is not None else [])
        sq.append(_step(trainer, alpha, z_gen[b], t_gen[b], z_other, t_other))
    return _mean_losses(sq, n_gen)


def _label(label_fn, z):
    with torch.no_grad():
        return label_fn(z)


def _step(trainer, alpha, z_gen, t_gen, z_other, t_other):
    """One student update on generated rows and other (random, extra) rows."""
    n_other = sum(len(z) for z in z_other)
    z = torch.cat([z_gen, *z_other])
    t = torch.cat([t_gen, *t_other])
    return trainer.step(z, t, _weights(len(z_gen), n_other, alpha, z.device)), len(
        z_gen
    )


def _mean_losses(sq_losses, n_gen):
    """Mean eq. 1 loss of generated rows and of the other rows over an epoch."""
    if sq_losses and isinstance(sq_losses[0], tuple):
        gen = [s[:k] for s, k in sq_losses]
        other = [s[k:] for s, k in sq_losses]
    else:
        gen = [s[:n_gen] for s in sq_losses]
        other = [s[n_gen:] for s in sq_losses]
    gen, other = torch.cat(gen), torch.cat(other)
    loss_gen = float(gen.mean()) if len(gen) else float("nan")
    loss_other = float(other.mean()) if len(other) else float("nan")
    return loss_gen, loss_other


def _teacher_mlp(teacher, space, y_loc, y_scale):
    """Autograd-free standardized view of a float32 MLP teacher, or None."""
    if not isinstance(teacher, TorchTeacher) or teacher.dtype != torch.float32:
        return None
    return FunctionalMLP.from_module(
        teacher.module, space.loc, space.scale, y_loc, y_scale, fold_tanh=True
    )


def _standardized_teacher(teacher, space, y_loc, y_scale, teacher_mlp=None):
    """Teacher in standardized units: ``z -> (T(loc + scale z) - y_loc) / y_scale``."""
    if teacher_mlp is not None:
        forward_mlp = teacher_mlp.forward

        def teacher_fn(z):
            teacher.n_queries += z.shape[0]
            return forward_mlp(z)[0]
    elif teacher.differentiable:
        forward = teacher.forward

        def teacher_fn(z):
            teacher.n_queries += z.shape[0]
            return (forward(space.to_raw(z)) - y_loc) / y_scale
    else:
        predict = teacher.predict_tensor

        def teacher_fn(z):
            return (predict(space.to_raw(z)) - y_loc) / y_scale

    return teacher_fn


def _progress(total, verbose):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="distilling", unit="epoch", mininterval=0.5)

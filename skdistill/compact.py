"""The compact model: a distilled student that ships without its teacher.

:meth:`DataFreeDistillRegressor.to_compact
<skdistill.DataFreeDistillRegressor.to_compact>` returns a
:class:`CompactRegressor`, which holds only the student's weights and the input and
target scaling it was trained with. This module imports neither torch nor the rest
of the training code at import time: a compact model of an MLP student loads and
predicts with NumPy and scikit-learn alone.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import columns as _columns
from ._activations import numpy_forward, to_module

__all__ = ["CompactRegressor"]

_CHUNK = 65536  # rows per forward pass, bounding the memory of hidden layers
_ONE_THREAD_FROM = 256  # rows; below, BLAS runs single-threaded on its own
_BLAS = []  # the process's ThreadpoolController, made on first use (costly to make)


def _blas_controller():
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0]


_DTYPES = ("float32", "float64")


class CompactRegressor(RegressorMixin, BaseEstimator):
    """A distilled student alone: small, fast, and free of the teacher.

    Made by :meth:`DataFreeDistillRegressor.to_compact
    <skdistill.DataFreeDistillRegressor.to_compact>` (or :meth:`from_estimator`),
    not by ``fit``. It predicts exactly what the estimator predicts (both compute
    in float64) but keeps no reference to the teacher, the sampler or the training
    history, so ``joblib.dump`` writes only the student.

    **Which one to ship.** Ship the compact model to where predictions are made.
    Keep (or ``joblib.dump``) the full :class:`~skdistill.DataFreeDistillRegressor`
    where you may want to inspect ``history_``, compare with ``teacher_`` or refit:
    it holds the teacher, and loading it needs torch and whatever the teacher needs.

    **Dependencies at load time.** For MLP students (``Linear`` layers with tanh,
    ReLU, sigmoid, softplus or no activation: every student given as hidden-layer
    sizes) the weights are stored as float64 NumPy arrays and the forward pass runs
    in NumPy: loading and predicting need NumPy, SciPy and scikit-learn only, not
    torch. Any other student module is kept as a float64 torch module in
    ``module_``; then torch is needed to load and predict.

    ``fit`` does nothing and :func:`sklearn.base.clone` returns the model itself,
    as for :class:`sklearn.frozen.FrozenEstimator`: a compact model can sit in a
    Pipeline or be scored by cross-validation without being changed. To train it
    further on real data, use :meth:`to_skorch`.

    **Tabular inputs.** When the input spec has columns (a DataFrame given to
    ``fit``), ``predict`` takes a DataFrame (columns matched by name) or rows in
    the spec's column order, and encodes them as the estimator does (one
    indicator per level of each categorical column; :meth:`encode`); the encoding
    is part of the compact model and needs NumPy only (pandas to read
    DataFrames). The exports (:meth:`to_torch`, :meth:`to_skorch`,
    :meth:`to_torchscript`, :meth:`to_onnx`) take the *encoded* rows: call
    :meth:`encode` in front of them.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features (columns, for tabular specs).
    feature_names_in_ : ndarray of str
        Feature names, when the distillation knew them (a DataFrame given to
        ``fit``, or names in the input spec).
    columns_ : tuple of Column or None
        The columns of a tabular input spec (see :mod:`skdistill.columns`).
    x_loc_, x_scale_ : ndarray of shape (n_encoded,), or 0.0 and 1.0
        The student sees ``(encode(X) - x_loc_) / x_scale_``; ``n_encoded`` is
        ``n_features_in_`` without columns. Float32 models hold the
        standardization in their first layer instead (0.0 and 1.0 here).
    y_loc_, y_scale_ : float, or ndarray of shape (n_outputs_,)
        Its output ``o`` is returned as ``y_loc_ + y_scale_ * o``.
    n_outputs_ : int
        Outputs per row: ``predict`` returns shape (n,) when 1, ``(n, n_outputs_)``
        otherwise.
    coefs_ : list of ndarray of shape (n_in, n_out), or None
        Weights of each layer of an MLP student, float64 or float32 (None for other
        modules).
    intercepts_ : list of ndarray of shape (n_out,), or None
        Biases of each layer.
    activations_ : list or None
        Activation after each layer: ``"identity"``, ``"tanh"``, ``"relu"``,
        ``"logistic"`` or ``("softplus", beta, threshold)``.
    module_ : torch.nn.Module or None
        The student (a float64 :class:`~skdistill.students.ScaledStudent`) when it
        is not an MLP; None otherwise.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdistill import DataFreeDistillRegressor
    >>> teacher = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
    ...                               torch.nn.Linear(8, 1))
    >>> est = DataFreeDistillRegressor(teacher, student=(4,), max_epochs=5,
    ...                                random_state=0).fit(bounds=[(-1, 1)] * 3)
    >>> compact = est.to_compact()
    >>> compact
    CompactRegressor(3 -> 4 tanh -> 1, numpy)
    >>> X = np.zeros((2, 3))
    >>> bool(np.allclose(compact.predict(X), est.predict(X), rtol=0, atol=1e-6))
    True
    """

    def __init__(self):
        pass

    # ------------------------------------------------------------ construction
    @classmethod
    def from_estimator(cls, estimator, dtype="float64"):
        """The compact model of a fitted :class:`~skdistill.DataFreeDistillRegressor`.

        Parameters
        ----------
        estimator : DataFreeDistillRegressor
            Fitted.
        dtype : {"float64", "float32"}, default="float64"
            Precision of the stored weights and of the forward pass. ``"float64"``
            predicts what the estimator does (to 1e-9); ``"float32"`` halves the
            file and predicts faster, within about 1e-6 of it relative to the
            spread of the predictions (the precision the student was trained in).
            Only MLP students can be float32.

        Returns
        -------
        CompactRegressor
        """
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}.")
        check_is_fitted(estimator, "student_")
        if not hasattr(estimator.student_, "core"):  # an OutputStack
            raise ValueError(
                "The students of outputs='separate' are one compact model only when "
                "they are MLPs of the same depth and activations (then they are "
                "combined exactly); compact each of estimators_ instead."
            )
        student = copy.deepcopy(estimator.student_).cpu().double().eval()
        self = cls()
        self.n_outputs_ = int(getattr(estimator, "n_outputs_", 1))
        self.n_features_in_ = int(estimator.n_features_in_)
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            spec = getattr(estimator, "input_spec_", None)
            names = getattr(spec, "feature_names", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        spec = getattr(estimator, "input_spec_", None)
        self.columns_ = spec.columns if getattr(spec, "tabular", False) else None
        d = self.n_encoded
        self.x_loc_ = np.broadcast_to(_numpy_of(student.x_loc), (d,)).copy()
        self.x_scale_ = np.broadcast_to(_numpy_of(student.x_scale), (d,)).copy()
        if self.n_outputs_ == 1:
            self.y_loc_ = float(student.y_loc)
            self.y_scale_ = float(student.y_scale)
        else:
            self.y_loc_ = _numpy_of(student.y_loc).reshape(-1)
            self.y_scale_ = _numpy_of(student.y_scale).reshape(-1)
        layers = _mlp_layers(student.core)
        if layers is None:
            if dtype != "float64":
                raise ValueError(
                    "dtype='float32' needs an MLP student (Linear layers and "
                    f"activations); this student is a {type(student.core).__name__}, "
                    "kept as a float64 torch module."
                )
            self.coefs_ = self.intercepts_ = self.activations_ = None
            self.module_ = student.requires_grad_(False)
        else:
            self.coefs_ = [np.ascontiguousarray(W.T) for W, _, _ in layers]
            self.intercepts_ = [b for _, b, _ in layers]
            self.activations_ = [act for _, _, act in layers]
            self.module_ = None
            if dtype == "float32":
                # the standardization folded into the first layer (in float64),
                # as predict computes it: two arrays fewer in the file
                self.coefs_[0], self.intercepts_[0] = _fold_input(
                    self.coefs_[0], self.intercepts_[0], self.x_loc_, self.x_scale_
                )
                self.x_loc_, self.x_scale_ = 0.0, 1.0
            self.coefs_ = [np.ascontiguousarray(W, dtype=dtype) for W in self.coefs_]
            self.intercepts_ = [np.asarray(b, dtype=dtype) for b in self.intercepts_]
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_features_in_")

    @property
    def n_encoded(self):
        """Width of the rows the student reads (:meth:`encode`'s output)."""
        columns = getattr(self, "columns_", None)
        if columns is None:
            return self.n_features_in_
        return sum(c.width for c in columns)

    def encode(self, X):
        """The rows the student and the exports read: for tabular specs, numbers as
        they are and one indicator per level of every categorical column (constant
        columns dropped), with a ValueError naming the column for a missing
        column, a NaN or an unknown level; other inputs are checked and returned
        as float64.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_encoded)
        """
        check_is_fitted(self)
        if getattr(self, "columns_", None) is not None:
            return _columns.encode(self.columns_, X)
        return self._check_X(X)

    def __sklearn_clone__(self):
        return self

    def fit(self, X=None, y=None, **fit_params):
        """Do nothing: a compact model is already trained (see the class notes).

        Returns
        -------
        self
        """
        check_is_fitted(self)
        return self

    # -------------------------------------------------------------- prediction
    def predict(self, X):
        """The student's predictions, equal to the estimator's.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs_)
        """
        check_is_fitted(self)
        X = self.encode(X)
        if self.module_ is not None:
            forward = self._forward_torch
        elif X.shape[0] >= _ONE_THREAD_FROM:
            forward = self._forward_numpy_one_thread
        else:
            forward = self._forward_numpy
        out = [forward(X[i : i + _CHUNK]) for i in range(0, X.shape[0], _CHUNK)]
        k = self.n_outputs
        return np.concatenate(out) if out else np.empty((0,) if k == 1 else (0, k))

    @property
    def n_outputs(self):
        """``n_outputs_`` (1 for models saved before it existed)."""
        return getattr(self, "n_outputs_", 1)

    def _check_X(self, X):
        """``validate_data``, with a shortcut for plain float arrays.

        scikit-learn's checks cost about 0.1 ms a call, several times the forward
        pass of a small student on one row; a plain 2-D float NumPy array of the
        right width with finite values is what they would accept unchanged, so it
        skips them (unless feature names are to be checked: then they run).
        """
        if (
            type(X) is np.ndarray
            and X.dtype.kind == "f"
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            X64 = X.astype(np.float64, copy=False)
            if np.isfinite(X64).all():
                return X64
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _first_layer(self):
        """The first layer with the input standardization folded in (computed in
        float64, kept in the model's dtype; a cache, not pickled)."""
        first = self.__dict__.get("_first")
        if first is None:
            dtype = self.coefs_[0].dtype
            W, b = _fold_input(self.coefs_[0], self.intercepts_[0], self.x_loc_,
                               self.x_scale_)
            first = self._first = (np.ascontiguousarray(W, dtype=dtype),
                                   b.astype(dtype))
        return first

    def __getstate__(self):
        # the weights travel as one flat buffer: one array's overhead in the file
        # instead of one per layer and bias (a few hundred bytes of a small model)
        state = dict(super().__getstate__())  # a copy: object's is the live dict
        state.pop("_first", None)
        if state.get("coefs_") is not None:
            arrays = [*state.pop("coefs_"), *state.pop("intercepts_")]
            state["_weights"] = np.concatenate([a.ravel() for a in arrays])
            state["_shapes"] = [a.shape for a in arrays]
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "_weights" in state:
            flat, shapes = state.pop("_weights"), state.pop("_shapes")
            arrays, at = [], 0
            for shape in shapes:
                size = int(np.prod(shape))
                arrays.append(flat[at : at + size].reshape(shape))
                at += size
            k = len(shapes) // 2
            state["coefs_"], state["intercepts_"] = arrays[:k], arrays[k:]
        super().__setstate__(state)

    def _forward_numpy(self, X):
        # raw rows straight into the first layer (standardization folded in), the
        # activation in place on each layer's output: one array per layer
        layers = [self._first_layer(), *zip(self.coefs_[1:], self.intercepts_[1:])]
        h = X.astype(self.coefs_[0].dtype, copy=False)
        for (W, b), act in zip(layers, self.activations_):
            h = h @ W
            h += b
            h = numpy_forward(act)(h)  # in place
        out = (h[:, 0] if self.n_outputs == 1 else h).astype(np.float64)
        out *= self.y_scale_
        out += self.y_loc_
        return out

    def _forward_numpy_one_thread(self, X):
        # A student's matrix products are small: threads gain little on an idle
        # machine and stall for milliseconds on a busy one (OpenBLAS waits for
        # descheduled workers), so large batches run them on one thread.
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._forward_numpy(X)

    def _forward_torch(self, X):
        import torch

        if not X.flags.writeable:  # torch warns on read-only arrays (pandas views)
            X = X.copy()
        from .students import as_outputs

        with torch.no_grad():
            return as_outputs(self.module_(torch.as_tensor(X)), self.n_outputs).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __repr__(self, N_CHAR_MAX=700):
        if not self.__sklearn_is_fitted__():
            return f"{type(self).__name__}()"
        if self.module_ is not None:
            return f"{type(self).__name__}({type(self.module_.core).__name__}, torch)"
        parts = [str(self.n_features_in_)]
        if getattr(self, "columns_", None) is not None:
            parts = [f"{self.n_features_in_} columns ({self.n_encoded} encoded)"]
        for W, act in zip(self.coefs_, self.activations_):
            name = act if isinstance(act, str) else act[0]
            parts.append(
                f"{W.shape[1]} {name}" if name != "identity" else str(W.shape[1])
            )
        kind = "numpy" if self.coefs_[0].dtype == np.float64 else "numpy float32"
        return f"{type(self).__name__}({' -> '.join(parts)}, {kind})"

    # ------------------------------------------------- scikit-learn and C forms
    def _require_mlp(self):
        if self.coefs_ is None:
            raise ValueError(
                "Only MLP students (Linear layers and activations) have a scikit-"
                f"learn or C form; this student is a {type(self.module_.core).__name__}."
            )

    def _folded_layers(self):
        """``[(W, b, act)]`` in float64 with the input standardization folded into
        the first layer and the output scaling into the last: the same function of
        raw (encoded) rows, as plain layers."""
        self._require_mlp()
        Ws = [np.asarray(W, dtype=np.float64) for W in self.coefs_]
        bs = [np.asarray(b, dtype=np.float64) for b in self.intercepts_]
        Ws[0], bs[0] = _fold_input(Ws[0], bs[0], self.x_loc_, self.x_scale_)
        Ws[-1], bs[-1] = Ws[-1] * self.y_scale_, bs[-1] * self.y_scale_ + self.y_loc_
        return list(zip(Ws, bs, self.activations_))

    def to_sklearn(self):
        """The student as a fitted scikit-learn ``MLPRegressor``.

        Its ``coefs_`` and ``intercepts_`` carry the student with the input
        standardization folded into the first layer and the target scaling into the
        last, so it predicts what this model does (to about 1e-12 relative, in
        float64) from the same rows, and everything that reads scikit-learn MLPs
        works on it unchanged: ``joblib``, ``skl2onnx`` (ONNX without torch),
        hummingbird, m2cgen, emlearn. For tabular specs the result is a
        ``Pipeline(ColumnTransformer, MLPRegressor)`` whose ColumnTransformer
        one-hot encodes the categorical columns (``OneHotEncoder`` with the spec's
        levels) and passes the numbers through, in the spec's order.

        Needs hidden layers of one activation among tanh, relu, logistic and
        identity (``MLPRegressor`` has one ``activation`` for all) and a linear
        output: every student given as hidden-layer sizes.

        Returns
        -------
        MLPRegressor or Pipeline
        """
        from sklearn.neural_network import MLPRegressor

        check_is_fitted(self)
        layers = self._folded_layers()
        hidden = [act for _, _, act in layers[:-1]]
        if not hidden:
            raise ValueError("to_sklearn needs a student with a hidden layer.")
        names = {a if isinstance(a, str) else a[0] for a in hidden}
        if len(names) != 1 or not names <= {"tanh", "relu", "logistic", "identity"}:
            raise ValueError(
                "MLPRegressor has one activation for every hidden layer, among "
                f"tanh, relu, logistic and identity; this student has {hidden}."
            )
        if layers[-1][2] != "identity":
            raise ValueError(
                f"MLPRegressor has a linear output; this student ends in "
                f"{layers[-1][2]!r}."
            )
        mlp = MLPRegressor(
            hidden_layer_sizes=tuple(W.shape[1] for W, _, _ in layers[:-1]),
            activation=names.pop(),
        )
        mlp.coefs_ = [W.copy() for W, _, _ in layers]
        mlp.intercepts_ = [b.copy() for _, b, _ in layers]
        mlp.n_layers_ = len(layers) + 1
        mlp.n_outputs_ = self.n_outputs
        mlp.out_activation_ = "identity"
        mlp.n_iter_ = 0
        mlp.t_ = 0
        mlp.loss_ = float("nan")
        mlp.loss_curve_ = []
        mlp.best_loss_ = None
        mlp._no_improvement_count = 0
        columns = getattr(self, "columns_", None)
        if columns is None:
            mlp.n_features_in_ = self.n_features_in_
            if hasattr(self, "feature_names_in_"):
                mlp.feature_names_in_ = np.asarray(self.feature_names_in_, dtype=object)
            return mlp
        mlp.n_features_in_ = self.n_encoded
        return _tabular_pipeline(columns, mlp)

    def to_c(self, path=None, name="skdistill_student"):
        """The student as one C99 header for microcontrollers, in float32.

        No dynamic allocation and nothing from libc but ``math.h`` (``tanhf``,
        ``expf``, ``log1pf``): weights are ``static const float`` arrays (flash
        on most microcontrollers), hidden activations live on the stack.
        ``float NAME_predict(const float *x)`` predicts one row of
        ``NAME_N_FEATURES`` raw values (encoded rows for tabular specs, see
        :meth:`encode`); ``void NAME_predict_batch(const float *X, int n, float
        *y)`` predicts ``n`` rows stored one after the other. With k > 1 outputs
        they write them instead: ``void NAME_predict(const float *x, float *y)``
        (``NAME_N_OUTPUTS`` values) and ``NAME_predict_batch`` (``n * k`` values,
        row by row). It computes what ``to_compact(dtype="float32")`` predicts,
        to float32 rounding.

        Parameters
        ----------
        path : str or path-like, default=None
            Where to write the header.
        name : str, default="skdistill_student"
            Prefix of every C name (a C identifier).

        Returns
        -------
        str
            The header's text.
        """
        from ._export_c import c_header

        check_is_fitted(self)
        self._require_mlp()
        W0, b0 = self._first_layer()  # the standardization folded in, as predict
        text = c_header(
            name,
            [np.asarray(W, dtype=np.float32) for W in [W0, *self.coefs_[1:]]],
            [np.asarray(b, dtype=np.float32) for b in [b0, *self.intercepts_[1:]]],
            self.activations_,
            self.y_loc_,
            self.y_scale_,
        )
        if path is not None:
            with open(path, "w", encoding="ascii") as f:
                f.write(text)
        return text

    # ----------------------------------------------------------------- exports
    def to_torch(self, dtype="float32"):
        """The student as a torch module taking and returning raw units.

        Parameters
        ----------
        dtype : {"float32", "float64"}, default="float32"
            ``"float64"`` reproduces :meth:`predict` to rounding; ``"float32"`` is
            what the student was trained in, and what most runtimes expect.

        Returns
        -------
        ScaledStudent
            A new module in eval mode (``forward(x)`` of shape (n,), or
            ``(n, n_outputs_)``, for x of shape (n, n_features)); changing it does not
            change this model.
        """
        import torch
        from torch import nn

        from .students import ScaledStudent

        check_is_fitted(self)
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}.")
        if self.module_ is not None:
            module = copy.deepcopy(self.module_)
        else:
            layers = []
            for W, b, act in zip(self.coefs_, self.intercepts_, self.activations_):
                linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64)
                with torch.no_grad():
                    linear.weight.copy_(torch.as_tensor(W.T))
                    linear.bias.copy_(torch.as_tensor(b))
                layers.append(linear)
                if act != "identity":
                    layers.append(to_module(act))
            module = ScaledStudent(
                nn.Sequential(*layers),
                self.x_loc_,
                self.x_scale_,
                self.y_loc_,
                self.y_scale_,
            )
        return module.to(getattr(torch, dtype)).eval().requires_grad_(False)

    def to_skorch(self, **kwargs):
        """An initialized skorch ``NeuralNetRegressor`` around the student.

        The net takes raw inputs and returns raw targets of shape (n, 1) (or
        ``(n, n_outputs_)``), like any skorch regressor:
        ``net.predict(X.astype(np.float32))`` gives this model's predictions (in
        float32), and ``net.partial_fit(X, y.reshape(-1, 1))`` (``Y`` of shape
        (n, k) with k outputs) fine-tunes the student on real data. The input and target scaling are
        buffers, not parameters: training moves only the student's weights.

        Parameters
        ----------
        **kwargs
            Passed to ``NeuralNetRegressor`` (``lr``, ``optimizer``, ``max_epochs``,
            ``train_split``, ...).

        Returns
        -------
        skorch.NeuralNetRegressor
        """
        from skorch import NeuralNetRegressor
        from torch import nn

        column = nn.Unflatten(0, (-1, 1)) if self.n_outputs == 1 else nn.Identity()
        module = nn.Sequential(self.to_torch("float32"), column)
        module.requires_grad_(True).train()
        return NeuralNetRegressor(module, **kwargs).initialize()

    def to_torchscript(self, path=None, dtype="float32"):
        """The student as a TorchScript module, saved to ``path`` when given.

        TorchScript is deprecated from torch 2.9 on (torch warns); prefer
        :meth:`to_onnx`, or ``torch.export`` on :meth:`to_torch`, for new work.

        Parameters
        ----------
        path : str or path-like, default=None
            Where to save it (``torch.jit.load(path)`` reads it back).
        dtype : {"float32", "float64"}, default="float32"

        Returns
        -------
        torch.jit.ScriptModule
        """
        import torch

        scripted = torch.jit.script(self.to_torch(dtype))
        if path is not None:
            torch.jit.save(scripted, str(path))
        return scripted

    def to_onnx(self, path, dtype="float32"):
        """Save the student as an ONNX model with a dynamic batch dimension.

        The graph has one input ``"X"`` of shape (batch, n_features) and one output
        ``"y"`` of shape (batch,) (or ``(batch, n_outputs_)``), in raw units. For
        tabular specs the input is the encoded rows (batch, n_encoded) of
        :meth:`encode`: the one-hot encoding of categorical columns stays outside
        the graph. Needs the ``onnx`` extra
        (``pip install "skdistill[onnx]"``: onnx and onnxscript for torch's exporter,
        onnxruntime to run the file).

        Parameters
        ----------
        path : str or path-like
        dtype : {"float32", "float64"}, default="float32"
            Element type of the input and output; ``"float64"`` reproduces
            :meth:`predict` to rounding.

        Returns
        -------
        str
            ``path``.
        """
        for package in ("onnx", "onnxscript"):
            try:
                __import__(package)
            except ImportError:
                raise ImportError(
                    f"to_onnx needs {package!r}, which torch's ONNX exporter uses: "
                    'pip install "skdistill[onnx]".'
                ) from None
        import logging
        import warnings

        import torch

        module = self.to_torch(dtype)
        example = torch.zeros((2, self.n_encoded), dtype=getattr(torch, dtype))
        batch = torch.export.Dim("batch")
        registry = logging.getLogger("torch.onnx._internal.exporter._registration")
        level = registry.level
        registry.setLevel(logging.ERROR)  # "torchvision is not installed" notes
        try:
            with warnings.catch_warnings():
                # torch's pytree internals, not something the caller can act on
                warnings.filterwarnings(
                    "ignore", message=".*LeafSpec.*", category=FutureWarning
                )
                program = torch.onnx.export(
                    module,
                    (example,),
                    input_names=["X"],
                    output_names=["y"],
                    dynamic_shapes=({0: batch},),
                    dynamo=True,
                    verbose=False,
                )
        finally:
            registry.setLevel(level)
        program.save(str(path))
        return str(path)


def _fold_input(W, b, x_loc, x_scale):
    """First-layer weights ``(n_in, n_out)`` and biases, in float64, that read raw
    rows: ``((x - loc) / scale) @ W + b == x @ W' + b'``. Scalars ``loc, scale``
    (0.0 and 1.0 for already folded models) broadcast."""
    W = np.asarray(W, dtype=np.float64)
    d = W.shape[0]
    loc = np.broadcast_to(np.asarray(x_loc, dtype=np.float64), (d,))
    scale = np.broadcast_to(np.asarray(x_scale, dtype=np.float64), (d,))
    return W / scale[:, None], np.asarray(b, dtype=np.float64) - (loc / scale) @ W


def _tabular_pipeline(columns, mlp):
    """``Pipeline(ColumnTransformer, mlp)`` encoding ``columns`` as
    :func:`skdistill.columns.encode` does, fitted on rows covering every level."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    parts = []
    for c in columns:
        if c.kind == "categorical":
            encoder = OneHotEncoder(
                categories=[list(c.levels)], sparse_output=False,
                handle_unknown="ignore" if c.handle_unknown == "ignore" else "error",
            )
            parts.append((c.name, encoder, [c.name]))
        elif c.kind in _columns.NUMERIC_KINDS:
            parts.append((c.name, "passthrough", [c.name]))
    encode = ColumnTransformer(parts, remainder="drop")
    # fitted on a frame that holds every level of every categorical column
    n = max([c.width for c in columns if c.kind == "categorical"] + [1])
    R = np.zeros((n, sum(c.width for c in columns)))
    at = 0
    for c in columns:
        if c.kind == "categorical":
            R[np.arange(n), at + np.arange(n) % c.width] = 1.0
        elif c.kind in _columns.NUMERIC_KINDS:
            low, high = c.bounds
            R[:, at] = low if np.isfinite(low) else (high if np.isfinite(high) else 0.0)
        at += c.width
    encode.fit(_columns.decode(columns, R))
    return Pipeline([("encode", encode), ("mlp", mlp)])


def _numpy_of(tensor):
    return tensor.detach().cpu().double().numpy().copy()


def _mlp_layers(core):
    """``[(W, b, activation), ...]`` (float64 NumPy) of a plain MLP, else None."""
    from ._mlp import mlp_layers

    layers = mlp_layers(core)
    if layers is None:
        return None
    out = []
    for linear, act in layers:
        W = _numpy_of(linear.weight)
        b = _numpy_of(linear.bias) if linear.bias is not None else np.zeros(W.shape[0])
        out.append((W, b, act))
    return out

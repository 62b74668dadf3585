"""Exact torch translations of differentiable scikit-learn regressors.

Many fitted scikit-learn models predict with a differentiable formula: a linear model
is ``X @ coef_ + intercept_``, an ``MLPRegressor`` a stack of affine maps and
activations, the usual scalers affine maps. Rewritten as a torch module, such a model
gives input gradients, so the ``"direct"`` sampler (and any gradient-based sampler)
can use it instead of treating it as a black box.

:func:`translate_sklearn` builds the module; :class:`TranslatedTeacher` is the teacher
adapter the estimator uses for it. Consecutive affine maps are folded into one
``Linear`` (a ``StandardScaler`` in front of an ``MLPRegressor`` goes into the first
layer, a target scaler into the last), so a scaled MLP becomes a plain
``nn.Sequential`` of ``Linear`` and activations, which runs on the estimator's
autograd-free MLP path.

Supported (anything else stays a black box):

- ``MLPRegressor`` with any of its activations (identity, logistic, tanh, relu) and
  either loss (``"poisson"`` ends in ``exp``);
- linear regressors: every fitted ``LinearModel`` (``LinearRegression``, ``Ridge``,
  ``Lasso``, ``ElasticNet``, ``Lars``, ``HuberRegressor``, their ``CV`` variants...)
  and the SGD regressors;
- ``Pipeline`` of ``StandardScaler``, ``MinMaxScaler`` (without ``clip``),
  ``MaxAbsScaler``, ``PolynomialFeatures`` and identity ``FunctionTransformer`` steps
  in front of a supported regressor;
- ``TransformedTargetRegressor`` around a supported regressor whose target
  transformer is one of those scalers, or has no ``inverse_func``.

Models with k outputs (fitted on 2-D ``y``) translate to modules with k outputs.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from .._activations import to_module
from ._blackbox import SklearnTeacher
from ._torch import TorchTeacher

__all__ = ["translate_sklearn", "TranslatedTeacher"]


class Exp(nn.Module):
    """``exp``, the output activation of ``MLPRegressor(loss="poisson")``."""

    def forward(self, x):
        return torch.exp(x)


def _activation_module(name):
    """The module of a hidden or output activation of ``MLPRegressor``: the
    project's table (:mod:`skdistill._activations`), and ``exp`` (Poisson loss)."""
    return Exp() if name == "exp" else to_module(name)


_MLP_ACTIVATIONS = ("identity", "tanh", "logistic", "relu")  # hidden layers


class _Untranslatable(Exception):
    """The model (or one of its parts) has no exact torch translation here."""


# --------------------------------------------------------------------- stages
# A model becomes a list of stages, applied in order to rows x:
#   ("affine", A, c)  x -> x @ A + c        (A of shape (d_in, d_out), float64)
#   ("act", name)     elementwise activation, one of _MLP_ACTIVATIONS
#   ("poly", powers)  PolynomialFeatures: column i is prod_j x_j ** powers[i, j]


def _affine_diag(scale, shift=None):
    """Stage ``x -> x * scale + shift`` (per feature)."""
    scale = np.asarray(scale, dtype=np.float64)
    shift = np.zeros(scale.shape[0]) if shift is None else shift
    return [("affine", np.diag(scale), np.asarray(shift, dtype=np.float64))]


def _scaler_stages(step, inverse=False):
    """The affine map of a fitted scaler (or its inverse), as stages."""
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    if isinstance(step, StandardScaler):
        d = step.n_features_in_
        mean = step.mean_ if step.with_mean else np.zeros(d)
        scale = step.scale_ if step.with_std else np.ones(d)
        if inverse:
            return _affine_diag(scale, mean)
        return _affine_diag(1.0 / scale, -mean / scale)
    if isinstance(step, MinMaxScaler):
        if step.clip:
            raise _Untranslatable("MinMaxScaler(clip=True) is not affine")
        if inverse:
            return _affine_diag(1.0 / step.scale_, -step.min_ / step.scale_)
        return _affine_diag(step.scale_, step.min_)
    if isinstance(step, MaxAbsScaler):
        scale = step.scale_
        return _affine_diag(scale if inverse else 1.0 / scale)
    raise _Untranslatable(type(step).__name__)


def _transformer_stages(step):
    from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return []
    if isinstance(step, PolynomialFeatures):
        return [("poly", np.asarray(step.powers_, dtype=np.int64))]
    if isinstance(step, FunctionTransformer):
        if step.func is not None:
            raise _Untranslatable("FunctionTransformer with func")
        return []
    return _scaler_stages(step)


def _linear_layer(coef, intercept):
    """(W of shape (d, k), b of shape (k,)) of a linear model with k outputs
    (``coef_`` of shape (d,) or (k, d))."""
    coef = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef)
    coef = np.atleast_2d(coef.astype(np.float64))  # (k, d)
    k = coef.shape[0]
    intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
    if intercept.size == 0:
        intercept = np.zeros(k)
    if intercept.size != k:
        raise _Untranslatable("intercept of another size than coef_")
    return coef.T, intercept


def _linear_types():
    from sklearn.linear_model import SGDRegressor
    from sklearn.linear_model._base import LinearModel

    types = [LinearModel, SGDRegressor]
    try:  # the base of the SGD-family regressors (PassiveAggressiveRegressor too)
        from sklearn.linear_model._stochastic_gradient import BaseSGDRegressor

        types.append(BaseSGDRegressor)
    except ImportError:  # pragma: no cover - private location moved
        pass
    return tuple(types)


def _regressor_stages(model):
    from sklearn.base import is_classifier
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import Pipeline

    if is_classifier(model):
        raise _Untranslatable("classifier")
    if isinstance(model, Pipeline):
        stages = []
        steps = [est for _, est in model.steps]
        for step in steps[:-1]:
            stages += _transformer_stages(step)
        return stages + _regressor_stages(steps[-1])
    if isinstance(model, TransformedTargetRegressor):
        stages = _regressor_stages(model.regressor_)
        transformer = model.transformer_
        from sklearn.preprocessing import FunctionTransformer

        if isinstance(transformer, FunctionTransformer):
            if transformer.inverse_func is not None:
                raise _Untranslatable("TransformedTargetRegressor with inverse_func")
            return stages
        return stages + _scaler_stages(transformer, inverse=True)
    if isinstance(model, MLPRegressor):
        if model.out_activation_ not in ("identity", "exp"):
            raise _Untranslatable(f"output activation {model.out_activation_!r}")
        if model.activation not in _MLP_ACTIVATIONS:
            raise _Untranslatable(f"activation {model.activation!r}")
        stages = []
        n = len(model.coefs_)
        for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
            W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
            stages.append(("affine", W, b))
            if i < n - 1 and model.activation != "identity":
                stages.append(("act", model.activation))
        if model.out_activation_ == "exp":  # loss="poisson"
            stages.append(("act", "exp"))
        return stages
    if isinstance(model, _linear_types()):
        W, b = _linear_layer(model.coef_, model.intercept_)
        return [("affine", W, b)]
    raise _Untranslatable(type(model).__name__)


def _fold(stages):
    """Compose consecutive affine stages into one (in float64)."""
    out = []
    for stage in stages:
        if stage[0] == "affine" and out and out[-1][0] == "affine":
            _, A1, c1 = out[-1]
            _, A2, c2 = stage
            out[-1] = ("affine", A1 @ A2, c1 @ A2 + c2)
        else:
            out.append(stage)
    return out


class PolynomialFeaturesModule(nn.Module):
    """Torch twin of a fitted ``PolynomialFeatures``: products of input columns.

    Column ``i`` of the output is ``prod_j x_j ** powers[i, j]``, computed as a
    product of gathered columns (a column of ones pads lower-degree terms), so its
    gradient is exact everywhere, zeros included.
    """

    def __init__(self, powers):
        super().__init__()
        powers = np.asarray(powers, dtype=np.int64)
        n_out, d = powers.shape
        degree = max(int(powers.sum(axis=1).max()), 1)
        index = np.full((n_out, degree), d, dtype=np.int64)  # d: the ones column
        for i, row in enumerate(powers):
            factors = np.repeat(np.arange(d), row)
            index[i, : factors.size] = factors
        self.register_buffer("index", torch.as_tensor(index))

    def forward(self, x):
        xa = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
        out = xa[:, self.index[:, 0]]
        for k in range(1, self.index.shape[1]):
            out = out * xa[:, self.index[:, k]]
        return out


def _to_module(stages, dtype):
    layers = []
    for stage in stages:
        if stage[0] == "affine":
            _, A, c = stage
            layer = nn.Linear(A.shape[0], A.shape[1], dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(A.T))
                layer.bias.copy_(torch.as_tensor(c))
            layers.append(layer)
        elif stage[0] == "act":
            layers.append(_activation_module(stage[1]))
        else:
            layers.append(PolynomialFeaturesModule(stage[1]))
    if not any(isinstance(layer, nn.Linear) for layer in layers):
        # a model ending in a transformer does not predict; not a regressor
        raise _Untranslatable("no final linear layer")
    return nn.Sequential(*layers).to(dtype).eval().requires_grad_(False)


def _probe_matches(model, module, n_features, rtol=1e-6):
    """Whether ``module`` and ``model.predict`` agree on a few random rows."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, n_features))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.asarray(model.predict(X), dtype=np.float64).reshape(-1)
    except Exception:
        return False
    with torch.no_grad():
        got = module(torch.as_tensor(X)).numpy().reshape(-1)
    if got.shape != expected.shape or not np.isfinite(expected).all():
        return False
    return bool(
        np.max(np.abs(got - expected)) <= rtol * (1.0 + np.max(np.abs(expected)))
    )


def translate_sklearn(model, dtype=torch.float32, check=True):
    """An exact torch twin of a fitted scikit-learn regressor, or None.

    Parameters
    ----------
    model : fitted scikit-learn regressor or Pipeline
        See the module docstring for what is translated.
    dtype : torch.dtype, default=torch.float32
        Dtype of the module's parameters. Folding is done in float64 either way;
        ``torch.float64`` reproduces ``model.predict`` to rounding.
    check : bool, default=True
        Compare the translation with ``model.predict`` on a few random rows and
        return None when they differ (for example a subclass that overrides
        ``predict``).

    Returns
    -------
    torch.nn.Module or None
        A frozen module in eval mode mapping (n, n_features) to (n, k) for a model
        with k outputs (k = 1 for 1-D ``y``), or None when the model is not
        translatable (not supported, unfitted).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = np.random.default_rng(0).normal(3, 2, size=(50, 3))
    >>> model = make_pipeline(StandardScaler(), Ridge()).fit(X, X @ [1., 2., 3.])
    >>> translate_sklearn(model)  # the scaler is folded into the Linear layer
    Sequential(
      (0): Linear(in_features=3, out_features=1, bias=True)
    )
    """
    try:
        stages = _fold(_regressor_stages(model))
        module = _to_module(stages, torch.float64)
    except (_Untranslatable, AttributeError):
        # AttributeError: a fitted attribute is missing (unfitted model)
        return None
    n_features = module[0].in_features if isinstance(module[0], nn.Linear) else None
    if n_features is None:
        n_features = getattr(model, "n_features_in_", None)
    if check and (n_features is None or not _probe_matches(model, module, n_features)):
        return None
    return module.to(dtype)


def describe_sklearn(model):
    """Short name of a model and its parts: ``Pipeline(StandardScaler, Ridge)``."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        parts = [
            describe_sklearn(est)
            for _, est in model.steps
            if est is not None and not (isinstance(est, str) and est == "passthrough")
        ]
        return f"Pipeline({', '.join(parts)})"
    if isinstance(model, TransformedTargetRegressor):
        inner = getattr(model, "regressor_", model.regressor)
        return f"TransformedTargetRegressor({describe_sklearn(inner)})"
    return type(model).__name__


class TranslatedTeacher(TorchTeacher):
    """A scikit-learn regressor run as its exact torch translation (differentiable).

    Built by :func:`~skdistill.teachers.as_teacher` for the models
    :func:`translate_sklearn` supports; other scikit-learn models become a black-box
    :class:`~skdistill.teachers.SklearnTeacher`. To force the black-box path for a
    translatable model, pass ``SklearnTeacher(model)`` as the teacher.

    Parameters
    ----------
    estimator : fitted scikit-learn regressor or Pipeline
        Checked like :class:`~skdistill.teachers.SklearnTeacher` (fitted, not a
        classifier); it is not modified and not queried during distillation.
    device : str or torch.device, default="cpu"
    dtype : torch.dtype, default=torch.float32
        Dtype of the translated module (the estimator trains in float32).
    module : torch.nn.Module, default=None
        The translation, when already made by :func:`translate_sklearn`.

    Attributes
    ----------
    estimator : the wrapped scikit-learn model
    module : torch.nn.Module
        Its translation.
    n_features_in_ : int or None
        Taken from the scikit-learn model.
    """

    differentiable = True

    def __init__(self, estimator, device="cpu", dtype=torch.float32, module=None):
        checked = SklearnTeacher(estimator)  # same fitted / classifier errors
        if module is None:
            module = translate_sklearn(estimator, dtype=dtype)
        if module is None:
            raise TypeError(
                f"{describe_sklearn(estimator)} has no exact torch translation; use "
                "SklearnTeacher for it (a black box)."
            )
        super().__init__(module, device=device)
        self.estimator = estimator
        self.n_features_in_ = checked.n_features_in_

    def _describe(self):
        return describe_sklearn(self.estimator)


def sklearn_teacher(estimator, device="cpu"):
    """The adapter for a scikit-learn model: translated when possible, else black box."""
    checked = SklearnTeacher(estimator)  # fitted regressor, or the clear error
    module = translate_sklearn(estimator)
    if module is None:
        return checked
    return TranslatedTeacher(estimator, device=device, module=module)

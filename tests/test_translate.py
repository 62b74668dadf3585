"""scikit-learn teachers translated to exact torch twins, and the fallback."""

import numpy as np
import pytest
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import (
    BayesianRidge,
    ElasticNet,
    HuberRegressor,
    Lars,
    Lasso,
    LinearRegression,
    Ridge,
    RidgeCV,
    SGDRegressor,
)
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    PolynomialFeatures,
    StandardScaler,
)
from sklearn.svm import SVR

from skdistill import DataFreeDistillRegressor
from skdistill._mlp import FunctionalMLP
from skdistill.teachers import (
    SklearnTeacher,
    TranslatedTeacher,
    as_teacher,
    translate_sklearn,
)

# small MLPs trained for a few iterations: only their weights matter here
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(max_epochs=20, batches_per_epoch=3, batch_size=20, n_validation=100)


def data(n=200, d=3, seed=0):
    """Raw-scale inputs (not centred) and a smooth nonlinear target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(2.0, 3.0, size=(n, d))
    y = np.sin(X[:, 0]) + 0.3 * X[:, 1] * X[:, -1] + 5.0
    return X, y


def mlp(activation="tanh", hidden=(8,), **kw):
    kw = {"max_iter": 30, "random_state": 0, **kw}
    return MLPRegressor(hidden_layer_sizes=hidden, activation=activation, **kw)


MODELS = {
    **{
        f"mlp-{a}": lambda a=a: mlp(a) for a in ["identity", "logistic", "tanh", "relu"]
    },
    "mlp-2-layers": lambda: mlp("tanh", (6, 5)),
    "mlp-poisson": lambda: mlp("relu", loss="poisson"),
    "linear": LinearRegression,
    "ridge": Ridge,
    "ridge-cv": RidgeCV,
    "lasso": lambda: Lasso(alpha=0.01),
    "elastic-net": lambda: ElasticNet(alpha=0.01),
    "sgd": lambda: SGDRegressor(random_state=0),
    "lars": Lars,
    "huber": HuberRegressor,
    "bayesian-ridge": BayesianRidge,
    "standard-mlp": lambda: make_pipeline(StandardScaler(), mlp("tanh")),
    "standard-no-mean-ridge": lambda: make_pipeline(
        StandardScaler(with_mean=False), Ridge()
    ),
    "minmax-mlp": lambda: make_pipeline(MinMaxScaler((-1, 2)), mlp("logistic")),
    "maxabs-mlp": lambda: make_pipeline(MaxAbsScaler(), mlp("relu")),
    "poly-ridge": lambda: make_pipeline(PolynomialFeatures(3), Ridge()),
    "scale-poly-scale-lasso": lambda: make_pipeline(
        StandardScaler(),
        PolynomialFeatures(2, include_bias=False),
        MinMaxScaler(),
        Lasso(alpha=1e-3, max_iter=5000),
    ),
    "poly-interaction-mlp": lambda: make_pipeline(
        MaxAbsScaler(), PolynomialFeatures(2, interaction_only=True), mlp("tanh")
    ),
    "identity-function-transformer": lambda: make_pipeline(
        FunctionTransformer(), "passthrough", Ridge()
    ),
    "ttr-standard": lambda: TransformedTargetRegressor(
        make_pipeline(StandardScaler(), mlp("tanh")), transformer=StandardScaler()
    ),
    "ttr-minmax": lambda: TransformedTargetRegressor(
        LinearRegression(), transformer=MinMaxScaler()
    ),
    "ttr-maxabs": lambda: TransformedTargetRegressor(
        Ridge(), transformer=MaxAbsScaler()
    ),
    "ttr-no-func": lambda: TransformedTargetRegressor(mlp("relu")),
    "ttr-in-pipeline": lambda: make_pipeline(
        StandardScaler(),
        TransformedTargetRegressor(mlp("tanh"), transformer=StandardScaler()),
    ),
}


def fitted(name):
    X, y = data()
    return MODELS[name]().fit(X, y if "poisson" not in name else np.abs(y))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_translation_matches_predict_in_float64(name):
    model = fitted(name)
    module = translate_sklearn(model, dtype=torch.float64)
    assert module is not None, f"{name} was not translated"
    rng = np.random.default_rng(1)
    X = rng.normal(2.0, 4.0, size=(500, 3))  # beyond the training range too
    with torch.no_grad():
        got = module(torch.as_tensor(X)).numpy().reshape(-1)
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-6, atol=1e-6)
    # the estimator's teacher is the float32 twin, exact up to float32 rounding
    teacher = as_teacher(model)
    assert isinstance(teacher, TranslatedTeacher) and teacher.differentiable
    assert next(teacher.module.parameters()).dtype == torch.float32
    assert teacher.n_features_in_ == 3
    expected = model.predict(X)
    np.testing.assert_allclose(
        teacher.predict(X), expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max()
    )


@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_scaled_mlp_becomes_a_plain_mlp(activation):
    """The scaler folds into the first Linear: the autograd-free MLP path applies."""
    X, y = data()
    model = make_pipeline(StandardScaler(), mlp(activation)).fit(X, y)
    module = translate_sklearn(model)
    names = [type(layer).__name__ for layer in module]
    act = {"tanh": "Tanh", "relu": "ReLU", "logistic": "Sigmoid"}[activation]
    assert names == ["Linear", act, "Linear"]
    assert FunctionalMLP.from_module(module) is not None
    # a target scaler folds into the last layer; identity MLPs into a single Linear
    ttr = TransformedTargetRegressor(model, transformer=StandardScaler()).fit(X, y)
    assert len(translate_sklearn(ttr)) == 3
    assert len(translate_sklearn(fitted("mlp-identity"))) == 1


def test_gradients_are_those_of_the_model():
    """Input gradients of the translation match finite differences of predict."""
    model = fitted("scale-poly-scale-lasso")
    module = translate_sklearn(model, dtype=torch.float64)
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(module(x).sum(), x)
    h, base = 1e-6, x.detach().numpy()
    fd = [
        (model.predict(base + h * e) - model.predict(base - h * e))[0] / (2 * h)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad.numpy()[0], fd, rtol=1e-5, atol=1e-6)


class ShiftedRidge(Ridge):
    """A linear model whose predict is not its coef_ (must not be translated)."""

    def predict(self, X):
        return super().predict(X) ** 2


@pytest.mark.parametrize(
    "model",
    [
        SVR(),
        RandomForestRegressor(n_estimators=5, random_state=0),
        KNeighborsRegressor(),
        make_pipeline(StandardScaler(), SVR()),
        make_pipeline(MinMaxScaler(clip=True), Ridge()),
        make_pipeline(FunctionTransformer(np.tanh), Ridge()),
        TransformedTargetRegressor(Ridge(), func=np.arcsinh, inverse_func=np.sinh),
        ShiftedRidge(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_untranslatable_models_stay_black_boxes(model):
    X, y = data()
    model.fit(X, y)
    assert translate_sklearn(model) is None
    teacher = as_teacher(model)
    assert type(teacher) is SklearnTeacher and not teacher.differentiable
    with pytest.raises(TypeError, match="no exact torch translation"):
        TranslatedTeacher(model)


@pytest.mark.parametrize(
    "model",
    [
        SVR(),
        RandomForestRegressor(n_estimators=5, random_state=0),
        KNeighborsRegressor(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_black_box_fallback_in_the_estimator(model):
    X, y = data()
    est = DataFreeDistillRegressor(
        model.fit(X, y), student=(4,), sampler="random", random_state=0, **FAST
    ).fit(X)
    assert not est.teacher_.differentiable
    assert repr(est.teacher_) == f"SklearnTeacher({type(model).__name__}, black box)"


def test_multi_output_models_translate_with_k_outputs():
    X, y = data()
    Y = np.c_[y, -2 * y + 1]
    models = [LinearRegression(), Ridge(), mlp("tanh"),
              make_pipeline(StandardScaler(), mlp("relu"))]
    for model in models:
        model.fit(X, Y)
        module = translate_sklearn(model, dtype=torch.float64)
        assert module is not None, model
        with torch.no_grad():
            got = module(torch.as_tensor(X)).numpy()
        assert got.shape == (len(X), 2)
        np.testing.assert_allclose(got, model.predict(X), rtol=1e-9, atol=1e-9)
        assert as_teacher(model).differentiable
    # a (n, 1) target is single-output: translated to one output
    module = translate_sklearn(LinearRegression().fit(X, y[:, None]))
    assert module is not None and module[-1].out_features == 1


def test_unfitted_and_classifiers_keep_their_errors():
    with pytest.raises(NotFittedError, match="MLPRegressor is not fitted"):
        as_teacher(MLPRegressor())
    with pytest.raises(NotFittedError, match="Pipeline is not fitted"):
        TranslatedTeacher(make_pipeline(StandardScaler(), Ridge()))
    X, y = data()
    clf = MLPClassifier(max_iter=5).fit(X, y > 5)
    with pytest.raises(TypeError, match="MLPClassifier is a classifier"):
        as_teacher(clf)


def test_translated_teacher_distils_with_direct_sampler():
    X, y = data()
    model = make_pipeline(StandardScaler(), mlp("tanh", max_iter=300)).fit(X, y)
    est = DataFreeDistillRegressor(
        model,
        student=(8,),
        sampler="direct",
        max_epochs=60,
        batches_per_epoch=3,
        batch_size=20,
        n_validation=100,
        random_state=0,
    ).fit(X)
    assert est.teacher_.differentiable
    assert (
        repr(est.teacher_)
        == "TranslatedTeacher(Pipeline(StandardScaler, MLPRegressor), differentiable)"
    )
    assert est.teacher_.n_features_in_ == 3 and est.n_features_in_ == 3
    X_test, _ = data(300, seed=2)
    t = model.predict(X_test)
    # the student learned the teacher: far closer than its mean is
    fidelity = np.sqrt(np.mean((est.predict(X_test) - t) ** 2))
    assert fidelity < 0.8 * t.std()
    # labels came from the twin, which the user never sees: queries still counted
    assert est.n_teacher_queries_ > FAST["n_validation"]


def test_repr_names_nested_models():
    model = fitted("ttr-standard")
    assert repr(as_teacher(model)) == (
        "TranslatedTeacher(TransformedTargetRegressor(Pipeline(StandardScaler, "
        "MLPRegressor)), differentiable)"
    )

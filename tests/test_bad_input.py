"""Bad input at every public entry point: the exact error, and a message that names
the problem in the user's terms (the parameter, the value received, what is allowed).

One table per entry point. Every case is fast: validation fails before training, or
after one tiny epoch at most.
"""

import contextlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skdistill import DataFreeDistillRegressor, InputSpec, RemoteTeacher
from skdistill.metrics import (
    fidelity_r2,
    fidelity_rmse_scorer,
    make_fidelity_scorer,
    sample_losses,
)
from skdistill.teachers import CallableTeacher, TeacherError

FAST = dict(student=(2,), max_epochs=1, batches_per_epoch=1, batch_size=4,
            n_validation=8, random_state=0)
BOUNDS = [(-1.0, 1.0)] * 3
RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(20, 3))
Y = X3.sum(axis=1)


def linear3():
    """A torch teacher with 3 inputs (it tells its width)."""
    torch.manual_seed(0)
    return torch.nn.Linear(3, 1)


@contextlib.contextmanager
def raises_exactly(exc_type, match):
    """``pytest.raises`` that also rejects subclasses of ``exc_type``."""
    with pytest.raises(exc_type, match=match) as info:
        yield info
    assert type(info.value) is exc_type, (
        f"expected {exc_type.__name__}, got {type(info.value).__name__}: {info.value}"
    )


def case(id_, *values):
    return pytest.param(*values, id=id_)


# ============================================================ estimator parameters
PARAM = InvalidParameterError


def _param_msg(name, got):
    return (
        rf"The '{name}' parameter of DataFreeDistillRegressor must be .*"
        rf"Got {re.escape(got)} instead"
    )


PARAMETER_CASES = [
    # student: built in fit, with its own messages
    case("student-negative-size", {"student": (-1,)}, ValueError,
         r"student as a tuple must hold positive hidden-layer sizes, got \(-1,\)"),
    case("student-zero-size", {"student": (8, 0)}, ValueError,
         r"positive hidden-layer sizes, got \(8, 0\)"),
    case("student-float-size", {"student": (2.5,)}, ValueError,
         r"positive hidden-layer sizes, got \(2\.5,\)"),
    case("student-unknown-string", {"student": "mlp"}, ValueError,
         r"Unknown student spec 'mlp'\. Short specs: 'rbf' or 'rbf:N'"),
    case("student-rbf-zero-units", {"student": "rbf:0"}, ValueError,
         r"student 'rbf:0': the number of units must be a positive integer"),
    case("student-cnn-without-images", {"student": "cnn"}, ValueError,
         r"student='cnn' needs image inputs: give fit an image input spec"),
    case("student-none", {"student": None}, TypeError,
         r"student must be a tuple of hidden-layer sizes, .* got NoneType"),
    case("student-object", {"student": object()}, TypeError,
         r"student must be a tuple of hidden-layer sizes, .* got object"),
    case("student-bool", {"student": True}, TypeError, r"student must be .* got bool"),
    # sampler
    case("sampler-unknown-name", {"sampler": "magic"}, ValueError,
         r"Unknown sampler 'magic'\. Valid names: \['direct', 'generator', 'random'\]"),
    case("sampler-int", {"sampler": 3}, PARAM, _param_msg("sampler", "3")),
    case("sampler-other-class", {"sampler": dict}, TypeError,
         r"sampler must be one of \[.*\], a Sampler subclass or instance; "
         r"got <class 'dict'>"),
    # alpha
    case("alpha-negative", {"alpha": -0.1}, PARAM, _param_msg("alpha", "-0.1")),
    case("alpha-above-one", {"alpha": 1.5}, PARAM, _param_msg("alpha", "1.5")),
    case("alpha-nan", {"alpha": float("nan")}, PARAM, _param_msg("alpha", "nan")),
    case("alpha-unknown-schedule", {"alpha": "up"}, PARAM,
         r"'alpha' parameter .* a str among \{.*'decreasing'.*\}.* Got 'up' instead"),
    # eq. 5 weights and sizes
    case("beta-negative", {"beta": -1.0}, PARAM, _param_msg("beta", "-1.0")),
    case("beta-string", {"beta": "a"}, PARAM, _param_msg("beta", "'a'")),
    case("gamma-negative", {"gamma": -1e-5}, PARAM, _param_msg("gamma", "-1e-05")),
    case("max_epochs-zero", {"max_epochs": 0}, PARAM, _param_msg("max_epochs", "0")),
    case("max_epochs-float", {"max_epochs": 1.5}, PARAM,
         _param_msg("max_epochs", "1.5")),
    case("max_epochs-string", {"max_epochs": "10"}, PARAM,
         _param_msg("max_epochs", "'10'")),
    case("batches_per_epoch-zero", {"batches_per_epoch": 0}, PARAM,
         _param_msg("batches_per_epoch", "0")),
    case("batch_size-zero", {"batch_size": 0}, PARAM, _param_msg("batch_size", "0")),
    case("batch_size-negative", {"batch_size": -3}, PARAM,
         _param_msg("batch_size", "-3")),
    case("lr-zero", {"lr": 0.0}, PARAM, _param_msg("lr", "0.0")),
    case("lr-negative", {"lr": -1e-3}, PARAM, _param_msg("lr", "-0.001")),
    case("lr-nan", {"lr": float("nan")}, PARAM, _param_msg("lr", "nan")),
    case("lr-inf", {"lr": float("inf")}, PARAM, _param_msg("lr", "inf")),
    case("lr-string", {"lr": "fast"}, PARAM, _param_msg("lr", "'fast'")),
    case("weight_decay-negative", {"weight_decay": -1.0}, PARAM,
         _param_msg("weight_decay", "-1.0")),
    case("loss-unknown", {"loss": "l1"}, PARAM,
         r"'loss' parameter .* a str among \{.*'squared'.*\}\. Got 'l1' instead"),
    case("direct_lr-zero", {"direct_lr": 0}, PARAM, _param_msg("direct_lr", "0")),
    case("direct_steps-negative", {"direct_steps": -1}, PARAM,
         _param_msg("direct_steps", "-1")),
    case("regenerate-unknown", {"regenerate": "never"}, PARAM,
         _param_msg("regenerate", "'never'")),
    case("optimizer-unknown", {"optimizer": "adam"}, PARAM,
         _param_msg("optimizer", "'adam'")),
    # eq. 9 and objectives
    case("target_range-three-values", {"target_range": (0, 1, 2)}, ValueError,
         r"target_range must be a pair \(low, high\) of finite numbers with low <= "
         r"high, in the teacher's units; got \(0, 1, 2\)"),
    case("target_range-reversed", {"target_range": (1, 0)}, ValueError,
         r"target_range must be a pair .* low <= high.*; got \(1, 0\)"),
    case("target_range-nan", {"target_range": (0, float("nan"))}, ValueError,
         r"target_range must be a pair \(low, high\) of finite numbers.*got \(0, nan\)"),
    case("target_range-strings", {"target_range": ["a", "b"]}, ValueError,
         r"target_range must be a pair .* got \['a', 'b'\]"),
    case("target_range-string", {"target_range": "01"}, PARAM,
         _param_msg("target_range", "'01'")),
    case("epsilon-zero", {"epsilon": 0}, PARAM, _param_msg("epsilon", "0")),
    case("epsilon-above-one", {"epsilon": 2}, PARAM, _param_msg("epsilon", "2")),
    case("objective-unknown-term", {"objective": "foo"}, ValueError,
         r"Unknown objective term 'foo'; valid names: \[.*'squared'.*\]"),
    case("objective-int", {"objective": 3}, PARAM, _param_msg("objective", "3")),
    # differential evolution
    case("de_strategy-unknown", {"de_strategy": "best3bin", "optimizer": "de"}, PARAM,
         r"'de_strategy' parameter .* a str among \{.*'best2bin'.*\}\. "
         r"Got 'best3bin' instead"),
    case("de_maxiter-zero", {"de_maxiter": 0}, PARAM, _param_msg("de_maxiter", "0")),
    case("de_popsize-below-five", {"de_popsize": 4}, PARAM,
         r"'de_popsize' parameter .* an int in the range \[5, inf\) or None\. "
         r"Got 4 instead"),
    case("de_radius-zero", {"de_radius": 0.0}, PARAM, _param_msg("de_radius", "0.0")),
    # budgets and sizes
    case("max_teacher_queries-zero", {"max_teacher_queries": 0}, PARAM,
         _param_msg("max_teacher_queries", "0")),
    case("max_teacher_queries-too-small", {"max_teacher_queries": 9}, ValueError,
         r"max_teacher_queries=9 is too small: the validation set took 8 rows and "
         r"one epoch needs \d+"),
    case("n_validation-one", {"n_validation": 1}, PARAM,
         _param_msg("n_validation", "1")),
    case("random_state-string", {"random_state": "x"}, PARAM,
         _param_msg("random_state", "'x'")),
    case("random_state-negative", {"random_state": -1}, PARAM,
         _param_msg("random_state", "-1")),
    case("verbose-string", {"verbose": "loud"}, PARAM,
         _param_msg("verbose", "'loud'")),
    # device
    case("device-unknown-string", {"device": "gpu"}, ValueError,
         r"device='gpu' is not a torch device"),
    case("device-int", {"device": 3}, PARAM, _param_msg("device", "3")),
    pytest.param(
        {"device": "cuda"}, ValueError,
        r"device='cuda', but torch sees no CUDA GPU on this machine",
        id="device-cuda-without-gpu",
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here"),
    ),
]


@pytest.mark.parametrize("params, exc, match", PARAMETER_CASES)
def test_bad_parameters_fail_in_fit(params, exc, match):
    est = DataFreeDistillRegressor(linear3(), **{**FAST, **params})  # stores only
    with raises_exactly(exc, match):
        est.fit(bounds=BOUNDS)
    assert not hasattr(est, "student_") and not hasattr(est, "n_features_in_")


# ============================================================== fit's arguments
X_NAN = X3.copy()
X_NAN[2, 1] = np.nan


def _spec():
    return InputSpec(bounds=BOUNDS)


FIT_CASES = [
    # bounds
    case("bounds-scalar", {"bounds": 3}, ValueError,
         r"bounds must be a sequence of \(low, high\) pairs, one per feature; "
         r"could not read 3"),
    case("bounds-flat-list", {"bounds": [0, 1, 0, 1, 0, 1]}, ValueError,
         r"bounds must be a sequence of \(low, high\) pairs, one per feature; "
         r"could not read \[0, 1, 0, 1, 0, 1\]"),
    case("bounds-triples", {"bounds": [(0, 1, 2)] * 3}, ValueError,
         r"sequence of \(low, high\) pairs, one per feature; got an array of shape "
         r"\(3, 3\)"),
    case("bounds-ragged", {"bounds": [(0, 1), (0,), (0, 1)]}, ValueError,
         r"sequence of \(low, high\) pairs, one per feature; could not read"),
    case("bounds-empty", {"bounds": []}, ValueError,
         r"sequence of \(low, high\) pairs.*got an array of shape \(0,\)"),
    case("bounds-low-above-high", {"bounds": [(0, 1), (3, 2), (0, 1)]}, ValueError,
         r"Bounds of feature 1 are reversed: lower 3\.0 > upper 2\.0"),
    case("bounds-nan", {"bounds": [(0, 1), (0, 1), (np.nan, 1)]}, ValueError,
         r"Bounds of feature 2 contain NaN: \(nan, 1\.0\)"),
    case("bounds-infinite", {"bounds": [(0, np.inf)] * 3}, ValueError,
         r"feature 0 has an infinite bound; uniform draws need finite bounds, or "
         r"give mean and std"),
    case("bounds-open-side", {"bounds": [(0, None)] * 3}, ValueError,
         r"feature 0 has an infinite bound"),
    case("bounds-strings", {"bounds": [("a", "b")] * 3}, ValueError,
         r"bounds must be a sequence of \(low, high\) pairs.*could not convert "
         r"string to float: 'a'"),
    case("bounds-too-few-features", {"bounds": [(0, 1)] * 2}, ValueError,
         r"The input spec \(from bounds\) has 2 features but the teacher expects 3 "
         r"\(TorchTeacher\(Linear, differentiable\)\)"),
    case("bounds-too-many-features", {"bounds": [(0, 1)] * 5}, ValueError,
         r"\(from bounds\) has 5 features but the teacher expects 3"),
    # X, the unlabeled sample
    case("X-nan", {"X": X_NAN}, ValueError, r"Input X contains NaN"),
    case("X-inf", {"X": np.where(X3 > 1, np.inf, X3)}, ValueError,
         r"Input X contains infinity"),
    case("X-1d", {"X": np.zeros(3)}, ValueError,
         r"X must be a numeric array of shape \(n_samples, n_features\): Expected "
         r"2D array, got 1D array"),
    case("X-empty", {"X": np.zeros((0, 3))}, ValueError,
         r"X must be a numeric array .*Found array with 0 sample\(s\)"),
    case("X-strings", {"X": [["a", "b", "c"]]}, ValueError,
         r"X must be a numeric array of shape \(n_samples, n_features\): could not "
         r"convert string to float: 'a'"),
    case("X-wrong-width", {"X": X3[:, :2]}, ValueError,
         r"The input spec \(from X\) has 2 features but the teacher expects 3"),
    # the input distribution given twice (or more)
    case("X-and-bounds", {"X": X3, "bounds": BOUNDS}, ValueError,
         r"Give the input distribution once: got X and bounds\. Use one of X "
         r"\(unlabeled sample\), bounds, or input_spec"),
    case("bounds-and-input_spec", {"bounds": BOUNDS, "input_spec": _spec()},
         ValueError, r"Give the input distribution once: got bounds and input_spec"),
    case("X-bounds-and-input_spec",
         {"X": X3, "bounds": BOUNDS, "input_spec": _spec()}, ValueError,
         r"got X and bounds and input_spec"),
    # input_spec
    case("input_spec-dict", {"input_spec": {"bounds": BOUNDS}}, TypeError,
         r"input_spec must be an InputSpec, got dict"),
    case("input_spec-wrong-width", {"input_spec": InputSpec(n_features=4)},
         ValueError, r"\(from input_spec\) has 4 features but the teacher expects 3"),
    # validation_data
    case("validation-1d", {"validation_data": np.zeros(3)}, ValueError,
         r"validation_data \(X_val, or a tuple \(X_val, y_val\)\) must be a numeric "
         r"array of shape \(n_samples, n_features\): Expected 2D array"),
    case("validation-wrong-width", {"validation_data": np.zeros((5, 2))}, ValueError,
         r"validation_data has 2 features; the input spec has 3"),
    case("validation-y-too-short",
         {"validation_data": (np.zeros((5, 3)), np.zeros(4))}, ValueError,
         r"validation_data has 5 rows of X but 4 targets"),
    case("validation-y-multi-output",
         {"validation_data": (np.zeros((5, 3)), np.zeros((5, 2)))}, ValueError,
         r"validation_data has targets y_val of shape \(5, 2\); the teacher gives 1 "
         r"output per row, so y_val must have shape \(n_samples,\)"),
    case("validation-X-nan", {"validation_data": np.full((5, 3), np.nan)},
         ValueError, r"Input validation X contains NaN"),
    case("validation-y-nan",
         {"validation_data": (np.zeros((5, 3)), np.full(5, np.nan))}, ValueError,
         r"Input validation y contains NaN"),
    case("validation-empty", {"validation_data": np.zeros((0, 3))}, ValueError,
         r"validation_data .* must be a numeric array.*0 sample\(s\)"),
    case("validation-three-items",
         {"validation_data": (np.zeros((5, 3)), np.zeros(5), None)}, ValueError,
         r"validation_data \(X_val, or a tuple \(X_val, y_val\)\) must be a numeric "
         r"array.*inhomogeneous"),
    case("validation-string", {"validation_data": "val.csv"}, ValueError,
         r"validation_data .* must be a numeric array.*could not convert string"),
]


@pytest.mark.parametrize("kwargs, exc, match", FIT_CASES)
def test_bad_fit_arguments(kwargs, exc, match):
    kwargs = dict(kwargs)
    if not {"X", "bounds", "input_spec"} & set(kwargs):
        kwargs["bounds"] = BOUNDS
    est = DataFreeDistillRegressor(linear3(), sampler="random", **FAST)
    with raises_exactly(exc, match):
        est.fit(**kwargs)
    assert not hasattr(est, "student_")


def test_no_input_distribution_and_a_teacher_that_does_not_tell_its_width():
    est = DataFreeDistillRegressor(lambda X: X.sum(axis=1), sampler="random", **FAST)
    with raises_exactly(
        ValueError,
        r"No input distribution given and the teacher CallableTeacher\(<lambda>, "
        r"black box\) does not tell its number of features\. Pass X .*, "
        r"bounds=\[\(low, high\), \.\.\.\] or input_spec=InputSpec\(\.\.\.\)",
    ):
        est.fit()


# ==================================================================== teachers
_RELEASE = threading.Event()  # set when a test is over: frees the hanging teachers


def hang(X):
    _RELEASE.wait(30)
    return X.sum(axis=1)


class FailsLater:
    """A black box whose first call (the validation set) goes well."""

    def __init__(self, fault):
        self.fault, self.calls = fault, 0

    def __call__(self, X):
        self.calls += 1
        if self.calls == 1:
            return X.sum(axis=1)
        return self.fault(X)


class Boom(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("CUDA out of memory")


class PredictOnly:
    """Not a scikit-learn estimator; only has predict."""

    def __init__(self, fn):
        self.fn = fn

    def predict(self, X):
        return self.fn(X)


def _nan_module():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Threshold(1e9, np.nan))


def _skorch_regressor():
    from skorch import NeuralNetRegressor

    return NeuralNetRegressor(torch.nn.Linear, module__in_features=3,
                              module__out_features=1)


def _skorch_classifier():
    from skorch import NeuralNetClassifier

    # rejected as a classifier before anything else: no need to fit it
    return NeuralNetClassifier(torch.nn.Linear, module__in_features=3,
                               module__out_features=2)


def _mlp_classifier():
    with pytest.warns(Warning):  # ConvergenceWarning: 2 iterations are enough here
        return MLPClassifier(hidden_layer_sizes=(2,), max_iter=2).fit(X3, Y > 0)



VALIDATION = "Labelling the synthetic validation set: "
CLASSIFIER = (
    "The teacher {} is a classifier; classifiers are not supported: skdistill "
    "distils regression models only"
)
NOT_FITTED = (
    "The teacher {} is not fitted. Fit it on your data first; skdistill distils an "
    "already trained model."
)


def _shape(shape, n=8):
    return (
        rf"The teacher returned an array of shape {re.escape(str(shape))} for {n} "
        rf"rows; expected one prediction per row, an array of shape \({n},\) or "
        rf"\({n}, 1\)"
    )


TEACHER_CASES = [
    # not a teacher at all
    case("none", lambda: None, {}, TypeError,
         r"teacher must be a torch\.nn\.Module, a fitted skorch NeuralNetRegressor, "
         r"a fitted scikit-learn regressor or a callable X -> y; got NoneType"),
    case("file-name", lambda: "model.pkl", {}, TypeError,
         r"teacher must be .* a callable X -> y; got str"),
    # unfitted
    case("unfitted-linear", LinearRegression, {}, NotFittedError,
         re.escape(NOT_FITTED.format("LinearRegression"))),
    case("unfitted-svr", SVR, {}, NotFittedError, re.escape(NOT_FITTED.format("SVR"))),
    case("unfitted-pipeline", lambda: make_pipeline(StandardScaler(), SVR()), {},
         NotFittedError, re.escape(NOT_FITTED.format("Pipeline"))),
    case("unfitted-mlp", MLPRegressor, {}, NotFittedError,
         re.escape(NOT_FITTED.format("MLPRegressor"))),
    case("unfitted-skorch", _skorch_regressor, {}, NotFittedError,
         r"The skorch teacher NeuralNetRegressor is not initialized/fitted\. Fit it "
         r"first"),
    # classifiers
    case("classifier-logistic", lambda: LogisticRegression().fit(X3, Y > 0), {},
         TypeError, re.escape(CLASSIFIER.format("LogisticRegression"))),
    case("classifier-svc", lambda: SVC().fit(X3, Y > 0), {}, TypeError,
         re.escape(CLASSIFIER.format("SVC"))),
    case("classifier-pipeline",
         lambda: make_pipeline(StandardScaler(), DecisionTreeClassifier()).fit(
             X3, Y > 0), {}, TypeError, re.escape(CLASSIFIER.format("Pipeline"))),
    case("classifier-mlp", _mlp_classifier, {}, TypeError,
         re.escape(CLASSIFIER.format("MLPClassifier"))),
    case("classifier-skorch", _skorch_classifier, {}, TypeError,
         re.escape(CLASSIFIER.format("NeuralNetClassifier"))),
    case("classifier-unfitted", LogisticRegression, {}, TypeError,
         re.escape(CLASSIFIER.format("LogisticRegression"))),
    # a different number of features than the spec
    case("features-linear", lambda: LinearRegression().fit(X3[:, :2], Y), {},
         ValueError,
         r"The input spec \(from bounds\) has 3 features but the teacher expects 2 "
         r"\(TranslatedTeacher\(LinearRegression, differentiable\)\)"),
    case("features-svr", lambda: SVR().fit(X3[:, :2], Y), {}, ValueError,
         r"has 3 features but the teacher expects 2 \(SklearnTeacher\(SVR, black "
         r"box\)\)"),
    case("features-torch", lambda: torch.nn.Linear(5, 1), {"sampler": "direct"},
         ValueError, r"has 3 features but the teacher expects 5 \(TorchTeacher"),
    case("features-callable-declared",
         lambda: CallableTeacher(lambda X: X[:, 0], n_features=2), {}, ValueError,
         r"has 3 features but the teacher expects 2 \(CallableTeacher\(<lambda>"),
    case("features-remote-declared",
         lambda: RemoteTeacher("http://127.0.0.1:9/predict", n_features=4), {},
         ValueError, r"has 3 features but the teacher expects 4 \(RemoteTeacher\("),
    case("features-callable-undeclared", lambda: lambda X: X @ np.ones(2), {},
         TeacherError,
         VALIDATION + r"The teacher raised ValueError while predicting 8 rows: "
         r"matmul: .*size 2 is different from 3"),
    # NaN / inf
    case("nan-callable", lambda: lambda X: np.full(len(X), np.nan), {}, TeacherError,
         VALIDATION + r"The teacher returned 8 non-finite values \(NaN or inf\) out "
         r"of 8; the first at row 0\."),
    case("inf-callable", lambda: lambda X: np.where(X[:, 0] > 0, np.inf, 0.0), {},
         TeacherError, VALIDATION + r"The teacher returned \d non-finite values \(NaN or inf\)"),
    case("nan-torch", _nan_module, {"sampler": "direct"}, TeacherError,
         VALIDATION + r"The teacher returned 8 non-finite values"),
    case("inf-predict-only", lambda: PredictOnly(lambda X: np.full(len(X), np.inf)),
         {}, TeacherError, VALIDATION + r"The teacher returned 8 non-finite values"),
    case("nan-during-training",
         lambda: FailsLater(lambda X: np.full(len(X), np.nan)), {}, TeacherError,
         r"Epoch 0: The teacher returned \d+ non-finite values \(NaN or inf\)"),
    # wrong shape or length, non-numbers
    case("one-row-short", lambda: lambda X: X[:-1, 0], {}, TeacherError,
         VALIDATION + _shape((7,))),
    case("three-dims", lambda: lambda X: X[:, :, None], {}, TeacherError,
         VALIDATION + _shape((8, 3, 1))),
    case("scalar", lambda: lambda X: 1.0, {}, TeacherError, VALIDATION + _shape(())),
    case("list-too-long", lambda: lambda X: [0.0] * (len(X) + 1), {}, TeacherError,
         VALIDATION + _shape((9,))),
    case("returns-none", lambda: lambda X: None, {}, TeacherError,
         VALIDATION + r"The teacher returned None for 8 rows; it must return one "
         r"prediction per row\."),
    case("returns-strings", lambda: lambda X: ["high"] * len(X), {}, TeacherError,
         VALIDATION + r"The teacher's output is not numeric: could not convert "
         r"string to float: 'high'"),
    case("wrong-length-during-training", lambda: FailsLater(lambda X: X[:3, 0]), {},
         TeacherError,
         r"Epoch 0: The teacher returned an array of shape \(3,\) for \d+ rows"),
    # raising
    case("raises-callable", lambda: lambda X: 1 / 0, {}, TeacherError,
         VALIDATION + r"The teacher raised ZeroDivisionError while predicting 8 "
         r"rows: division by zero"),
    case("raises-torch", Boom, {"sampler": "direct"}, TeacherError,
         VALIDATION + r"The teacher raised RuntimeError while predicting 8 rows: "
         r"CUDA out of memory"),
    case("raises-predict-only",
         lambda: PredictOnly(lambda X: {}["model"]), {}, TeacherError,
         VALIDATION + r"The teacher raised KeyError while predicting 8 rows: "
         r"'model'"),
    case("raises-during-training",
         lambda: FailsLater(lambda X: (_ for _ in ()).throw(OSError("disk full"))),
         {}, TeacherError,
         r"Epoch 0: The teacher raised OSError while predicting \d+ rows: disk full"),
    # hanging past a timeout
    case("hangs", lambda: CallableTeacher(hang, timeout=0.2), {}, TeacherError,
         VALIDATION + r"The teacher did not answer within 0\.2 s \(8 rows asked\)\. "
         r"The call is left running in a background thread, which cannot be "
         r"stopped; raise timeout= if the teacher is only slow\."),
    case("hangs-during-training",
         lambda: CallableTeacher(FailsLater(hang), timeout=0.2), {}, TeacherError,
         r"Epoch 0: The teacher did not answer within 0\.2 s \(\d+ rows asked\)"),
    # a black box asked for gradients
    case("black-box-with-gradient-optimizer", lambda: lambda X: X.sum(axis=1),
         {"sampler": "direct", "optimizer": "gradient"}, ValueError,
         r"optimizer='gradient' needs gradients, but the teacher "
         r"CallableTeacher\(<lambda>, black box\) is a black box\. Use "
         r"optimizer='de'"),
]


@pytest.fixture
def release_hanging_teachers():
    _RELEASE.clear()
    yield
    _RELEASE.set()


@pytest.mark.parametrize("make_teacher, params, exc, match", TEACHER_CASES)
def test_bad_teachers(make_teacher, params, exc, match, release_hanging_teachers):
    est = DataFreeDistillRegressor(
        make_teacher(), **{**FAST, "sampler": "random", **params}
    )
    with raises_exactly(exc, match):
        est.fit(bounds=BOUNDS)
    assert not hasattr(est, "student_") and not hasattr(est, "teacher_")


class _StalledService:
    """A prediction service on 127.0.0.1 that never answers in time."""

    def __init__(self):
        release = self.release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                release.wait(10)  # then close without answering

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/predict"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_remote_teacher_that_hangs_past_its_timeout():
    with _StalledService() as service:
        teacher = RemoteTeacher(service.url, timeout=0.1, max_retries=1,
                                backoff=0.001)
        est = DataFreeDistillRegressor(teacher, sampler="random", **FAST)
        with raises_exactly(
            TeacherError,
            VALIDATION + rf"The prediction service at {re.escape(service.url)} "
            r"failed 2 times in a row \(last: (TimeoutError|URLError): .*timed "
            r"out\); giving up\.",
        ):
            est.fit(bounds=BOUNDS)


# ======================================================= teacher constructors
TEACHER_CONSTRUCTOR_CASES = [
    case("remote-ftp-url", lambda: RemoteTeacher("ftp://host/predict"), ValueError,
         r"url must be an http\(s\) URL, got 'ftp://host/predict'"),
    case("remote-url-not-str", lambda: RemoteTeacher(8080), ValueError,
         r"url must be an http\(s\) URL, got 8080"),
    case("remote-batch_size-zero", lambda: RemoteTeacher("http://h", batch_size=0),
         ValueError, r"batch_size must be an integer > 0, got 0\."),
    case("remote-batch_size-string",
         lambda: RemoteTeacher("http://h", batch_size="100"), ValueError,
         r"batch_size must be an integer > 0, got '100'\."),
    case("remote-timeout-zero", lambda: RemoteTeacher("http://h", timeout=0),
         ValueError, r"timeout must be a number > 0 or None, got 0\."),
    case("remote-timeout-negative", lambda: RemoteTeacher("http://h", timeout=-5),
         ValueError, r"timeout must be a number > 0 or None, got -5\."),
    case("remote-max_retries-negative",
         lambda: RemoteTeacher("http://h", max_retries=-1), ValueError,
         r"max_retries must be an integer >= 0, got -1\."),
    case("remote-backoff-negative", lambda: RemoteTeacher("http://h", backoff=-1),
         ValueError, r"backoff must be a number >= 0, got -1\."),
    case("remote-max_backoff-nan",
         lambda: RemoteTeacher("http://h", max_backoff=float("nan")), ValueError,
         r"max_backoff must be a number >= 0, got nan\."),
    case("remote-n_features-zero", lambda: RemoteTeacher("http://h", n_features=0),
         ValueError, r"n_features must be an integer > 0 or None, got 0\."),
    case("remote-headers-list",
         lambda: RemoteTeacher("http://h", headers=["Authorization: x"]), TypeError,
         r"headers must be a dict of HTTP headers, got list\."),
    case("remote-output_key-int", lambda: RemoteTeacher("http://h", output_key=0),
         TypeError, r"output_key must be a str, got 0\."),
    case("callable-not-callable", lambda: CallableTeacher("model.pkl"), TypeError,
         r"func must be callable, got str\."),
    case("callable-timeout-zero", lambda: CallableTeacher(hang, timeout=0),
         ValueError, r"timeout must be a number > 0 or None, got 0\."),
    case("callable-timeout-string", lambda: CallableTeacher(hang, timeout="1s"),
         ValueError, r"timeout must be a number > 0 or None, got '1s'\."),
    case("callable-n_features-float",
         lambda: CallableTeacher(hang, n_features=2.0), ValueError,
         r"n_features must be an integer > 0 or None, got 2\.0\."),
]


@pytest.mark.parametrize("build, exc, match", TEACHER_CONSTRUCTOR_CASES)
def test_bad_teacher_constructor_arguments(build, exc, match):
    with raises_exactly(exc, match):
        build()


def test_callable_timeout_passes_answers_and_errors_through():
    teacher = CallableTeacher(lambda X: X.sum(axis=1), timeout=5)
    np.testing.assert_array_equal(teacher.predict(np.ones((2, 3))), [3.0, 3.0])
    failing = CallableTeacher(lambda X: 1 / 0, timeout=5)
    with raises_exactly(
        TeacherError, r"The teacher raised ZeroDivisionError while predicting 2 rows"
    ):
        failing.predict(np.ones((2, 3)))


# ======================================================= InputSpec and factories
INPUT_SPEC_CASES = [
    case("mean-without-std", lambda: InputSpec(mean=[0, 0]), ValueError,
         r"Give both `mean` and `std` of the input Gaussian, or neither\."),
    case("std-without-mean", lambda: InputSpec(std=[1, 1]), ValueError,
         r"Give both `mean` and `std`"),
    case("nothing", lambda: InputSpec(), ValueError,
         r"An InputSpec needs at least one of: mean and std, bounds, n_features\."),
    case("mean-std-lengths", lambda: InputSpec(mean=[0, 0], std=[1, 1, 1]),
         ValueError,
         r"The parts of the input spec disagree on the number of features: mean "
         r"gives 2, std gives 3\."),
    case("bounds-vs-n_features", lambda: InputSpec(bounds=[(0, 1)] * 2, n_features=3),
         ValueError, r"disagree on the number of features: bounds gives 2, "
         r"n_features gives 3\."),
    case("feature_names-length",
         lambda: InputSpec(bounds=[(0, 1)] * 2, feature_names=["cpu"]), ValueError,
         r"disagree on the number of features: bounds gives 2, feature_names "
         r"gives 1\."),
    case("feature_names-string",
         lambda: InputSpec(bounds=[(0, 1)] * 2, feature_names="ab"), ValueError,
         r"feature_names must be a sequence of names, one per feature; got the "
         r"string 'ab'\."),
    case("std-negative", lambda: InputSpec(mean=[0, 0], std=[1, -1]), ValueError,
         r"std of feature 1 is negative \(-1\.0\)\."),
    case("std-nan", lambda: InputSpec(mean=[0, 0], std=[1, np.nan]), ValueError,
         r"std of feature 1 is nan; it must be finite\."),
    case("mean-inf", lambda: InputSpec(mean=[np.inf, 0], std=[1, 1]), ValueError,
         r"mean of feature 0 is inf; it must be finite\."),
    case("mean-2d", lambda: InputSpec(mean=[[0, 0]], std=[[1, 1]]), ValueError,
         r"mean must be a scalar or a 1-D sequence, got shape \(1, 2\)\."),
    case("mean-strings", lambda: InputSpec(mean=["a"], std=[1]), ValueError,
         r"mean must be a number or a sequence of numbers, one per feature; could "
         r"not read \['a'\]"),
    case("feature-name-in-message",
         lambda: InputSpec(bounds=[(0, 1), (5, 4)], feature_names=["cpu", "load"]),
         ValueError, r"Bounds of feature 1 \('load'\) are reversed: lower 5\.0 > "
         r"upper 4\.0\."),
    case("n_features-zero", lambda: InputSpec(n_features=0), ValueError,
         r"n_features must be a positive integer, got 0\."),
    case("n_features-float", lambda: InputSpec(n_features=2.0), ValueError,
         r"n_features must be a positive integer, got 2\.0\."),
    case("n_features-bool", lambda: InputSpec(n_features=True), ValueError,
         r"n_features must be a positive integer, got True\."),
    case("n_features-string", lambda: InputSpec(n_features="3"), ValueError,
         r"n_features must be a positive integer, got '3'\."),
    case("simplex-bounds-outside-unit",
         lambda: InputSpec(bounds=[(2, 3)] * 2, simplex=True), ValueError,
         r"feature 0 has bounds outside \[0, 1\], impossible for a composition "
         r"\(simplex=True\)\."),
    case("simplex-cannot-sum-to-one",
         lambda: InputSpec(bounds=[(0.6, 1)] * 2, simplex=True), ValueError,
         r"simplex=True needs rows summing to 1, but the bounds allow sums in "
         r"\[1\.2, 2\] only\."),
    case("shape-one-dim", lambda: InputSpec(n_features=4, shape=(4,)), ValueError,
         r"shape must be \(C, H, W\) or \(H, W\), got \(4,\)\."),
    case("shape-negative", lambda: InputSpec(n_features=4, shape=(1, -2, -2)),
         ValueError, r"shape must be \(C, H, W\) or \(H, W\), got \(1, -2, -2\)\."),
    case("shape-vs-n_features", lambda: InputSpec(n_features=5, shape=(2, 2)),
         ValueError, r"disagree on the number of features: n_features gives 5, "
         r"shape \(1, 2, 2\) gives 4\."),
    # from_data
    case("from_data-1d", lambda: InputSpec.from_data(np.zeros(3)), ValueError,
         r"X must be a non-empty 2-D array, got shape \(3,\)\."),
    case("from_data-empty", lambda: InputSpec.from_data(np.zeros((0, 3))),
         ValueError, r"X must be a non-empty 2-D array, got shape \(0, 3\)\."),
    case("from_data-nan", lambda: InputSpec.from_data(X_NAN), ValueError,
         r"X contains NaN or infinity; an input spec needs finite data\."),
    case("from_data-strings", lambda: InputSpec.from_data([["a", "b"]]), ValueError,
         r"X must be a numeric array of shape \(n_samples, n_features\); could not "
         r"convert string to float: 'a'"),
    case("from_data-image-shape-mismatch",
         lambda: InputSpec.from_data(np.zeros((2, 4, 4)), shape=(3, 3)), ValueError,
         r"X holds images of shape \(4, 4\) but shape=\(3, 3\)\."),
    case("from_data-value_range-reversed",
         lambda: InputSpec.from_data(X3, value_range=(1, 0)), ValueError,
         r"value_range must have low <= high, got \(1, 0\)\."),
    case("from_data-value_range-scalar",
         lambda: InputSpec.from_data(X3, value_range=1), ValueError,
         r"value_range must be a \(low, high\) pair, got 1\."),
    # image
    case("image-shape-one-dim", lambda: InputSpec.image((16,)), ValueError,
         r"shape must be \(C, H, W\) or \(H, W\), got \(16,\)\."),
    case("image-shape-zero", lambda: InputSpec.image((0, 4)), ValueError,
         r"shape must be \(C, H, W\) or \(H, W\), got \(1, 0, 4\)\."),
    case("image-value_range-reversed",
         lambda: InputSpec.image((4, 4), value_range=(1, 0)), ValueError,
         r"value_range must have low <= high, got \(1, 0\)\."),
    case("image-mean-without-std", lambda: InputSpec.image((4, 4), mean=0.5),
         ValueError, r"Give both `mean` and `std`"),
    case("image-moments-wrong-size",
         lambda: InputSpec.image((4, 4), mean=np.zeros(5), std=np.ones(5)),
         ValueError, r"disagree on the number of features: mean gives 5, std gives "
         r"5, bounds gives 16, shape \(1, 4, 4\) gives 16\."),
    case("image-std-negative", lambda: InputSpec.image((2, 2), mean=0.5, std=-1),
         ValueError, r"std of feature 0 is negative \(-1\.0\)\."),
    # methods
    case("draw-negative", lambda: InputSpec(n_features=2).draw(-1), ValueError,
         r"n_samples must be a non-negative integer, got -1\."),
    case("draw-float", lambda: InputSpec(n_features=2).draw(2.5), ValueError,
         r"n_samples must be a non-negative integer, got 2\.5\."),
    case("to_images-without-shape",
         lambda: InputSpec(n_features=4).to_images(np.zeros((1, 4))), ValueError,
         r"This input spec has no image shape\."),
    case("to_images-wrong-width",
         lambda: InputSpec.image((2, 2)).to_images(np.zeros((1, 5))), ValueError,
         r"X must be flat rows of shape \(n, 4\) to become images of shape "
         r"\(1, 2, 2\); got shape \(1, 5\)\."),
]


@pytest.mark.parametrize("build, exc, match", INPUT_SPEC_CASES)
def test_bad_input_specs(build, exc, match):
    with raises_exactly(exc, match):
        build()


def test_scalar_moments_with_n_features_apply_to_every_feature():
    # documented ("array-like of shape (n_features,) or float"); used to raise
    spec = InputSpec(mean=0.5, std=2.0, n_features=3)
    np.testing.assert_array_equal(spec.mean, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(spec.std, [2.0, 2.0, 2.0])
    assert spec.draw(4, random_state=0).shape == (4, 3)


# ================================================== predict, to_compact, metrics
@pytest.fixture(scope="module")
def fitted():
    return DataFreeDistillRegressor(linear3(), **FAST).fit(bounds=BOUNDS)


def _unfitted():
    return DataFreeDistillRegressor(linear3(), **FAST)


NOT_FITTED_YET = (
    r"This DataFreeDistillRegressor instance is not fitted yet\. Call 'fit' with "
    r"appropriate arguments before using this estimator\."
)

FITTED_MODEL_CASES = [
    case("predict-before-fit", lambda est: _unfitted().predict(np.zeros((2, 3))),
         NotFittedError, NOT_FITTED_YET),
    case("to_compact-before-fit", lambda est: _unfitted().to_compact(),
         NotFittedError, NOT_FITTED_YET),
    case("predict-too-few-features", lambda est: est.predict(np.zeros((2, 2))),
         ValueError,
         r"X has 2 features, but DataFreeDistillRegressor is expecting 3 features "
         r"as input\."),
    case("predict-too-many-features", lambda est: est.predict(np.zeros((2, 5))),
         ValueError, r"X has 5 features, but DataFreeDistillRegressor is expecting 3"),
    case("predict-nan", lambda est: est.predict(X_NAN), ValueError,
         r"Input X contains NaN\."),
    case("predict-1d", lambda est: est.predict(np.zeros(3)), ValueError,
         r"X must be a numeric array of shape \(n_samples, n_features\): Expected "
         r"2D array, got 1D array"),
    case("predict-strings", lambda est: est.predict([["a", "b", "c"]]), ValueError,
         r"X must be a numeric array of shape \(n_samples, n_features\): could not "
         r"convert string to float: 'a'"),
    case("predict-images-without-image-spec",
         lambda est: est.predict(np.zeros((2, 3, 1, 1))), ValueError,
         r"X must be a numeric array .*Found array with dim 4"),
    case("compact-predict-wrong-width",
         lambda est: est.to_compact().predict(np.zeros((2, 4))), ValueError,
         r"X has 4 features, but CompactRegressor is expecting 3 features as input\."),
    case("compact-predict-nan", lambda est: est.to_compact().predict(X_NAN),
         ValueError, r"Input X contains NaN\."),
    # metrics
    case("scorer-unknown-metric", lambda est: make_fidelity_scorer("mse"),
         ValueError, r"Unknown fidelity metric 'mse'; valid: \['mae', 'r2', 'rmse'\]"),
    case("fidelity-before-fit", lambda est: fidelity_r2(_unfitted(), X3),
         ValueError,
         r"DataFreeDistillRegressor has no fitted teacher_ attribute: fit it first, "
         r"or pass the model it imitates as teacher="),
    case("fidelity-n_draws-zero", lambda est: fidelity_r2(est, n_draws=0),
         ValueError, r"n_draws must be a positive integer, got 0\."),
    case("fidelity-n_draws-float", lambda est: fidelity_r2(est, n_draws=2.5),
         ValueError, r"n_draws must be a positive integer, got 2\.5\."),
    case("fidelity-without-X", lambda est: fidelity_r2(est), ValueError,
         r"Give X \(rows to compare on\) or n_draws\."),
    case("fidelity-n_draws-without-spec",
         lambda est: fidelity_r2(LinearRegression().fit(X3, Y), n_draws=10,
                                 teacher=linear3()),
         ValueError, r"n_draws needs a fitted estimator with an input_spec_; "
         r"LinearRegression has none\. Pass X instead\."),
    case("fidelity-bad-teacher", lambda est: fidelity_r2(est, X3, teacher=3),
         TypeError, r"teacher must be .* a callable X -> y; got int"),
    case("scorer-wrong-width", lambda est: fidelity_rmse_scorer(est, X3[:, :2]),
         ValueError, r"X has 2 features, but DataFreeDistillRegressor is expecting 3"),
    case("sample_losses-without-X", lambda est: sample_losses(est, None), ValueError,
         r"Give X \(rows to compare on\) or n_draws\."),
]


@pytest.mark.parametrize("call, exc, match", FITTED_MODEL_CASES)
def test_bad_calls_on_fitted_models_and_scorers(fitted, call, exc, match):
    with raises_exactly(exc, match):
        call(fitted)

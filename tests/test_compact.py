"""The compact model: same predictions as the estimator, no teacher, exports."""

import importlib.util
import io
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.compact import CompactRegressor

from .conftest import run_without_torch

FAST = dict(max_epochs=20, batches_per_epoch=3, batch_size=20, n_validation=100)
D = 4


def raw_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal([10.0, -5.0, 0.0, 100.0], [2.0, 1.0, 3.0, 20.0], size=(n, D))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.05 * X[:, 3]
    return X, y


@pytest.fixture(scope="module")
def teacher():
    """A scikit-learn teacher on raw-scale data (translated: differentiable)."""
    X, y = raw_data()
    model = make_pipeline(
        StandardScaler(),
        MLPRegressor(hidden_layer_sizes=(64,), max_iter=200, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model


@pytest.fixture(scope="module")
def fitted(teacher):
    X, _ = raw_data()
    return DataFreeDistillRegressor(teacher, student=(8,), random_state=0, **FAST).fit(
        X
    )


@pytest.fixture(scope="module")
def compact(fitted):
    return fitted.to_compact()


def test_compact_predicts_what_the_estimator_predicts(fitted, compact):
    X, _ = raw_data(1000, seed=1)
    np.testing.assert_allclose(compact.predict(X), fitted.predict(X), rtol=0, atol=1e-6)
    assert compact.n_features_in_ == D
    assert repr(compact) == "CompactRegressor(4 -> 8 tanh -> 1, numpy)"
    assert compact.module_ is None and all(
        w.dtype == np.float64 for w in compact.coefs_
    )


class Custom(torch.nn.Module):
    """A student that is not a plain MLP: kept as a torch module."""

    def __init__(self, n_features):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, 6)
        self.out = torch.nn.Linear(6, 1)

    def forward(self, x):
        return self.out(torch.nn.functional.gelu(self.hidden(x)))


@pytest.mark.parametrize(
    "student, kind",
    [
        (
            torch.nn.Sequential(
                torch.nn.Linear(D, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)
            ),
            "numpy",
        ),
        (
            torch.nn.Sequential(
                torch.nn.Linear(D, 5),
                torch.nn.Sigmoid(),
                torch.nn.Dropout(0.1),
                torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Softplus(beta=2)),
                torch.nn.Linear(4, 1),
            ),
            "numpy",
        ),
        (Custom, "torch"),
        ("rbf:6", "torch"),
    ],
    ids=["relu", "sigmoid-dropout-softplus", "custom", "rbf"],
)
def test_every_student_kind_matches(teacher, student, kind):
    X, _ = raw_data()
    try:
        est = DataFreeDistillRegressor(
            teacher, student=student, random_state=0, **FAST
        ).fit(X)
    except (TypeError, ValueError) as exc:  # a student spec this build lacks
        pytest.skip(f"student {student!r} unavailable: {exc}")
    compact = est.to_compact()
    assert repr(compact).endswith(f", {kind})")
    X_test, _ = raw_data(500, seed=2)
    np.testing.assert_allclose(compact.predict(X_test), est.predict(X_test), atol=1e-6)


def test_pickle_holds_only_the_student(fitted, compact, tmp_path):
    buf = io.BytesIO()
    joblib.dump(compact, buf)
    data = buf.getvalue()
    assert b"MLPRegressor" not in data and b"Teacher" not in data
    assert b"torch" not in data  # an MLP student is NumPy arrays only
    full = io.BytesIO()
    joblib.dump(fitted, full)
    assert len(data) * 5 < len(full.getvalue())
    # the full estimator still round-trips, and says the same
    joblib.dump(fitted, tmp_path / "est.joblib")
    joblib.dump(compact, tmp_path / "compact.joblib")
    X, _ = raw_data(50, seed=3)
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "est.joblib").predict(X), fitted.predict(X)
    )
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "compact.joblib").predict(X), compact.predict(X)
    )


def test_loads_and_predicts_without_torch(compact, tmp_path):
    path = tmp_path / "compact.joblib"
    joblib.dump(compact, path)
    X, _ = raw_data(20, seed=4)
    np.save(tmp_path / "X.npy", X)
    run_without_torch(
        f"""
        import joblib, numpy as np
        model = joblib.load({str(path)!r})
        np.save({str(tmp_path / "y.npy")!r}, model.predict(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), compact.predict(X))


def test_feature_names_are_kept(teacher):
    pd = pytest.importorskip("pandas")
    X, _ = raw_data()
    names = ["speed", "load", "angle", "mass"]
    frame = pd.DataFrame(X, columns=names)
    # the teacher, fitted on arrays, warns when given names; not what is tested here
    est = DataFreeDistillRegressor(teacher, student=(4,), random_state=0, **FAST)
    est.fit(frame)
    compact = est.to_compact()
    assert list(compact.feature_names_in_) == names
    np.testing.assert_allclose(compact.predict(frame), est.predict(frame), atol=1e-6)
    with pytest.raises(ValueError, match="feature names"):
        compact.predict(frame[names[::-1]])
    # names given in the input spec only
    spec = InputSpec(bounds=[(0, 1)] * D, feature_names=names)
    est = DataFreeDistillRegressor(teacher, student=(4,), random_state=0, **FAST)
    assert list(est.fit(input_spec=spec).to_compact().feature_names_in_) == names


def test_score_clone_and_fit_leave_it_as_it_is(fitted, compact, teacher):
    X, _ = raw_data(400, seed=5)
    t = teacher.predict(X)
    assert compact.score(X, t) == pytest.approx(fitted.score(X, t), abs=1e-9)
    assert clone(compact) is compact
    before = compact.predict(X)
    assert compact.fit(X, t) is compact
    np.testing.assert_array_equal(compact.predict(X), before)
    with pytest.raises(ValueError, match="4 features"):
        compact.predict(X[:, :2])
    # the shortcut for plain arrays keeps scikit-learn's checks and answers
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compact.predict(X_nan)
    np.testing.assert_allclose(
        compact.predict(X.astype(np.float32)), compact.predict(X.tolist()), atol=1e-4
    )
    np.testing.assert_array_equal(compact.predict(X[::2]), compact.predict(X)[::2])


def test_skorch_export_predicts_the_same_and_fine_tunes(compact):
    X, _ = raw_data(300, seed=6)
    net = compact.to_skorch(max_epochs=3, train_split=None, verbose=0, lr=1e-3)
    pred = net.predict(X.astype(np.float32))
    assert pred.shape == (300, 1)
    expected = compact.predict(X)
    np.testing.assert_allclose(pred[:, 0], expected, rtol=1e-4, atol=1e-4)
    # fine-tuning on real data moves the weights, not the compact model
    y = expected + 1.0
    net.partial_fit(X.astype(np.float32), y.reshape(-1, 1).astype(np.float32))
    assert not np.allclose(net.predict(X.astype(np.float32))[:, 0], pred[:, 0])
    np.testing.assert_array_equal(compact.predict(X), expected)


@pytest.mark.parametrize("dtype, atol", [("float64", 1e-9), ("float32", 1e-4)])
def test_torchscript_round_trip(compact, tmp_path, dtype, atol):
    path = tmp_path / "student.pt"
    compact.to_torchscript(path, dtype=dtype)
    loaded = torch.jit.load(str(path))
    X, _ = raw_data(200, seed=7)
    with torch.no_grad():
        out = loaded(torch.as_tensor(X, dtype=getattr(torch, dtype))).numpy()
    np.testing.assert_allclose(out, compact.predict(X), rtol=atol, atol=atol)


def _onnx_missing():
    missing = [
        p
        for p in ("onnx", "onnxscript", "onnxruntime")
        if not importlib.util.find_spec(p)
    ]
    return ", ".join(missing)


@pytest.mark.skipif(
    bool(_onnx_missing()),
    reason=f"ONNX export needs the onnx extra (missing: {_onnx_missing()}); "
    'pip install "skdistill[onnx]"',
)
def test_onnx_export_runs_in_onnxruntime(compact, tmp_path):
    import onnxruntime

    path = compact.to_onnx(tmp_path / "student.onnx", dtype="float64")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["X"]
    for n in (1, 333):  # the batch dimension is dynamic
        X, _ = raw_data(n, seed=8)
        (out,) = session.run(None, {"X": X})
        np.testing.assert_allclose(out, compact.predict(X), rtol=0, atol=1e-6)


def test_onnx_without_the_extra_says_what_to_install(compact, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"skdistill\[onnx\]"):
        compact.to_onnx(tmp_path / "x.onnx")


def test_unfitted_estimator_has_no_compact_model(teacher):
    with pytest.raises(NotFittedError):
        DataFreeDistillRegressor(teacher).to_compact()
    with pytest.raises(NotFittedError):
        CompactRegressor().predict(np.zeros((1, D)))

"""Shipping the student: float32 compact models, a genuine scikit-learn
MLPRegressor, ONNX without torch's exporter, and a C header."""

import ctypes
import io

import joblib
import numpy as np
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from torch import nn

from skdistill import DataFreeDistillRegressor

from .conftest import C_COMPILER, compile_header

FAST = dict(max_epochs=15, batches_per_epoch=3, batch_size=32, n_validation=100)
BOUNDS = [(-3.0, 5.0), (100.0, 300.0), (0.0, 1.0), (-50.0, -10.0)]


def rows(n=1000, seed=0):
    low, high = np.array(BOUNDS).T
    return np.random.default_rng(seed).uniform(low, high, (n, len(BOUNDS)))


def teacher_fn(X):
    X = np.asarray(X)
    return 1000.0 + 50 * np.sin(X[:, 0]) + 0.1 * X[:, 1] + 30 * X[:, 2] * X[:, 3] / 50


def distil(student=(16, 8)):
    return DataFreeDistillRegressor(
        teacher_fn, student=student, sampler="random", regime="stream",
        random_state=0, **FAST
    ).fit(bounds=BOUNDS)


@pytest.fixture(scope="module")
def est():
    return distil()


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b)))


def Activations(n_features=4, act=nn.ReLU):
    """A student with the given hidden activation modules (sizes 8 then 6)."""
    return nn.Sequential(nn.Linear(n_features, 8), act(), nn.Linear(8, 6), act(),
                         nn.Linear(6, 1))


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU, nn.Sigmoid, nn.Identity])
def test_to_sklearn_predicts_what_the_compact_model_does(act):
    est = distil(Activations(act=act))
    compact = est.to_compact()
    mlp = compact.to_sklearn()
    X = rows()
    assert rel(mlp.predict(X), compact.predict(X)) < 1e-9
    name = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "logistic",
            nn.Identity: "identity"}[act]
    assert mlp.activation == name and mlp.hidden_layer_sizes == (8, 6)
    back = joblib.load(_dumped(mlp))
    np.testing.assert_array_equal(back.predict(X), mlp.predict(X))


def _dumped(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return buffer


def test_to_sklearn_refuses_what_mlpregressor_cannot_hold():
    compact = distil(Activations(act=lambda: nn.Softplus(beta=2.0))).to_compact()
    with pytest.raises(ValueError, match="one activation for every hidden layer"):
        compact.to_sklearn()
    rbf = distil("rbf:5").to_compact()
    with pytest.raises(ValueError, match="Only MLP students"):
        rbf.to_sklearn()
    with pytest.raises(ValueError, match="needs an MLP student"):
        distil("rbf:5").to_compact("float32")


def test_to_sklearn_keeps_feature_names(est):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(rows(300), columns=["a", "b", "c", "d"])
    fitted = DataFreeDistillRegressor(teacher_fn, student=(8,), sampler="random",
                                      random_state=0, **FAST).fit(frame)
    mlp = fitted.to_compact().to_sklearn()
    assert list(mlp.feature_names_in_) == ["a", "b", "c", "d"]
    assert rel(mlp.predict(frame), fitted.predict(frame)) < 1e-9


def test_float32_compact_is_smaller_and_agrees(est):
    big = distil((64, 64))
    c64, c32 = big.to_compact(), big.to_compact("float32")
    X = rows()
    assert rel(c32.predict(X), c64.predict(X)) < 1e-5
    assert c32.predict(X).dtype == np.float64
    size64, size32 = (len(_dumped(c).getvalue()) for c in (c64, c32))
    assert size32 < 0.6 * size64, (size32, size64)
    assert "numpy float32" in repr(c32)
    with pytest.raises(ValueError, match="dtype must be one of"):
        big.to_compact("float16")


def test_skl2onnx_converts_the_sklearn_form(est):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    mlp = est.to_compact().to_sklearn()
    X = rows().astype(np.float32)
    model = skl2onnx.to_onnx(mlp, X[:1])
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: X})[0].reshape(-1)
    assert rel(out, est.predict(X.astype(np.float64))) < 1e-5


def test_tabular_students_become_a_pipeline():
    pd = pytest.importorskip("pandas")
    from .test_tabular import FAST as TAB
    from .test_tabular import houses, pipeline_teacher

    df, y = houses(800)
    fitted = DataFreeDistillRegressor(pipeline_teacher(df, y), **TAB).fit(df)
    model = fitted.to_compact().to_sklearn()
    assert [name for name, _ in model.steps] == ["encode", "mlp"]
    assert rel(model.predict(df), fitted.predict(df)) < 1e-9
    with pytest.raises(ValueError, match="unknown categor"):
        model.predict(df.assign(city="Z"))
    assert isinstance(model.predict(df.iloc[:3]), np.ndarray) and pd is not None


@pytest.mark.skipif(C_COMPILER is None, reason="no C compiler on this machine")
@pytest.mark.parametrize("student", [(16, 8), Activations(act=lambda: nn.Softplus(3.0))])
def test_c_header_compiles_and_agrees_with_float32_predict(tmp_path, student):
    compact = distil(student).to_compact("float32")
    header = compact.to_c(tmp_path / "student.h", name="student")
    assert "#include <math.h>" in header and "malloc" not in header
    assert header.count("#include") == 1
    lib = compile_header(tmp_path)
    X = np.ascontiguousarray(rows(1000, seed=3), dtype=np.float32)
    y = np.empty(1000, dtype=np.float32)
    lib.run(X.ctypes.data_as(ctypes.c_void_p), 1000, y.ctypes.data_as(ctypes.c_void_p))
    assert rel(y, compact.predict(X.astype(np.float64))) < 1e-5


def test_c_header_names_must_be_identifiers(est):
    with pytest.raises(ValueError, match="C identifier"):
        est.to_compact().to_c(name="my student")


def test_torch_is_not_needed_for_the_forms(est):
    # the sklearn form is a plain scikit-learn object: nothing of ours inside
    mlp = est.to_compact().to_sklearn()
    assert type(mlp).__module__.startswith("sklearn.")
    assert not any(isinstance(v, torch.Tensor) for v in vars(mlp).values())


def test_skl2onnx_converts_the_tabular_pipeline_with_its_encoding():
    """String categories: the ONNX graph of to_sklearn() holds the one-hot
    encoding too (skl2onnx 1.20 does not one-hot bool columns)."""
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx.common.data_types import (
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    from .test_tabular import FAST as TAB
    from .test_tabular import houses

    df, y = houses(800)
    df = df.drop(columns=["garden", "country"]).astype({"style": str})
    ct = ColumnTransformer([("cat", OneHotEncoder(), ["city", "style"])],
                           remainder="passthrough")
    teacher = make_pipeline(ct, HistGradientBoostingRegressor(random_state=0)).fit(df, y)
    fitted = DataFreeDistillRegressor(teacher, **TAB).fit(df)
    types = {"f": FloatTensorType, "i": Int64TensorType}
    initial = [(c, types.get(dt.kind, StringTensorType)([None, 1]))
               for c, dt in df.dtypes.items()]
    model = skl2onnx.to_onnx(fitted.to_compact().to_sklearn(), initial_types=initial)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    feeds = {}
    for c, dt in df.dtypes.items():
        cast = {"f": np.float32, "i": np.int64}.get(dt.kind, object)
        feeds[c] = df[c].to_numpy().astype(cast).reshape(-1, 1)
    out = session.run(None, feeds)[0].reshape(-1)
    assert rel(out, fitted.predict(df)) < 1e-5

"""
=====================================
Ship the student, not the teacher
=====================================

A random forest is accurate but heavy: hundreds of trees to store and to walk for
every prediction. This example distils one into a small MLP, exports the student
alone with :meth:`~skdistill.DataFreeDistillRegressor.to_compact`, and compares
file size, prediction time and fidelity; then it round-trips the student through
``joblib`` and, when onnx is installed, ONNX.
"""

# %%
# Teacher and student
# -------------------
# A forest of 100 trees on scikit-learn's diabetes data. It is a black box to
# skdistill; random sampling (one query per training row) is the quickest way to
# distil it. Larger batches mean fewer calls to the forest, whose every call has a
# fixed overhead.
import warnings

from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import train_test_split

from skdistill import DataFreeDistillRegressor

X, y = load_diabetes(return_X_y=True, scaled=False)
X_private, X_public, y_private, y_public = train_test_split(
    X, y, test_size=0.4, random_state=0
)
teacher = RandomForestRegressor(
    n_estimators=100, min_samples_leaf=3, random_state=0
).fit(X_private, y_private)

X_unlabeled, X_test = X_public[:50], X_public[50:]
est = DataFreeDistillRegressor(
    teacher,
    student=(50,),
    sampler="random",
    batch_size=100,
    max_epochs=100,
    random_state=0,
).fit(X_unlabeled)

# %%
# The compact model
# -----------------
# :class:`~skdistill.compact.CompactRegressor` holds the student's weights and its
# input and target scaling, nothing else. An MLP student runs in NumPy: loading and
# predicting need neither torch nor the teacher.
compact = est.to_compact()
print(compact)

# %%
# Size, speed and fidelity
# ------------------------
# Both models saved with ``joblib`` and timed on one row (the latency of a single
# request) and on 10,000 rows (throughput).
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np

from skdistill.metrics import fidelity_r2

rows = np.random.default_rng(0).integers(len(X_public), size=10_000)
X_batch = X_public[rows]
X_one = X_public[:1]


def best_time(predict, X, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return min(times)


folder = Path(tempfile.mkdtemp())
report = {}
for name, model in (("random forest", teacher), ("compact student", compact)):
    path = folder / f"{name.replace(' ', '_')}.joblib"
    joblib.dump(model, path)
    report[name] = {
        "file (KB)": path.stat().st_size / 1024,
        "1 row (ms)": 1e3 * best_time(model.predict, X_one, 20),
        "10,000 rows (ms)": 1e3 * best_time(model.predict, X_batch, 3),
    }
for name, values in report.items():
    print(f"{name:>16}: " + ", ".join(f"{k} {v:,.2f}" for k, v in values.items()))
print(
    f"fidelity R^2 of the student on the test rows: "
    f"{fidelity_r2(compact, X_test, teacher=teacher):.3f}"
)
print(
    f"R^2 on true targets: teacher {teacher.score(X_test, y_public[50:]):.3f}, "
    f"student {compact.score(X_test, y_public[50:]):.3f}"
)

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(9, 3), layout="constrained")
for ax, key in zip(axes, report["random forest"]):
    values = [report[name][key] for name in report]
    ax.bar(list(report), values, color=["C1", "C0"])
    ax.set_yscale("log")
    ax.set_title(key)
    ax.tick_params(axis="x", labelsize=8)

# %%
# Loading it back
# ---------------
# The file loads into a scikit-learn regressor that predicts what the estimator
# predicts.
loaded = joblib.load(folder / "compact_student.joblib")
print(np.allclose(loaded.predict(X_test), est.predict(X_test), rtol=0, atol=1e-6))

# %%
# ONNX
# ----
# :meth:`~skdistill.compact.CompactRegressor.to_onnx` writes the student for ONNX
# runtimes (input ``"X"`` of shape ``(batch, n_features)``, output ``"y"``). It
# needs the ``onnx`` extra: ``pip install "skdistill[onnx]"``.
try:
    import onnxruntime
    import onnxscript  # noqa: F401  (torch's exporter needs it)
except ImportError:
    onnxruntime = None
    print('onnxruntime or onnxscript is not installed: pip install "skdistill[onnx]"')

if onnxruntime is not None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes about torch internals
        path = compact.to_onnx(folder / "student.onnx")
    session = onnxruntime.InferenceSession(path)
    (y_onnx,) = session.run(None, {"X": X_test.astype(np.float32)})
    print(
        f"ONNX file: {Path(path).stat().st_size / 1024:.1f} KB, largest "
        f"difference to predict: {np.abs(y_onnx - est.predict(X_test)).max():.1e}"
    )

# %%
# A genuine scikit-learn model
# ----------------------------
# :meth:`~skdistill.compact.CompactRegressor.to_sklearn` gives a fitted
# ``MLPRegressor`` holding the student, the input and target scaling folded into
# its first and last layers: every tool made for scikit-learn models reads it,
# skl2onnx among them (ONNX without torch's exporter).
mlp = compact.to_sklearn()
print(mlp, f"largest difference to predict: "
      f"{np.abs(mlp.predict(X_test) - compact.predict(X_test)).max():.1e}")
try:
    from skl2onnx import to_onnx
except ImportError:
    to_onnx = None
    print('skl2onnx is not installed: pip install "skdistill[onnx]"')
if to_onnx is not None and onnxruntime is not None:
    model = to_onnx(mlp, X_test[:1].astype(np.float32))
    session = onnxruntime.InferenceSession(model.SerializeToString())
    (y_onnx,) = session.run(None, {session.get_inputs()[0].name:
                                   X_test.astype(np.float32)})
    print(f"skl2onnx model: {len(model.SerializeToString()) / 1024:.1f} KB, largest "
          f"difference to predict: {np.abs(y_onnx.ravel() - compact.predict(X_test)).max():.1e}")

# %%
# Float32 and C
# -------------
# ``to_compact(dtype="float32")`` halves the file and speeds up large batches;
# :meth:`~skdistill.compact.CompactRegressor.to_c` writes the float32 student as one
# C99 header for microcontrollers (no allocation, ``math.h`` only).
compact32 = est.to_compact(dtype="float32")
print(compact32, f"largest difference to float64: "
      f"{np.abs(compact32.predict(X_test) - compact.predict(X_test)).max():.1e}")
header = compact32.to_c(folder / "student.h", name="student")
print("\n".join(header.splitlines()[:6]))
print(f"... {len(header.splitlines())} lines")

# %%
# Keep the fitted estimator too (it pickles with ``joblib`` as well) where you may
# want its ``history_`` or to refit: it holds the teacher, the compact model does
# not.
import shutil

shutil.rmtree(folder)

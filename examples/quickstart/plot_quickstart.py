"""
============================================
Distil a regressor without its training data
============================================

A model trained on private data is compressed into a small neural network, the
*student*, using only a handful of unlabeled rows to describe where the inputs
live. The student is then checked against the teacher, and saved on its own.
"""

# %%
# The teacher
# -----------
# Someone trained a model on scikit-learn's diabetes data (raw features, targets
# around 150): an MLP of 200 tanh units on standardized features and targets. We
# get the fitted model, not its training rows.
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_diabetes(return_X_y=True, scaled=False)
X_private, X_public, y_private, y_public = train_test_split(
    X, y, test_size=0.4, random_state=0
)
mlp = MLPRegressor(
    hidden_layer_sizes=(200,),
    activation="tanh",
    alpha=1.0,
    early_stopping=True,
    max_iter=500,
    random_state=0,
)
teacher = TransformedTargetRegressor(
    make_pipeline(StandardScaler(), mlp), transformer=StandardScaler()
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # early stopping may end before convergence
    teacher.fit(X_private, y_private)

# %%
# What we know of the inputs: 50 rows without targets. The rest of the public rows
# (with targets) are kept aside to evaluate at the end.
X_unlabeled = X_public[:50]
X_test, y_test = X_public[50:], y_public[50:]

# %%
# Distil
# ------
# :class:`~skdistill.DataFreeDistillRegressor` draws synthetic inputs from the
# moments and ranges of ``X_unlabeled``, pushes half of them towards inputs where
# teacher and student disagree (``sampler="direct"``), labels them all with the
# teacher and trains a student of 20 tanh units on them. The paper trains for 2000
# epochs; 300 are enough here.
from skdistill import DataFreeDistillRegressor

est = DataFreeDistillRegressor(
    teacher, student=(20,), sampler="direct", max_epochs=300, random_state=0
)
est.fit(X_unlabeled)
print(est.teacher_)
print(
    f"{est.n_iter_} epochs, best at epoch {est.best_epoch_}, "
    f"{est.n_teacher_queries_:,} rows asked of the teacher"
)

# %%
# The teacher is a scikit-learn Pipeline, yet ``est.teacher_`` says
# *differentiable*: skdistill translated it exactly into a torch module, so the
# direct sampler could follow the teacher's gradients.
#
# How close is the student?
# -------------------------
# The *fidelity* compares student and teacher on rows without labels. The curve of
# ``history_`` shows its value on the synthetic validation set during training.
from skdistill.metrics import fidelity_r2, fidelity_rmse
from skdistill.plot import plot_fidelity, plot_history

print(f"fidelity R^2 on real rows: {fidelity_r2(est, X_test):.3f}")
print(f"fidelity RMSE on real rows: {fidelity_rmse(est, X_test):.2f}")
print(f"fidelity R^2 on draws of the input spec: {fidelity_r2(est, n_draws=2000):.3f}")

fig, axes = plot_history(est, keys=("val_rmse", "loss_generated"))

# %%
# Each point is a row of ``X_test``: the student follows the teacher closely.
fig, ax = plot_fidelity(est, X_test)

# %%
# Both are judged against the true targets, which neither the distillation nor
# its model selection ever saw.
from sklearn.metrics import r2_score

print(f"teacher R^2 on the test rows: {r2_score(y_test, teacher.predict(X_test)):.3f}")
print(f"student R^2 on the test rows: {est.score(X_test, y_test):.3f}")

# %%
# Save the student alone
# ----------------------
# :meth:`~skdistill.DataFreeDistillRegressor.to_compact` keeps only the student's
# weights and scaling: it loads and predicts without torch and without the
# teacher.
import tempfile
from pathlib import Path

import joblib
import numpy as np

compact = est.to_compact()
print(compact)
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "student.joblib"
    joblib.dump(compact, path)
    print(f"student file: {path.stat().st_size / 1024:.1f} KB")
    loaded = joblib.load(path)
print(np.allclose(loaded.predict(X_test), est.predict(X_test), atol=1e-6))

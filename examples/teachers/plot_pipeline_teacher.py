"""
==========================================
Pipeline teachers: translated or black box
==========================================

scikit-learn Pipelines are ordinary teachers. Those made of scalers, polynomial
features and a linear model or an MLP have an exact torch translation, so the direct
sampler follows their gradients; any other Pipeline is queried as a black box.
:func:`~skdistill.as_teacher` says which path a model takes.
"""

# %%
# Two Pipelines on the same data
# ------------------------------
# A polynomial ridge regression (scaler, degree-2 features, ridge) and a spline
# model (spline features, ridge), trained on scikit-learn's diabetes data.
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler

from skdistill import as_teacher

X, y = load_diabetes(return_X_y=True, scaled=False)
X_private, X_public, y_private, y_public = train_test_split(
    X, y, test_size=0.4, random_state=0
)
alphas = np.logspace(-2, 3, 11)
poly = make_pipeline(StandardScaler(), PolynomialFeatures(2), RidgeCV(alphas=alphas))
spline = make_pipeline(SplineTransformer(n_knots=4), RidgeCV(alphas=alphas))
poly.fit(X_private, y_private)
spline.fit(X_private, y_private)

print(as_teacher(poly))
print(as_teacher(spline))

# %%
# The translation is exact: the torch module gives the Pipeline's predictions (to
# float32 rounding) and their gradients.
X_unlabeled, X_test = X_public[:50], X_public[50:]
translated = as_teacher(poly)
gap = np.abs(translated.predict(X_test) - poly.predict(X_test)).max()
print(f"largest difference to Pipeline.predict: {gap:.1e}")

# %%
# Distil both
# -----------
# The same call for both teachers. With the default ``optimizer="auto"`` the
# direct sampler takes gradient steps on the translated Pipeline; for the spline
# model, a black box, it would run differential evolution (see
# :ref:`sphx_glr_auto_examples_teachers_plot_blackbox_svr.py`): here we ask for
# plain random draws instead, the cheapest choice for a black box.
from skdistill import DataFreeDistillRegressor
from skdistill.metrics import fidelity_r2

students = {
    "polynomial ridge (direct, gradients)": DataFreeDistillRegressor(
        poly, student=(30,), sampler="direct", max_epochs=200, random_state=0
    ),
    "spline ridge (random, black box)": DataFreeDistillRegressor(
        spline, student=(30,), sampler="random", max_epochs=200, random_state=0
    ),
}
for name, est in students.items():
    est.fit(X_unlabeled)
    print(
        f"{name}: fidelity R^2 {fidelity_r2(est, X_test):.3f}, "
        f"test R^2 {est.score(X_test, y_public[50:]):.3f} "
        f"(teacher {est.teacher_.estimator.score(X_test, y_public[50:]):.3f})"
    )

# %%
# Student against teacher on the test rows, for both.
import matplotlib.pyplot as plt

from skdistill.plot import plot_fidelity

fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), layout="constrained")
for ax, (name, est) in zip(axes, students.items()):
    plot_fidelity(est, X_test, ax=ax)
    ax.set_title(f"{name}\n{ax.get_title()}", fontsize=9)

# %%
# Forcing the black-box path
# --------------------------
# To treat a translatable model as a black box anyway (to compare, or because its
# ``predict`` is overridden in a way the translation cannot see), wrap it in
# :class:`~skdistill.teachers.SklearnTeacher`.
from skdistill.teachers import SklearnTeacher

print(as_teacher(SklearnTeacher(poly)))

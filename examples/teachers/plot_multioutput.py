"""
===================================================
A two-output forest: one student, or one per output
===================================================

A random forest fitted on a target of two columns predicts two numbers per row.
skdistill distils it into one student with two outputs (``outputs="joint"``, the
default), or into two students of one output each (``outputs="separate"``, as
``MultiOutputRegressor`` would). This example does both, and a joint student as
wide as the two separate ones together, and compares what each costs in teacher
rows and what it gets right, output by output. See :ref:`multioutput`.
"""

# %%
# The teacher
# -----------
# Two outputs on very different scales that share most of their structure: both
# depend on ``sin(2.5 x0) + x1^2``; the first adds a linear term in ``x2``, the
# second, about 40 times larger, a product of ``x3`` and ``x4``. The forest is
# fitted on 2,000 private rows; the student never sees them.
import numpy as np
from sklearn.ensemble import RandomForestRegressor

rng = np.random.default_rng(0)


def process(n):
    X = rng.uniform(-1, 1, size=(n, 5))
    shared = np.sin(2.5 * X[:, 0]) + X[:, 1] ** 2
    Y = np.c_[shared + 0.5 * X[:, 2], 40 * shared - 30 * X[:, 3] * X[:, 4] + 200]
    return X, Y + rng.normal(0, [0.05, 2.0], size=Y.shape)


X_private, Y_private = process(2000)
teacher = RandomForestRegressor(n_estimators=30, min_samples_leaf=3, random_state=0)
teacher.fit(X_private, Y_private)
print(teacher.predict(X_private[:3]))  # shape (3, 2)

# %%
# Distil
# ------
# The inputs are described by their box alone. Each fit may ask the teacher for
# 20,000 rows (``max_teacher_queries``): the joint students once, the separate
# students each, so 40,000 rows for the pair. Each output is standardized on its
# own before training, so the second output's scale does not drown the first.
import time

from skdistill import DataFreeDistillRegressor

bounds = [(-1, 1)] * 5
students = {
    "joint, 50 units": DataFreeDistillRegressor(
        teacher, student=(50,), max_teacher_queries=20_000, random_state=0
    ),
    "separate, 2 x 50": DataFreeDistillRegressor(
        teacher, student=(50,), outputs="separate", max_teacher_queries=20_000,
        random_state=0,
    ),
    "joint, 100 units": DataFreeDistillRegressor(
        teacher, student=(100,), max_teacher_queries=20_000, random_state=0
    ),
}
wall = {}
for name, est in students.items():
    t0 = time.perf_counter()
    est.fit(bounds=bounds)
    wall[name] = time.perf_counter() - t0

separate = students["separate, 2 x 50"]
print("separate students:", [sub.n_teacher_queries_ for sub in separate.estimators_],
      "teacher rows each")

# %%
# Fidelity per output
# -------------------
# On fresh rows of the private process, which no distillation saw.
# ``multioutput="raw_values"`` gives one RMSE per output, in its own units; divided
# by the spread of the teacher's predictions they can be compared across outputs.
from skdistill.metrics import fidelity_rmse

X_test, Y_test = process(2000)
spread = teacher.predict(X_test).std(axis=0)
rmse = {
    name: fidelity_rmse(est, X_test, multioutput="raw_values")
    for name, est in students.items()
}
print(f"{'student':>16} | teacher rows | RMSE out 0 | RMSE out 1 | relative 0 | "
      "relative 1 | R^2 to Y | seconds | compact model")
for name, est in students.items():
    r, rel = rmse[name], rmse[name] / spread
    print(f"{name:>16} | {est.n_teacher_queries_:12,} | {r[0]:10.3f} | {r[1]:10.2f} | "
          f"{rel[0]:10.3f} | {rel[1]:10.3f} | {est.score(X_test, Y_test):8.3f} | "
          f"{wall[name]:7.1f} | {est.to_compact()!r}")
print(f"R^2 of the teacher to Y: {teacher.score(X_test, Y_test):.3f}")

# %%
# The joint student's history has the validation RMSE of each output beside their
# mean, the curve the best student is selected on. They are in the teacher's
# units, so the second output, 40 times larger, weighs most in the mean; give the
# first a larger ``output_weights`` entry if its epoch should count more.
joint = students["joint, 50 units"]
best = joint.history_["epoch"].index(joint.best_epoch_)
print({key: round(joint.history_[key][best], 3)
       for key in ("val_rmse", "val_rmse_0", "val_rmse_1")})

# %%
# Ship it
# -------
# The two separate MLPs are combined exactly into one MLP of 100 units with two
# outputs, so both forms ship the same way: a compact model predicting ``(n, 2)``,
# a scikit-learn ``MLPRegressor``, or a C header whose ``predict`` writes
# ``STUDENT_N_OUTPUTS`` values.
compact = separate.to_compact()
print(compact, compact.predict(X_test[:2]))
mlp = compact.to_sklearn()
print(mlp.n_outputs_, np.allclose(mlp.predict(X_test), separate.predict(X_test)))
header = compact.to_c(name="student")
print("\n".join(line for line in header.splitlines()
                if line.startswith(("#define STUDENT_N", "static void"))))

# %%
# Relative fidelity of each output (lower is closer to the teacher), and the joint
# student against the teacher on the test rows.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
width = 0.8 / len(students)
for i, name in enumerate(students):
    axes[0].bar(np.arange(2) + (i - 1) * width, rmse[name] / spread, width,
                label=f"{name} ({students[name].n_teacher_queries_ // 1000}k rows)")
axes[0].set_xticks([0, 1], ["output 0", "output 1"])
axes[0].set_ylabel("RMSE to teacher / teacher sd")
axes[0].legend(fontsize="small")
t, s = teacher.predict(X_test), joint.predict(X_test)
for j, ax in enumerate(axes[1:]):
    ax.scatter(t[:, j], s[:, j], s=4, alpha=0.5)
    ax.axline((t[:, j].mean(), t[:, j].mean()), slope=1, color="k", lw=1)
    ax.set_xlabel(f"teacher, output {j}")
    ax.set_ylabel(f"joint student, output {j}")

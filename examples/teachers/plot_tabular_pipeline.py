"""
===========================================================
A mixed-type Pipeline, distilled from a hand-written spec
===========================================================

The teacher is what a scikit-learn user most often holds: a Pipeline over a pandas
DataFrame, with a ``ColumnTransformer`` one-hot encoding the string columns in
front of gradient boosting. The student never sees the training frame: only a data
sheet of the columns (names, kinds, ranges and levels), written by hand and saved
as JSON. See :ref:`tabular`.
"""

# %%
# The teacher
# -----------
# House prices from a floor area, a number of rooms (an integer), a city and an
# energy label (strings) and whether there is a garden (a bool).
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

rng = np.random.default_rng(0)


def houses(n):
    frame = pd.DataFrame(
        {
            "area": rng.uniform(30, 250, n),
            "rooms": rng.integers(1, 8, n),
            "city": rng.choice(["Delft", "Gouda", "Leiden"], n, p=[0.3, 0.2, 0.5]),
            "label": rng.choice(list("ABCDE"), n),
            "garden": rng.random(n) < 0.4,
        }
    )
    price = (
        2.5 * frame["area"]
        + 15 * np.sqrt(frame["rooms"])
        + frame["city"].map({"Delft": 40, "Gouda": -30, "Leiden": 60})
        + frame["label"].map(dict(zip("ABCDE", [50, 30, 10, 0, -20])))
        + 25 * frame["garden"]
        + rng.normal(0, 15, n)
    )
    return frame, price.to_numpy()


df_private, y_private = houses(3000)
encode = ColumnTransformer(
    [("levels", OneHotEncoder(), ["city", "label", "garden"])], remainder="passthrough"
)
teacher = make_pipeline(encode, HistGradientBoostingRegressor(random_state=0))
teacher.fit(df_private, y_private)

# %%
# The data sheet
# --------------
# What the teacher's owner can write down without sharing any row: ranges of the
# numbers and the levels of the categories. Integer columns are drawn as integers,
# categories as their levels; the teacher receives DataFrames with these names and
# dtypes.
from skdistill import Categorical, Continuous, InputSpec, Integer

spec = InputSpec(
    columns=[
        Continuous("area", low=30, high=250),
        Integer("rooms", low=1, high=7),
        Categorical("city", ["Delft", "Gouda", "Leiden"]),
        Categorical("label", list("ABCDE")),
        Categorical("garden", [False, True]),
    ]
)
text = spec.to_json()
print(text[:300], "...")
spec = InputSpec.from_json(text)
print(spec.draw(5, random_state=0))

# %%
# Distil
# ------
# A black box: the default trains on a pool of labelled rows, bought in rounds, for
# a budget of 20,000 teacher rows. Beside it, what a user writes by hand: label
# 20,000 draws of the same spec and fit scikit-learn's ``MLPRegressor`` on them,
# with the same encoding.
import time

from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skdistill import DataFreeDistillRegressor

t0 = time.perf_counter()
est = DataFreeDistillRegressor(
    teacher, student=(50,), max_teacher_queries=20_000, random_state=0
).fit(input_spec=spec)
wall = time.perf_counter() - t0

t0 = time.perf_counter()
X_drawn = spec.draw(20_000, random_state=0)
by_hand = make_pipeline(
    ColumnTransformer(
        [("levels", OneHotEncoder(), ["city", "label", "garden"]),
         ("numbers", StandardScaler(), ["area", "rooms"])]
    ),
    TransformedTargetRegressor(
        MLPRegressor(hidden_layer_sizes=(50,), activation="tanh", early_stopping=True, max_iter=200,
                     random_state=0),
        transformer=StandardScaler(),
    ),
).fit(X_drawn, teacher.predict(X_drawn))
wall_hand = time.perf_counter() - t0

df_test, y_test = houses(2000)
t = teacher.predict(df_test)


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


print(f"teacher rows: {est.n_teacher_queries_} (skdistill), 20000 (by hand)")
print(f"fidelity RMSE on real rows: skdistill {rmse(est.predict(df_test), t):.2f} "
      f"({wall:.1f} s), by hand {rmse(by_hand.predict(df_test), t):.2f} "
      f"({wall_hand:.1f} s); price sd {t.std():.1f}")

# %%
# Ship it
# -------
# The compact model keeps the encoding: it predicts from the same DataFrame (columns
# in any order), needs no torch to load, and names the column of a bad value.
import io

import joblib

compact = est.to_compact()
buffer = io.BytesIO()
joblib.dump(compact, buffer)
print(compact, f"{buffer.tell() / 1024:.1f} KiB")
print(np.allclose(compact.predict(df_test[df_test.columns[::-1]]),
                  est.predict(df_test)))
try:
    compact.predict(df_test.assign(city="Utrecht"))
except ValueError as exc:
    print(exc)

# %%
# Student against teacher on the real rows.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
ax.scatter(t, compact.predict(df_test), s=4, alpha=0.5)
ax.axline((t.mean(), t.mean()), slope=1, color="k", lw=1)
ax.set_xlabel("teacher")
ax.set_ylabel("student (compact)")
ax.set_title("real rows, never seen by the student")

"""skdistill.report: fidelity without real data, the worst cases inside the
spec, a profile per feature, a gate for deployment; teacher rows bounded."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

from skdistill import DataFreeDistillRegressor, InputSpec, report

from .conftest import make_torch_teacher


class Counting:
    def __init__(self, model):
        self.model, self.rows = model, 0

    def __call__(self, X):
        self.rows += len(X)
        return self.model.predict(X)


@pytest.fixture(scope="module")
def forest():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 4))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * (X[:, 2] > 0)
    model = RandomForestRegressor(30, max_depth=8, random_state=0).fit(X, y)
    teacher = Counting(model)
    est = DataFreeDistillRegressor(teacher, student=(16,), max_teacher_queries=4000,
                                   random_state=0).fit(X[:1000])
    return est, teacher, X


def test_the_report_counts_and_bounds_its_teacher_rows(forest):
    est, teacher, X = forest
    before = teacher.rows
    r = report(est, X[1000:1200], n_draws=1000, max_teacher_queries=3000,
               random_state=0)
    assert r.n_teacher_queries <= 3000 and teacher.rows - before == r.n_teacher_queries
    assert r.rows is not None and r.draws["rmse"][0] > 0
    # the search starts from the worst draws: it never reports less than them
    assert r.max_abs >= r.draws["max"][0]
    assert len(r.worst["abs_diff"]) == 10
    assert np.all(np.diff(r.worst["abs_diff"]) <= 0)  # largest first
    found = np.abs(teacher.model.predict(r.worst["X"]) - est.predict(r.worst["X"]))
    np.testing.assert_allclose(found, r.worst["abs_diff"], rtol=1e-6, atol=1e-9)


def test_the_report_is_reproducible_and_json(forest):
    est, _, _ = forest
    a = report(est, n_draws=500, max_teacher_queries=1500, random_state=3)
    b = report(est, n_draws=500, max_teacher_queries=1500, random_state=3)
    assert a.to_json() == b.to_json()
    d = json.loads(a.to_json())
    assert {p["feature"] for p in d["profile"]} == {"x0", "x1", "x2", "x3"}
    assert "| spec draws |" in a.summary()


def test_check_names_what_fails(forest):
    est, _, _ = forest
    r = report(est, n_draws=500, max_teacher_queries=1500, random_state=0)
    assert r.check(max_rmse=10.0, min_r2=-1.0) is r
    with pytest.raises(ValueError, match="RMSE on the spec draws .* > 1e-06.*worst"):
        r.check(max_rmse=1e-6, max_abs=1e-6)


def test_a_bad_budget_is_refused(forest):
    est, _, X = forest
    with pytest.raises(ValueError, match="leaves 0 rows after the 100 rows of X"):
        report(est, X[:100], max_teacher_queries=100)


def test_gradient_search_on_a_torch_teacher_beats_random_draws():
    teacher = make_torch_teacher(3)
    est = DataFreeDistillRegressor(teacher, student=(4,), max_epochs=20,
                                   random_state=0).fit(input_spec=InputSpec(n_features=3))
    r = report(est, n_draws=2000, max_teacher_queries=4000, random_state=0)
    assert r.n_teacher_queries <= 4000
    assert r.max_abs > 1.2 * r.draws["max"][0]


def test_tabular_worst_cases_are_a_dataframe():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"kind": rng.choice(["a", "b"], 600), "v": rng.gamma(2.0, 1.0, 600)})

    def teacher(frame):
        return frame["v"].to_numpy() * np.where(frame["kind"] == "a", 1.0, -1.0)

    est = DataFreeDistillRegressor(teacher, student=(8,), max_teacher_queries=2000,
                                   random_state=0).fit(df)
    r = report(est, df.iloc[:50], n_draws=500, max_teacher_queries=1500, random_state=0)
    assert list(r.worst["X"].columns) == ["kind", "v"]
    kinds = next(p for p in r.profile if p["feature"] == "kind")
    assert sorted(kinds["bins"]) == ["a", "b"]

"""fit() without an input distribution: the spec is read from what the teacher
keeps of its inputs (scalers, encoders, bins, split thresholds, stored rows),
and N(0, I) is assumed with a warning only when it keeps nothing."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor, make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    QuantileTransformer,
    StandardScaler,
)
from sklearn.svm import SVR

from skdistill import DataFreeDistillRegressor, InputSpec, NoInputSpecWarning
from skdistill._teacher_inputs import teacher_spec

from .conftest import make_torch_teacher


@pytest.fixture(scope="module")
def raw_diabetes():
    """Diabetes in raw-looking units (features around 50, one of them binary)."""
    X, y = load_diabetes(return_X_y=True)
    return X * 100 + 50, y


def _distil(teacher, **fit):
    est = DataFreeDistillRegressor(teacher, student=(20,), max_teacher_queries=3000,
                                   random_state=0)
    return est.fit(**fit)


def test_a_pipelines_scaler_gives_the_inputs_n01_would_miss(raw_diabetes):
    X, y = raw_diabetes
    teacher = make_pipeline(StandardScaler(), SVR()).fit(X, y)
    est = _distil(teacher)
    assert "StandardScaler" in est.input_source_
    r2 = r2_score(teacher.predict(X), est.predict(X))
    blind = _distil(teacher, input_spec=InputSpec(n_features=10))
    assert r2 > 0.9 > 0.5 > r2_score(teacher.predict(X), blind.predict(X))


def test_a_teacher_that_keeps_nothing_warns_that_n01_is_assumed():
    est = DataFreeDistillRegressor(make_torch_teacher(3), student=(4,), max_epochs=1,
                                   n_validation=50, random_state=0)
    with pytest.warns(NoInputSpecWarning, match="N\\(0, I\\) on its 3 features"):
        est.fit()
    assert est.input_source_.startswith("N(0, I) assumed")


@pytest.mark.parametrize("scaler", [MinMaxScaler(), QuantileTransformer(n_quantiles=50)])
def test_ranges_and_quantiles_of_a_scaler(raw_diabetes, scaler):
    X, y = raw_diabetes
    teacher = make_pipeline(scaler, Ridge()).fit(X, y)
    spec, source = teacher_spec(teacher, 10)
    assert type(scaler).__name__ in source
    draws = spec.draw(20_000, random_state=0)
    np.testing.assert_allclose(draws.min(0), X.min(0), atol=0.05 * np.ptp(X, 0).max())
    np.testing.assert_allclose(draws.max(0), X.max(0), atol=0.05 * np.ptp(X, 0).max())
    assert np.all(draws.min(0) >= X.min(0) - 1e-9) and np.all(draws.max(0) <= X.max(0) + 1e-9)


@pytest.mark.parametrize("model", [HistGradientBoostingRegressor(max_iter=50),
                                   RandomForestRegressor(20, random_state=0)])
def test_trees_give_the_range_of_their_thresholds(raw_diabetes, model):
    X, y = raw_diabetes
    teacher = model.fit(X, y)
    spec, source = teacher_spec(teacher, 10)
    assert "N(0, 1) assumed" not in source
    draws = np.delete(spec.draw(20_000, random_state=0), 1, axis=1)
    data = np.delete(X, 1, axis=1)  # all but the binary feature (below)
    span = np.ptp(data, 0)
    lo, hi = np.quantile(data, [0.05, 0.95], axis=0)
    # (within a twentieth of the range: thresholds lie between training values)
    assert np.all(draws.min(0) <= lo + 0.05 * span)
    assert np.all(draws.max(0) >= hi - 0.05 * span)
    assert np.all(draws.min(0) >= data.min(0) - 0.2 * span)
    assert np.all(draws.max(0) <= data.max(0) + 0.2 * span)
    # the binary feature (sex) is split at one value: both sides of it drawn
    sex = spec.draw(1000, random_state=0)[:, 1]
    t = np.unique(X[:, 1]).mean()
    assert (sex < t).mean() > 0.2 and (sex > t).mean() > 0.2
    est = _distil(teacher)
    assert r2_score(teacher.predict(X), est.predict(X)) > 0.6


def test_a_binary_indicator_split_at_one_half_spans_zero_to_one():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 2, 500), rng.normal(size=500)])
    teacher = RandomForestRegressor(10, random_state=0).fit(X, 3 * X[:, 0] + X[:, 1])
    spec, _ = teacher_spec(teacher, 2)
    x = spec.draw(1000, random_state=0)[:, 0]
    assert x.min() == 0.0 and x.max() == 1.0 and (x < 0.5).mean() > 0.2


def test_a_tree_teachers_leaves_are_drawn_on_the_spec_it_gives(raw_diabetes):
    X, y = raw_diabetes
    teacher = RandomForestRegressor(20, random_state=0).fit(X, y)
    est = _distil(teacher)
    assert est.draws_ == "leaves"
    assert r2_score(teacher.predict(X), est.predict(X)) > 0.6


def test_a_model_that_keeps_its_rows_gives_their_data_sheet(raw_diabetes):
    X, y = raw_diabetes
    wrapped = GridSearchCV(TransformedTargetRegressor(KNeighborsRegressor()),
                           {"regressor__n_neighbors": [5]}, cv=2).fit(X, y)
    spec, source = teacher_spec(wrapped, 10)
    assert "442 rows" in source
    draws = spec.draw(20_000, random_state=0)
    tol = 0.02 * np.ptp(X, 0)  # the sheet's quantiles: the data's min and max
    assert np.all(np.abs(draws.min(0) - X.min(0)) <= tol)
    assert np.all(np.abs(draws.max(0) - X.max(0)) <= tol)


def _frame(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "cut": rng.choice(["fair", "good", "ideal", "rare"], n, p=[.4, .4, .18, .02]),
        "carat": rng.gamma(2.0, 0.5, n) + 0.2,
        "depth": rng.normal(60.0, 2.0, n),
    })
    y = 3 * df.carat + 4 * (df.cut == "rare") + df.depth / 10
    return df, y


def _frame_teacher(df, y):
    ct = make_column_transformer((OneHotEncoder(), ["cut"]),
                                 (StandardScaler(), ["carat", "depth"]))
    return make_pipeline(ct, HistGradientBoostingRegressor(max_iter=50)).fit(df, y)


def test_a_column_transformer_gives_levels_and_moments_by_column():
    df, y = _frame()
    teacher = _frame_teacher(df, y)
    est = _distil(teacher)
    assert "OneHotEncoder" in est.input_source_ and "StandardScaler" in est.input_source_
    cut = next(c for c in est.input_spec_.columns if c.name == "cut")
    assert sorted(cut.levels) == ["fair", "good", "ideal", "rare"]
    assert r2_score(teacher.predict(df), est.predict(df)) > 0.9


def test_a_sample_lacking_a_level_the_encoder_knows_keeps_it():
    df, y = _frame()
    teacher = _frame_teacher(df, y)
    sample = df[df.cut != "rare"].iloc[:400]
    est = _distil(teacher, X=sample)
    cut = next(c for c in est.input_spec_.columns if c.name == "cut")
    assert "rare" in cut.levels  # it used to be dropped, and predict to fail on it
    rare = df[df.cut == "rare"]
    assert np.isfinite(est.predict(rare)).all()


def test_a_one_row_sample_is_refused():
    df, y = _frame()
    with pytest.raises(ValueError, match="1 sample"):
        _distil(_frame_teacher(df, y), X=df.iloc[:1])

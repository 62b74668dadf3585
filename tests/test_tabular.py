"""Tabular teachers: DataFrames with integer, categorical, boolean and constant
columns, from the spec to the compact model."""

import json
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from skdistill import (
    Categorical,
    Constant,
    Continuous,
    DataFreeDistillRegressor,
    InputSpec,
    Integer,
)
from skdistill.columns import encode

from .conftest import run_without_torch

pd = pytest.importorskip("pandas")

CITY_EFFECT = {"A": 0.0, "B": 300.0, "C": -200.0}


def houses(n=1500, seed=0):
    """A small frame of the kinds users hold: floats, ints, strings, a pandas
    category, a bool and a constant, and a price of them all."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "size": rng.uniform(20, 200, n),
            "rooms": rng.integers(1, 7, n),
            "city": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]),
            "style": pd.Categorical(rng.choice(["old", "new"], n)),
            "garden": rng.random(n) < 0.4,
            "country": "NL",
        }
    )
    y = (
        10 * df["size"]
        + 50 * df["rooms"]
        + df["city"].map(CITY_EFFECT)
        + 150 * (df["style"] == "new")
        + 80 * df["garden"]
        + rng.normal(0, 20, n)
    )
    return df, y.to_numpy(dtype=float)


def pipeline_teacher(df, y):
    ct = ColumnTransformer(
        [("cat", OneHotEncoder(), ["city", "style", "garden", "country"])],
        remainder="passthrough",
    )
    return make_pipeline(ct, HistGradientBoostingRegressor(random_state=0)).fit(df, y)


FAST = dict(student=(32,), max_teacher_queries=8000, n_validation=500, random_state=0)


@pytest.fixture(scope="module")
def data():
    return houses()


@pytest.fixture(scope="module")
def teacher(data):
    return pipeline_teacher(*data)


@pytest.fixture(scope="module")
def fitted(data, teacher):
    df, _ = data
    return DataFreeDistillRegressor(teacher, **FAST).fit(df)


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


# ------------------------------------------------------------------ the spec
def test_from_data_infers_kinds_by_dtype(data):
    df, _ = data
    kinds = {c.name: c.kind for c in InputSpec.from_data(df).columns}
    assert kinds["size"] == kinds["rooms"] == "empirical"  # numbers: their data sheet
    assert InputSpec.from_data(df).columns[1].integer  # an integer dtype draws integers
    spec = InputSpec.from_data(df, marginals="gaussian")
    kinds = {c.name: c.kind for c in spec.columns}
    assert kinds == {
        "size": "continuous",
        "rooms": "integer",
        "city": "categorical",
        "style": "categorical",
        "garden": "categorical",
        "country": "constant",
    }
    city = spec.columns[2]
    assert city.levels == ["A", "B", "C"]
    np.testing.assert_allclose(
        city.frequencies, df["city"].value_counts(normalize=True).sort_index()
    )
    assert spec.columns[3].dtype == "category"
    assert spec.columns[4].levels == [False, True]
    # one indicator per level, the constant column dropped
    assert spec.n_encoded == 1 + 1 + 3 + 2 + 2
    assert repr(spec) == (
        "InputSpec(6 columns: 1 continuous, 1 integer, 3 categorical, 1 constant, "
        "correlated)"
    )


def test_kinds_override_the_rules(data):
    df, _ = data
    spec = InputSpec.from_data(
        df, kinds={"rooms": "categorical", "size": Continuous("size", low=0, high=300)}
    )
    assert spec.columns[1].kind == "categorical"
    assert spec.columns[1].levels == [1, 2, 3, 4, 5, 6]
    assert spec.columns[0] == Continuous("size", low=0, high=300)
    with pytest.raises(ValueError, match=r"kinds names columns .* \['nope'\]"):
        InputSpec.from_data(df, kinds={"nope": "integer"})
    with pytest.raises(ValueError, match="'city' has dtype .* cannot be integer"):
        InputSpec.from_data(df, kinds={"city": "integer"})
    with pytest.raises(ValueError, match="kinds needs a pandas DataFrame"):
        InputSpec.from_data(df[["size"]].to_numpy(), kinds={"size": "integer"})


def test_draws_have_the_kinds_and_dtypes_of_the_training_frame(data):
    df, _ = data
    spec = InputSpec.from_data(df)
    drawn = spec.draw(4000, random_state=0)
    assert list(drawn.columns) == list(df.columns)
    assert drawn.dtypes.to_dict() == df.dtypes.to_dict()
    assert set(drawn["rooms"]) <= set(range(1, 7))
    assert set(drawn["city"]) == {"A", "B", "C"}
    assert (drawn["country"] == "NL").all()
    assert drawn["size"].between(df["size"].min(), df["size"].max()).all()
    # levels follow the observed frequencies
    np.testing.assert_allclose(
        drawn["city"].value_counts(normalize=True).sort_index(), [0.5, 0.3, 0.2],
        atol=0.03,
    )
    pd.testing.assert_frame_equal(drawn, spec.draw(4000, random_state=0))


def test_draws_keep_the_dependence_of_the_numeric_columns(data):
    df, _ = data
    frame = df.assign(area=df["size"] * 0.9 + np.random.default_rng(1).normal(0, 5, len(df)))
    spec = InputSpec.from_data(frame)
    # every column but the constant one: size, rooms, city, style, garden, area
    assert spec.correlation.shape == (6, 6)
    drawn = spec.draw(5000, random_state=0)
    assert drawn["size"].corr(drawn["area"]) > 0.95
    assert abs(drawn["size"].corr(drawn["rooms"])) < 0.1
    for method in ("sobol", "lhs"):  # space-filling draws keep it too
        from skdistill.inputs import StandardizedSpace

        space = StandardizedSpace(spec)
        raw = space.to_raw(space.draw(1024, torch.Generator().manual_seed(0), method))
        assert np.corrcoef(raw[:, 0], raw[:, -1])[0, 1] > 0.95
    independent = InputSpec.from_data(frame, correlated=False).draw(5000, random_state=0)
    assert abs(independent["size"].corr(independent["area"])) < 0.1
    back = InputSpec.from_json(spec.to_json())
    np.testing.assert_allclose(back.correlation, spec.correlation)
    with pytest.raises(ValueError, match=r"must be 6 x 6, one row per column"):
        InputSpec(columns=spec.columns, correlation=np.eye(2))
    with pytest.raises(ValueError, match="positive definite"):
        InputSpec(columns=spec.columns, correlation=np.ones((3, 3)))
    with pytest.raises(ValueError, match="correlation needs a Gaussian"):
        InputSpec(n_features=3, correlation=np.eye(3))


def test_space_filling_draws_and_projection_keep_rows_valid(data):
    from skdistill.inputs import StandardizedSpace

    df, _ = data
    space = StandardizedSpace(InputSpec.from_data(df))
    z = space.draw(64, torch.Generator().manual_seed(0), "sobol")
    moved = space.project(z + torch.randn_like(z))
    raw = space.to_raw(moved)
    rooms = raw[:, 1]
    assert torch.equal(rooms, torch.round(rooms)) and rooms.min() >= 1
    for start, width in ((2, 3), (5, 2), (7, 2)):  # one level per block
        block = raw[:, start : start + width]
        assert torch.equal(block.sum(dim=1), torch.ones(64))
        assert set(block.unique().tolist()) <= {0.0, 1.0}


def test_a_spec_written_by_hand_round_trips_through_json(tmp_path):
    spec = InputSpec(
        columns=[
            Continuous("size", low=20, high=200),
            Integer("rooms", low=1, high=6),
            Categorical("city", ["A", "B", "C"], frequencies=[2, 1, 1]),
            Categorical("style", ["old", "new"], dtype="category", ordered=True),
            Categorical("garden", [False, True]),
            Constant("country", "NL"),
        ]
    )
    path = tmp_path / "spec.json"
    text = spec.to_json(path)
    assert json.loads(text)["columns"][2]["frequencies"] == [0.5, 0.25, 0.25]
    back = InputSpec.from_json(path)
    assert back.columns == spec.columns
    assert InputSpec.from_json(text).columns == spec.columns
    drawn = back.draw(10, random_state=1)
    assert drawn["style"].cat.ordered and drawn["garden"].dtype == bool
    # numeric specs too
    numeric = InputSpec(mean=[0, 1], std=[1, 2], bounds=[(None, 3), (0, 5)],
                        feature_names=["a", "b"])
    again = InputSpec.from_dict(json.loads(numeric.to_json()))
    np.testing.assert_array_equal(again.bounds, numeric.bounds)
    np.testing.assert_array_equal(again.std, numeric.std)
    assert list(again.feature_names) == ["a", "b"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Continuous("x"), "'x': a continuous column needs a range"),
        (lambda: Continuous("x", low=2, high=1), "'x': low 2.0 is above high 1.0"),
        (lambda: Integer("n", low=0.5, high=3), "'n': low must be an integer"),
        (lambda: Categorical("c", []), "'c': a categorical column needs levels"),
        (lambda: Categorical("c", ["a", "a"]), "'c': level 'a' is given twice"),
        (lambda: Categorical("c", "abc"), "'c': levels must be a sequence"),
        (lambda: Categorical("c", ["a", "b"], frequencies=[1]), "1 frequencies for 2"),
        (lambda: InputSpec(columns=[Integer("a", 0, 1), Integer("a", 0, 2)]),
         r"given twice: \['a'\]"),
        (lambda: InputSpec(columns=[Integer("a", 0, 1)], bounds=[(0, 1)]),
         "give no bounds with them"),
        (lambda: InputSpec(columns=[{"name": "a", "kind": "text"}]),
         "kind must be one of"),
        (lambda: InputSpec.from_json('{"format": "other"}'), "Not an input spec"),
    ],
)
def test_bad_specs_say_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_missing_values_in_the_data_name_the_column(data):
    df, _ = data
    bad = df.copy()
    bad.loc[3, "city"] = None
    with pytest.raises(ValueError, match="Column 'city' has 1 missing values"):
        InputSpec.from_data(bad)


# ----------------------------------------------------------- the teacher side
def test_the_teacher_gets_the_frame_it_was_trained_on(data):
    df, _ = data
    seen = []

    def service(frame):  # a callable that expects a DataFrame
        seen.append(frame)
        return frame["size"].to_numpy() * 10 + frame["rooms"].to_numpy()

    est = DataFreeDistillRegressor(service, sampler="direct", **FAST).fit(df)
    assert sum(len(f) for f in seen) == est.n_teacher_queries_
    for frame in seen:
        assert list(frame.columns) == list(df.columns)
        assert frame.dtypes.to_dict() == df.dtypes.to_dict()
        assert set(frame["rooms"]) <= set(range(1, 7))
        assert set(frame["city"]) <= {"A", "B", "C"}


def test_teacher_columns_are_checked_against_the_spec(data, teacher):
    df, _ = data
    est = DataFreeDistillRegressor(teacher, **FAST)
    with pytest.raises(ValueError, match=r"the spec lacks \['garden'\]"):
        est.fit(df.drop(columns="garden"))
    with pytest.raises(ValueError, match=r"not fitted on \['extra'\]"):
        est.fit(df.assign(extra=np.arange(len(df))))


def test_frames_follow_the_teachers_column_order(data, teacher):
    df, _ = data
    est = DataFreeDistillRegressor(teacher, **FAST).fit(df[df.columns[::-1]])
    assert list(est.feature_names_in_) == list(df.columns[::-1])
    # predict matches columns by name
    np.testing.assert_array_equal(est.predict(df), est.predict(df[df.columns[::-1]]))


# ------------------------------------------------------------- the estimator
def test_a_pipeline_over_a_dataframe_is_distilled(data, teacher, fitted):
    df, y = data
    test_df, _ = houses(1000, seed=1)
    t = teacher.predict(test_df)
    fid = rmse(fitted.predict(test_df), t)
    # far better than the mean, and a few percent of the price spread
    assert fid < 0.1 * np.std(t), fid
    assert fitted.n_teacher_queries_ == 8000
    assert fitted.n_features_in_ == 6
    assert fitted.pool_focus_ == 0.0  # "auto": no focused draws for DataFrame specs
    assert fitted.predict(test_df.iloc[:5]).shape == (5,)
    # rows in column order work too
    np.testing.assert_allclose(
        fitted.predict(test_df.to_numpy(dtype=object)[:50]),
        fitted.predict(test_df.iloc[:50]),
    )


def test_fidelity_metrics_take_dataframes(fitted, teacher, data):
    from skdistill.metrics import fidelity_r2, fidelity_rmse

    df, _ = data
    t = teacher.predict(df)
    expected = rmse(fitted.predict(df), t)
    assert fidelity_rmse(fitted, df) == pytest.approx(expected)
    assert fidelity_rmse(fitted.to_compact(), df, teacher=teacher) == pytest.approx(
        expected, abs=1e-6)
    assert fidelity_r2(fitted, n_draws=500) > 0.9


def test_histgradientboosting_on_category_dtypes(data):
    df, y = data
    frame = df.astype({"city": "category"}).drop(columns=["country"])
    teacher = HistGradientBoostingRegressor(
        categorical_features="from_dtype", random_state=0
    ).fit(frame, y)
    est = DataFreeDistillRegressor(teacher, **FAST).fit(frame)
    test_df = houses(800, seed=2)[0].astype({"city": "category"}).drop(
        columns=["country"]
    )
    t = teacher.predict(test_df)
    assert rmse(est.predict(test_df), t) < 0.1 * np.std(t)


def test_a_spec_without_data_is_enough(teacher, data):
    spec = InputSpec(
        columns=[
            Continuous("size", low=20, high=200),
            Integer("rooms", low=1, high=6),
            Categorical("city", ["A", "B", "C"]),
            Categorical("style", ["new", "old"], dtype="category"),
            Categorical("garden", [False, True]),
            Constant("country", "NL"),
        ]
    )
    est = DataFreeDistillRegressor(teacher, **FAST).fit(input_spec=spec)
    test_df, _ = houses(800, seed=3)
    t = teacher.predict(test_df)
    assert rmse(est.predict(test_df), t) < 0.1 * np.std(t)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.assign(city="Z"), r"'city' of X has values outside its levels: \['Z'\]"),
        (lambda f: f.drop(columns="rooms"), r"missing \['rooms'\]"),
        (lambda f: f.assign(other=1.0), r"unexpected \['other'\]"),
        (lambda f: f.assign(size=np.nan), "'size' of X has 10 missing or infinite"),
        (lambda f: f.assign(city=None), "'city' of X has 10 missing values"),
        (lambda f: f.assign(rooms="two"), "'rooms' of X is integer but holds values"),
        (lambda f: f.to_numpy()[:, :3], "X has 3 columns; the input spec has 6"),
    ],
)
def test_bad_rows_at_predict_name_the_column(fitted, data, change, message):
    df, _ = data
    with pytest.raises(ValueError, match=message):
        fitted.predict(change(df.iloc[:10].copy()))
    with pytest.raises(ValueError, match=message):
        fitted.to_compact().predict(change(df.iloc[:10].copy()))


def test_unknown_levels_can_be_ignored(teacher, data):
    df, _ = data
    spec = InputSpec.from_data(df)
    cols = list(spec.columns)
    city = cols[2]
    cols[2] = Categorical("city", city.levels, frequencies=city.frequencies,
                          handle_unknown="ignore")
    enc = encode(cols, df.iloc[:3].assign(city="Z"))
    assert (enc[:, 2:5] == 0).all()
    est = DataFreeDistillRegressor(teacher, **FAST).fit(input_spec=InputSpec(columns=cols))
    assert np.isfinite(est.predict(df.iloc[:3].assign(city="Z"))).all()


def test_validation_data_takes_a_dataframe(teacher, data):
    df, y = data
    est = DataFreeDistillRegressor(teacher, **FAST).fit(
        df, validation_data=(df.iloc[:300], y[:300])
    )
    assert np.isfinite(est.best_score_)
    with pytest.raises(ValueError, match="validation_data X_val does not have"):
        DataFreeDistillRegressor(teacher, **FAST).fit(
            df, validation_data=df.iloc[:50, :3]
        )


def test_same_random_state_same_student_and_clone_and_grid(data, teacher, fitted):
    df, _ = data
    again = clone(fitted).fit(df)
    np.testing.assert_array_equal(again.predict(df.iloc[:50]), fitted.predict(df.iloc[:50]))
    grid = GridSearchCV(
        DataFreeDistillRegressor(teacher, **{**FAST, "max_teacher_queries": 3000}),
        {"alpha": [0.0, 0.5]}, cv=2,
    ).fit(df, teacher.predict(df))
    assert grid.best_estimator_.predict(df.iloc[:3]).shape == (3,)


def test_direct_sampler_keeps_rows_valid_and_counts_them(data, teacher):
    df, _ = data
    est = DataFreeDistillRegressor(
        teacher, sampler="direct", regime="stream", max_epochs=2, batch_size=64,
        batches_per_epoch=2, de_maxiter=2, n_validation=200, random_state=0,
    ).fit(df)
    assert est.n_teacher_queries_ > 200
    assert np.isfinite(est.predict(df.iloc[:20])).all()


def test_differentiable_teachers_read_encoded_rows(data):
    """A torch teacher on a tabular spec receives the encoded rows (numbers in
    raw units, one indicator per level) and gradient steps relax the indicators."""
    df, _ = data
    spec = InputSpec.from_data(df)
    width = spec.n_encoded
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(width, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 1)).double()
    seen = []

    class Recording(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return module(x.double()).to(x.dtype)

    est = DataFreeDistillRegressor(
        Recording(), sampler="direct", student=(16,), max_epochs=3,
        batches_per_epoch=2, batch_size=64, n_validation=200, random_state=0,
    ).fit(input_spec=spec)
    rows = torch.cat([s.reshape(-1, width) for s in seen])
    assert torch.equal(rows[:, 2:5].sum(dim=1), torch.ones(len(rows)))
    assert torch.equal(rows[:, 1], torch.round(rows[:, 1]))
    assert est.predict(df.iloc[:5]).shape == (5,)


def test_generator_sampler_refuses_discrete_columns(data):
    df, _ = data
    module = torch.nn.Linear(9, 1)
    with pytest.raises(ValueError, match=r"integer, discrete or categorical columns \['rooms'"):
        DataFreeDistillRegressor(module, sampler="generator", max_epochs=1).fit(df)


def test_a_frame_of_floats_reaches_a_teacher_fitted_on_names(data):
    df, y = data
    floats = df[["size"]].assign(area=df["size"] * 1.5)
    teacher = make_pipeline(
        ColumnTransformer([("s", StandardScaler(), ["size", "area"])]), Ridge()
    ).fit(floats, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        est = DataFreeDistillRegressor(teacher, **FAST).fit(floats)
        est.predict(floats)
    assert "FrameTeacher" in repr(est.teacher_)


def test_ordinal_encoder_pipelines_work(data):
    df, y = data
    ct = ColumnTransformer(
        [("cat", OrdinalEncoder(), ["city", "style", "garden", "country"])],
        remainder="passthrough",
    )
    teacher = make_pipeline(ct, HistGradientBoostingRegressor(random_state=0)).fit(df, y)
    est = DataFreeDistillRegressor(teacher, **FAST).fit(df)
    t = teacher.predict(df)
    assert rmse(est.predict(df), t) < 0.1 * np.std(t)


# ---------------------------------------------------------------- the compact
def test_compact_model_encodes_dataframes_and_loads_without_torch(fitted, data, tmp_path):
    df, _ = data
    compact = fitted.to_compact()
    assert repr(compact) == "CompactRegressor(6 columns (9 encoded) -> 32 tanh -> 1, numpy)"
    np.testing.assert_allclose(compact.predict(df), fitted.predict(df), atol=1e-6)
    np.testing.assert_array_equal(compact.predict(df[df.columns[::-1]]), compact.predict(df))
    assert compact.encode(df.iloc[:4]).shape == (4, 9)
    path = tmp_path / "compact.joblib"
    joblib.dump(compact, path)
    df.iloc[:40].to_pickle(tmp_path / "X.pkl")
    run_without_torch(
        f"""
        import joblib, numpy as np, pandas as pd
        model = joblib.load({str(path)!r})
        X = pd.read_pickle({str(tmp_path / "X.pkl")!r})
        np.save({str(tmp_path / "y.npy")!r}, model.predict(X))
        """
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), compact.predict(df.iloc[:40]))


def test_torch_export_takes_encoded_rows(fitted, data):
    df, _ = data
    compact = fitted.to_compact()
    module = compact.to_torch("float64")
    enc = torch.as_tensor(compact.encode(df.iloc[:20]))
    np.testing.assert_allclose(module(enc).numpy(), compact.predict(df.iloc[:20]),
                               atol=1e-9)


def test_arrays_can_keep_their_dependence_too():
    rng = np.random.default_rng(0)
    a = rng.normal(size=2000)
    X = np.column_stack([a, 2 * a + rng.normal(0, 0.1, 2000), rng.normal(size=2000)])
    spec = InputSpec.from_data(X, correlated=True, marginals="gaussian")
    assert repr(spec) == "InputSpec(n_features=3, gaussian clipped, correlated)"
    drawn = spec.draw(4000, random_state=0)
    assert np.corrcoef(drawn[:, 0], drawn[:, 1])[0, 1] > 0.95
    assert abs(np.corrcoef(drawn[:, 0], drawn[:, 2])[0, 1]) < 0.1
    # Gaussian marginals of arrays: independent by default, as in the paper
    assert InputSpec.from_data(X, marginals="gaussian").correlation is None
    assert InputSpec.from_data(X).correlation is not None  # the data sheet: a copula
    back = InputSpec.from_json(spec.to_json())
    np.testing.assert_allclose(back.correlation, spec.correlation)
    with pytest.raises(ValueError, match="correlation needs a Gaussian"):
        InputSpec(bounds=[(0, 1)] * 3, correlation=np.eye(3))
    est = DataFreeDistillRegressor(lambda X: X[:, 0] * X[:, 1],
                                   **{**FAST, "student": (8,)}).fit(input_spec=spec)
    assert np.isfinite(est.predict(X[:5])).all()

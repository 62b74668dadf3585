"""The data sheet of arrays (empirical marginals, point masses, a Gaussian
copula) and fit(X) with the user's rows labelled and augmented."""

import json
import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.columns import Empirical

from .generators import realistic_rows


@pytest.fixture(scope="module")
def data():
    X, y = realistic_rows(3000, seed=0)
    return X[:2000], y[:2000], X[2000:]


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


# ----------------------------------------------------------------- the sheet
def test_from_data_chooses_a_marginal_per_column_and_says_so(data):
    X, _, _ = data
    spec = InputSpec.from_data(X)
    assert repr(spec) == "InputSpec(n_features=6, 6 empirical, correlated)"
    dose, signal, counts, modes, skew, dep = spec.columns
    assert dose.masses == [(0.0, pytest.approx(0.6, abs=0.03))]
    assert [v for v, _ in signal.masses] == [-100.0]
    assert counts.quantiles is None and counts.integer
    assert [v for v, _ in counts.masses] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert modes.masses is None and len(modes.quantiles) == 101
    lines = spec.describe().splitlines()
    assert len(lines) == 6 and "1 point mass (6" in lines[0]
    assert "5 point masses (100%), integer" in lines[2]
    coarse = InputSpec.from_data(X, n_quantiles=11, mass_threshold=0.5)
    assert len(coarse.columns[3].quantiles) == 11
    assert coarse.columns[0].masses[0][0] == 0.0 and coarse.columns[2].masses is None


def test_draws_keep_marginals_point_masses_and_dependence(data):
    X, _, _ = data
    D = InputSpec.from_data(X).draw(20000, random_state=0)
    for j in (0, 1):  # the point masses, with their share
        value = X[:, j].min()
        assert abs((D[:, j] == value).mean() - (X[:, j] == value).mean()) < 0.02
    assert set(np.unique(D[:, 2])) == {0.0, 1.0, 2.0, 3.0, 4.0}  # counts stay counts
    assert (np.abs(D[:, 3]) > 1).mean() > 0.95  # two modes, nothing in between
    for j in range(6):  # every marginal: quantiles within a few hundredths
        q = [0.1, 0.5, 0.9]
        spread = np.subtract(*np.quantile(X[:, j], [0.95, 0.05])) or 1.0
        np.testing.assert_allclose(np.quantile(D[:, j], q), np.quantile(X[:, j], q),
                                   atol=0.05 * spread)
    rho_data = spearmanr(X[:, 4], X[:, 5]).statistic
    assert spearmanr(D[:, 4], D[:, 5]).statistic == pytest.approx(rho_data, abs=0.05)
    independent = InputSpec.from_data(X, correlated=False).draw(5000, random_state=0)
    assert abs(spearmanr(independent[:, 4], independent[:, 5]).statistic) < 0.1


def test_the_sheet_round_trips_through_json_and_holds_no_row(data, tmp_path):
    X, _, _ = data
    spec = InputSpec.from_data(X)
    text = spec.to_json(tmp_path / "sheet.json")
    back = InputSpec.from_json(tmp_path / "sheet.json")
    np.testing.assert_array_equal(back.draw(500, random_state=3),
                                  spec.draw(500, random_state=3))
    # no row of the data is in it: every row has values the sheet never names
    values = set()

    def collect(node):
        if isinstance(node, (list, tuple)):
            for v in node:
                collect(v)
        elif isinstance(node, dict):
            for v in node.values():
                collect(v)
        elif isinstance(node, float):
            values.add(node)

    collect(json.loads(text))
    assert not any(all(float(v) in values for v in row) for row in X)
    assert len(text) < 40_000  # its size is the columns', not the rows'


def test_version_1_sheets_still_read():
    v1 = {"format": "skdistill.InputSpec", "version": 1, "n_features": 2,
          "mean": [0.0, 1.0], "std": [1.0, 2.0]}
    spec = InputSpec.from_dict(v1)
    assert repr(spec) == "InputSpec(n_features=2, gaussian)"
    with pytest.raises(ValueError, match="reads versions 1 and 2"):
        InputSpec.from_dict({**v1, "version": 9})


def test_empirical_columns_check_their_arguments():
    with pytest.raises(ValueError, match="non-decreasing"):
        Empirical("a", quantiles=[2.0, 1.0])
    with pytest.raises(ValueError, match="sum to 1.2"):
        Empirical("a", quantiles=[0.0, 1.0], masses=[(5.0, 0.6), (6.0, 0.6)])
    with pytest.raises(ValueError, match="needs quantiles, point masses or both"):
        Empirical("a")
    with pytest.raises(ValueError, match="interpolation must be"):
        Empirical("a", quantiles=[0.0, 1.0], interpolation="cubic")
    with pytest.raises(ValueError, match="marginals='empirical' cannot be used"):
        InputSpec.from_data(np.eye(3), simplex=True, marginals="empirical")


def test_pchip_interpolation_is_monotone_and_keeps_the_quantiles():
    rng = np.random.default_rng(0)
    v = rng.lognormal(size=3000)
    linear = Empirical.from_values("a", v, n_quantiles=11)
    smooth = Empirical.from_values("a", v, n_quantiles=11, interpolation="pchip")
    u = np.linspace(0.001, 0.999, 2000)
    x = smooth.from_uniform(u)[:, 0]
    assert (np.diff(x) >= 0).all()
    levels = np.linspace(0, 1, 11)[1:-1]
    np.testing.assert_allclose(smooth.from_uniform(levels)[:, 0],
                               linear.from_uniform(levels)[:, 0], rtol=1e-9)


# ---------------------------------------------------------- fit with the rows
def recording_service(X, y):
    """A black box over a gradient-boosting teacher that keeps every row sent."""
    teacher = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(X, y)
    sent = []

    def service(rows):
        sent.append(np.asarray(rows))
        return teacher.predict(rows)

    return service, sent


def oracle_fidelity(teacher, X, X_test, seed=0):
    """The five lines a user with rows can always write: label the rows, fit an
    MLPRegressor on them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make_pipeline(StandardScaler(), MLPRegressor(
            hidden_layer_sizes=(50,), activation="tanh", early_stopping=True,
            max_iter=200, random_state=seed))
        model.fit(X, teacher.predict(X))
    return rmse(model.predict(X_test), teacher.predict(X_test))


@pytest.mark.parametrize("make", [
    lambda: HistGradientBoostingRegressor(max_iter=100, random_state=0),
    lambda: make_pipeline(StandardScaler(), KNeighborsRegressor()),
], ids=["hgb", "knn"])
def test_fit_with_rows_beats_labelling_them_and_the_mean(data, make):
    X, y, X_test = data
    teacher = make().fit(X, y)
    t_test = teacher.predict(X_test)
    est = DataFreeDistillRegressor(teacher, student=(50,), max_teacher_queries=8000,
                                   random_state=0).fit(X)
    ours = rmse(est.predict(X_test), t_test)
    assert est.draws_ == "mix" and est.n_teacher_queries_ == 8000
    assert ours < oracle_fidelity(teacher, X, X_test)
    assert ours < 0.35 * np.std(t_test)  # far from the mean predictor


def test_label_rows_false_sends_no_row_of_x(data):
    X, y, X_test = data
    service, sent = recording_service(X, y)

    est = DataFreeDistillRegressor(service, student=(20,), max_teacher_queries=3000,
                                   label_rows=False, random_state=0).fit(X)
    asked = np.concatenate(sent)
    known = {tuple(r) for r in X}
    assert not any(tuple(r) in known for r in asked)
    assert est.draws_ == "random" and est.n_teacher_queries_ <= 3000
    with pytest.raises(ValueError, match="draws='munge' draws around the rows"):
        DataFreeDistillRegressor(service, draws="munge", label_rows=False).fit(X)


def test_rows_are_labelled_first_and_the_budget_spent_exactly(data):
    X, y, _ = data
    service, sent = recording_service(X, y)

    est = DataFreeDistillRegressor(service, student=(20,), max_teacher_queries=5000,
                                   n_validation=300, random_state=0).fit(X)
    asked = np.concatenate(sent)
    assert len(asked) == est.n_teacher_queries_ == 5000
    # every row of X is labelled once, first, as it was given
    np.testing.assert_array_equal(np.sort(asked[:2000], axis=0), np.sort(X, axis=0))
    assert est.draws_ == "mix"
    again = DataFreeDistillRegressor(service, student=(20,), max_teacher_queries=5000,
                                     n_validation=300, random_state=0).fit(X)
    np.testing.assert_array_equal(again.predict(X[:50]), est.predict(X[:50]))
    # more rows than half the budget: a random half-budget subset of them, the
    # selection draws and draws around them and from their sheet
    sent.clear()
    small = DataFreeDistillRegressor(service, student=(20,), max_teacher_queries=1200,
                                     n_validation=200, random_state=0).fit(X)
    assert small.n_teacher_queries_ == 1200
    known = {tuple(r) for r in X}
    asked = np.concatenate(sent)
    assert sum(tuple(r) in known for r in asked) == 600
    assert len({tuple(r) for r in asked[:600]} & known) == 600  # labelled first
    with pytest.raises(ValueError, match="too small to label the n_validation=200"):
        DataFreeDistillRegressor(service, max_teacher_queries=150,
                                 n_validation=200).fit(X)


def test_point_masses_come_back_exactly_in_raw_units():
    # a "not detected" code in 65% of the rows beside a continuous part: the
    # standardized round trip used to return -0.9999999999999999 in some columns
    from skdistill.bench._sheet import sample

    X = sample(3000, 20)
    spec = InputSpec.from_data(X)
    D = spec.draw(20_000, random_state=0)
    share_data = (X[:, :10] == -1.0).mean(0)
    share_draw = (D[:, :10] == -1.0).mean(0)
    np.testing.assert_allclose(share_draw, share_data, atol=0.02)

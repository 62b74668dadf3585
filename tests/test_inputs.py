import numpy as np
import pytest
import torch

from skdistill import InputSpec
from skdistill.inputs import StandardizedSpace


def test_bounds_draws_are_uniform_in_the_box():
    spec = InputSpec(bounds=[(0, 1), (1000, 5000)])
    X = spec.draw(4000, random_state=0)
    assert X.shape == (4000, 2)
    assert (X[:, 0] >= 0).all() and (X[:, 0] <= 1).all()
    assert (X[:, 1] >= 1000).all() and (X[:, 1] <= 5000).all()
    np.testing.assert_allclose(X.mean(axis=0), [0.5, 3000], rtol=0.03)


def test_gaussian_clipped_to_bounds():
    spec = InputSpec(mean=[0.0, 150.0], std=[1.0, 30.0], bounds=[(-0.5, 0.5), (0, 1e9)])
    X = spec.draw(2000, random_state=1)
    assert X[:, 0].min() >= -0.5 and X[:, 0].max() <= 0.5
    assert abs(X[:, 1].mean() - 150) < 3 and abs(X[:, 1].std() - 30) < 3


def test_from_data_uses_moments_and_range():
    rng = np.random.default_rng(0)
    X = rng.normal([10, -3], [2, 0.5], size=(500, 2))
    spec = InputSpec.from_data(X, marginals="gaussian")
    np.testing.assert_allclose(spec.mean, X.mean(axis=0))
    np.testing.assert_allclose(spec.std, X.std(axis=0))
    np.testing.assert_allclose(spec.bounds, np.column_stack([X.min(0), X.max(0)]))
    D = spec.draw(1000, random_state=0)
    assert (D >= X.min(0)).all() and (D <= X.max(0)).all()


def test_constant_feature_stays_constant():
    X = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    D = InputSpec.from_data(X).draw(50, random_state=0)
    assert (D[:, 1] == 7.0).all()


def test_standard_normal_when_only_n_features():
    spec = InputSpec(n_features=3)
    X = spec.draw(5000, random_state=0)
    assert abs(X.mean()) < 0.05 and abs(X.std() - 1) < 0.05


def test_same_random_state_same_draws():
    spec = InputSpec(bounds=[(0, 1)] * 3)
    np.testing.assert_array_equal(spec.draw(10, 3), spec.draw(10, 3))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bounds": [(0, 1), (2, 1)]}, "feature 1 are reversed: lower 2.0 > upper 1.0"),
        ({"bounds": [(0, float("nan"))]}, "feature 0 contain NaN"),
        ({"bounds": [(0, 1, 2)]}, "sequence of \\(low, high\\) pairs"),
        ({"bounds": [[0, 1], [0]]}, "sequence of \\(low, high\\) pairs"),
        ({"bounds": [(0, None)]}, "infinite bound"),
        ({"mean": [0, 0]}, "both `mean` and `std`"),
        ({"mean": [0, 0], "std": [1, 1, 1]}, "disagree on the number of features"),
        ({"mean": [0], "std": [-1]}, "std of feature 0 is negative"),
        ({}, "at least one of"),
    ],
)
def test_bad_specs_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InputSpec(**kwargs)


def test_feature_names_in_messages():
    with pytest.raises(ValueError, match="'load'"):
        InputSpec(bounds=[(0, 1), (5, 4)], feature_names=["cpu", "load"])


def test_standardized_space_round_trip_and_projection():
    spec = InputSpec(bounds=[(100, 200), (-1, 1)])
    space = StandardizedSpace(spec)
    z = space.draw(100, torch.Generator().manual_seed(0))
    x = space.to_raw(z)
    assert (x[:, 0] >= 100).all() and (x[:, 0] <= 200).all()
    torch.testing.assert_close(space.from_raw(x), z)
    far = torch.full((1, 2), 50.0)
    assert (space.to_raw(space.project(far)) <= torch.tensor([200.0, 1.0]) + 1e-4).all()


@pytest.mark.parametrize("method", ["sobol", "lhs"])
@pytest.mark.parametrize(
    "spec",
    [
        InputSpec(bounds=[(0, 1), (-5, 5)]),
        InputSpec(n_features=2),
        InputSpec(mean=[1.0, -1.0], std=[2.0, 0.5]),
        InputSpec(bounds=[(0, 1)] * 3, simplex=True),
    ],
    ids=["box", "normal", "gaussian", "simplex"],
)
def test_space_filling_draws_follow_the_spec(method, spec):
    from skdistill.inputs import StandardizedSpace

    space = StandardizedSpace(spec, dtype=torch.float64)
    z = space.draw(4096, torch.Generator().manual_seed(0), method)
    again = space.draw(4096, torch.Generator().manual_seed(0), method)
    torch.testing.assert_close(z, again)  # seeded from the generator
    plain = space.draw(4096, torch.Generator().manual_seed(0))
    x, x_plain = space.to_raw(z).numpy(), space.to_raw(plain).numpy()
    np.testing.assert_allclose(x.mean(0), x_plain.mean(0), atol=0.1 * x_plain.std(0).max())
    np.testing.assert_allclose(x.std(0), x_plain.std(0), rtol=0.1)
    assert (x >= spec.low - 1e-9).all() and (x <= spec.high + 1e-9).all()
    if spec.simplex:
        np.testing.assert_allclose(x.sum(1), 1.0)


def test_estimator_draws_option():
    from skdistill import DataFreeDistillRegressor

    kw = dict(sampler="random", student=(8,), max_epochs=3, n_validation=50,
              random_state=0)
    a = DataFreeDistillRegressor(lambda X: X.sum(1), draws="sobol", **kw)
    b = DataFreeDistillRegressor(lambda X: X.sum(1), **kw)
    X = np.random.default_rng(0).uniform(size=(10, 2))
    assert not np.array_equal(a.fit(bounds=[(0, 1)] * 2).predict(X),
                              b.fit(bounds=[(0, 1)] * 2).predict(X))
    with pytest.raises(ValueError, match="'draws' parameter"):
        DataFreeDistillRegressor(lambda X: X.sum(1), draws="halton").fit(
            bounds=[(0, 1)] * 2)

"""``draws="leaves"``: the boxes of tree teachers, draws that follow their training
shares, and what a user notices (closer to the teacher where its data lay)."""

import numpy as np
import pytest
import torch
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.neighbors import KNeighborsRegressor
from sklearn.tree import DecisionTreeRegressor

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.inputs import StandardizedSpace
from skdistill.teachers import SklearnTeacher, teacher_leaves


def _data(n=2000, d=3, seed=0):
    """Training rows far from N(0, I)'s centre: a cluster around 2 of sd 0.3."""
    rng = np.random.default_rng(seed)
    X = 2.0 + 0.3 * rng.standard_normal((n, d))
    y = np.sin(3 * X[:, 0]) + X[:, 1] * X[:, 2]
    return X, y


def _draw_leaves(teacher, spec, n, seed=0):
    space = StandardizedSpace(spec)
    space.set_leaves(teacher_leaves(teacher, spec.n_features))
    z = space.draw(n, torch.Generator().manual_seed(seed), "leaves")
    return space.to_raw(z).double().numpy()


def test_a_tree_s_boxes_hold_its_training_rows_and_shares_sum_to_one():
    X, y = _data()
    tree = DecisionTreeRegressor(max_leaf_nodes=20, random_state=0).fit(X, y)
    cells = teacher_leaves(tree, 3)
    assert len(cells) == tree.get_n_leaves()
    assert cells.weight.sum() == pytest.approx(1.0)
    # every training row lies in the box of the leaf it reaches, and in no other
    inside = np.all((X[:, None, :] > cells.lo) & (X[:, None, :] <= cells.hi), axis=2)
    assert np.all(inside.sum(axis=1) == 1)
    counts = inside.sum(axis=0) / len(X)
    np.testing.assert_allclose(np.sort(counts), np.sort(cells.weight))


@pytest.mark.parametrize("make", [
    lambda: DecisionTreeRegressor(max_leaf_nodes=8, random_state=0),
    lambda: HistGradientBoostingRegressor(max_iter=1, max_leaf_nodes=8),
])
def test_draws_fall_in_the_leaves_as_often_as_the_training_rows(make):
    X, y = _data()
    teacher = make().fit(X, y)
    # each leaf of a one-tree model predicts its own value: count draws per value
    draws = _draw_leaves(teacher, InputSpec(mean=np.zeros(3), std=np.ones(3)), 40_000)
    values, train_share = np.unique(teacher.predict(X), return_counts=True)
    pred = teacher.predict(draws)
    draw_share = np.array([np.mean(np.isclose(pred, v)) for v in values])
    np.testing.assert_allclose(draw_share, train_share / len(X), atol=0.01)


def test_bounded_specs_draw_inside_both_the_leaf_and_the_bounds():
    X, y = _data()
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    draws = _draw_leaves(tree, InputSpec(bounds=[(0.0, 2.2)] * 3), 5000)
    assert draws.min() >= 0.0 and draws.max() <= 2.2 + 1e-6


@pytest.mark.parametrize("make", [
    lambda: RandomForestRegressor(10, max_depth=6, random_state=0),
    lambda: ExtraTreesRegressor(10, max_depth=6, random_state=0),
    lambda: GradientBoostingRegressor(n_estimators=10, random_state=0),
    lambda: HistGradientBoostingRegressor(max_iter=10),
])
def test_ensembles_weigh_their_trees_alike(make):
    X, y = _data()
    teacher = make().fit(X, y)
    cells = teacher_leaves(teacher, 3)
    assert cells.weight.sum() == pytest.approx(1.0)
    assert np.all(cells.lo < cells.hi)


def _fidelity_on_data(draws, seed):
    X, y = _data()
    teacher = RandomForestRegressor(30, max_depth=8, random_state=0).fit(X, y)
    est = DataFreeDistillRegressor(
        teacher, student=(20,), max_teacher_queries=4000, n_validation=500,
        draws=draws, pool_focus=0.0, random_state=seed,  # the spec's draws alone
    ).fit(input_spec=InputSpec(n_features=3))  # N(0, I): the data sit at its edge
    X_new, _ = _data(500, seed=1)
    return np.sqrt(np.mean((est.predict(X_new) - teacher.predict(X_new)) ** 2)), est


def test_leaves_bring_the_student_closer_to_a_forest_where_its_data_lay():
    random, _ = _fidelity_on_data("random", 0)
    leaves, est = _fidelity_on_data("leaves", 0)
    assert est.n_teacher_queries_ == 4000
    assert leaves < 0.7 * random  # measured: 0.123 against 0.263


def test_leaves_are_reproducible_with_random_state():
    X, y = _data()
    teacher = HistGradientBoostingRegressor(max_iter=20).fit(X, y)
    preds = [
        DataFreeDistillRegressor(teacher, student=(10,), max_teacher_queries=2000,
                                 n_validation=200, draws="leaves", random_state=3)
        .fit(bounds=None).predict(X[:50])
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*preds)


def test_a_wrapped_sklearn_teacher_is_read_too():
    X, y = _data()
    tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    est = DataFreeDistillRegressor(SklearnTeacher(tree), student=(5,),
                                   max_teacher_queries=1500, n_validation=200,
                                   draws="leaves", random_state=0).fit(bounds=None)
    assert est.n_teacher_queries_ == 1500


def test_teachers_without_leaves_are_refused_with_the_list():
    X, y = _data(200)
    knn = KNeighborsRegressor().fit(X, y)
    with pytest.raises(TypeError, match="KNeighborsRegressor.*draws='random'"):
        DataFreeDistillRegressor(knn, draws="leaves").fit(bounds=None)
    with pytest.raises(TypeError, match="function"):
        DataFreeDistillRegressor(lambda X: X[:, 0], draws="leaves").fit(
            bounds=[(0, 1)] * 3)


def test_specs_the_leaves_cannot_restrict_are_refused():
    X, y = _data(300)
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="correlated"):
        DataFreeDistillRegressor(tree, draws="leaves").fit(
            input_spec=InputSpec(mean=np.zeros(3), std=np.ones(3),
                                 correlation=[[1, .5, 0], [.5, 1, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="simplex"):
        DataFreeDistillRegressor(tree, draws="leaves").fit(
            input_spec=InputSpec(bounds=[(0, 1)] * 3, simplex=True))


def test_tabular_specs_are_refused():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.integers(0, 5, 200)})
    tree = DecisionTreeRegressor(max_depth=3).fit(df.to_numpy(), df["a"] * df["b"])
    with pytest.raises(ValueError, match="column kinds"):
        DataFreeDistillRegressor(tree, draws="leaves").fit(df)


def test_auto_reads_the_leaves_of_trees_and_draws_at_random_elsewhere():
    X, y = _data(300)
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    knn = KNeighborsRegressor().fit(X, y)
    kw = dict(student=(5,), max_teacher_queries=1500, n_validation=200, random_state=0)
    assert DataFreeDistillRegressor(tree, **kw).fit(bounds=None).draws_ == "leaves"
    assert DataFreeDistillRegressor(knn, **kw).fit(bounds=None).draws_ == "random"
    # a spec the leaves cannot restrict: plain draws, no error
    corr = InputSpec(mean=np.zeros(3), std=np.ones(3),
                     correlation=[[1, .5, 0], [.5, 1, 0], [0, 0, 1]])
    assert DataFreeDistillRegressor(tree, **kw).fit(input_spec=corr).draws_ == "random"
    assert DataFreeDistillRegressor(tree, draws="sobol", **kw).fit(
        bounds=None).draws_ == "sobol"


def test_large_ensembles_keep_a_sample_of_each_tree_s_leaves(monkeypatch):
    from skdistill.teachers import _leaves

    X, y = _data()
    forest = RandomForestRegressor(4, min_samples_leaf=5, random_state=0).fit(X, y)
    full = teacher_leaves(forest, 3)
    monkeypatch.setattr(_leaves, "MAX_LEAF_ENTRIES", 3 * 40)  # 40 leaves in all
    cells = teacher_leaves(forest, 3)
    assert len(cells) == 40 < len(full)
    assert cells.weight.sum() == pytest.approx(1.0)
    # every kept box is one of the forest's
    pairs = {tuple(np.r_[lo, hi]) for lo, hi in zip(full.lo, full.hi)}
    assert all(tuple(np.r_[lo, hi]) in pairs for lo, hi in zip(cells.lo, cells.hi))

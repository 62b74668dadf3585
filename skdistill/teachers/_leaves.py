"""The cells of a tree teacher: a grey box for ``draws="leaves"``.

A fitted scikit-learn tree (and every tree of a forest or a boosting ensemble)
splits the input space into boxes, its leaves, and remembers how many of its
training rows fell into each. Those shares say where the training data lay
without the data: the draws of ``draws="leaves"`` pick a leaf by its share and
then draw from the input spec restricted to the leaf's box (see
:meth:`skdistill.inputs.StandardizedSpace.set_leaves`). The teacher's answers are
then asked where its function was fitted, rather than where the spec alone puts
its mass (for an N(0, I) spec on skewed data, mostly where the teacher was never
trained and is flat).

Only scikit-learn's own trees are read: ``DecisionTreeRegressor``,
``ExtraTreeRegressor``, ``RandomForestRegressor``, ``ExtraTreesRegressor``,
``GradientBoostingRegressor`` and ``HistGradientBoostingRegressor`` (numeric
splits; categorical splits are refused).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LeafCells", "teacher_leaves", "leaf_cells_or_none", "MAX_LEAF_ENTRIES"]

# lo/hi entries (leaves x features) kept at most: 2 x 25M float32 numbers, 200 MB;
# larger ensembles keep a weighted sample of their leaves
MAX_LEAF_ENTRIES = 25_000_000


@dataclass
class LeafCells:
    """Boxes ``[lo, hi)`` in the teacher's input units (``-inf``/``inf`` where a
    leaf's path does not bound a feature), one row per leaf, and each leaf's share
    of its tree's training rows divided by the number of trees (the weights sum
    to one)."""

    lo: np.ndarray
    hi: np.ndarray
    weight: np.ndarray

    def __len__(self):
        return len(self.weight)


def _sklearn_trees(teacher):
    """(left, right, feature, threshold, is_leaf, count) arrays of every tree, or
    None when ``teacher`` is not a fitted scikit-learn tree model."""
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )
    from sklearn.tree import BaseDecisionTree

    if isinstance(teacher, HistGradientBoostingRegressor):
        if getattr(teacher, "is_categorical_", None) is not None and np.any(
            teacher.is_categorical_
        ):
            raise ValueError(
                "draws='leaves' reads numeric splits only; this "
                "HistGradientBoostingRegressor has categorical features. Use "
                "draws='random'."
            )
        trees = []
        for predictors in teacher._predictors:  # one list per iteration
            for predictor in predictors:
                nodes = predictor.nodes
                trees.append((nodes["left"], nodes["right"], nodes["feature_idx"],
                              nodes["num_threshold"], nodes["is_leaf"].astype(bool),
                              nodes["count"]))
        return trees
    if isinstance(teacher, BaseDecisionTree):
        estimators = [teacher]
    elif isinstance(teacher, (RandomForestRegressor, ExtraTreesRegressor,
                              GradientBoostingRegressor)):
        estimators = np.ravel(teacher.estimators_)
    else:
        return None
    trees = []
    for est in estimators:
        t = est.tree_
        # scikit-learn sends x <= threshold left
        trees.append((t.children_left, t.children_right, t.feature, t.threshold,
                      t.children_left < 0, t.n_node_samples))
    return trees


def _tree_leaves(left, right, feature, threshold, is_leaf, count, d):
    """Boxes and training counts of one tree's leaves, one depth level at a time
    (vectorized: a forest of deep trees has hundreds of thousands of nodes)."""
    n = len(left)
    lo, hi = np.full((n, d), -np.inf), np.full((n, d), np.inf)
    frontier = np.zeros(1, dtype=np.intp)
    while frontier.size:
        inner = frontier[~is_leaf[frontier]]
        if not inner.size:
            break
        f, v = feature[inner].astype(np.intp), threshold[inner].astype(np.float64)
        left_i, right_i = left[inner].astype(np.intp), right[inner].astype(np.intp)
        for child in (left_i, right_i):
            lo[child], hi[child] = lo[inner], hi[inner]
        # scikit-learn sends x <= threshold left
        hi[left_i, f] = np.minimum(hi[inner, f], v)
        lo[right_i, f] = np.maximum(lo[inner, f], v)
        frontier = np.concatenate([left_i, right_i])
    leaves = np.flatnonzero(is_leaf)
    return lo[leaves], hi[leaves], np.asarray(count, dtype=float)[leaves]


def leaf_cells_or_none(teacher, n_features):
    """:func:`teacher_leaves`, or None for a teacher whose leaves cannot be read
    (not a scikit-learn tree model, or one with categorical splits)."""
    try:
        trees = _sklearn_trees(teacher)
    except ValueError:  # categorical splits
        return None
    return None if trees is None else _leaf_cells(trees, n_features)


def teacher_leaves(teacher, n_features, random_state=0):
    """The :class:`LeafCells` of a fitted scikit-learn tree teacher.

    Raises ``TypeError`` for other teachers, with the list of those supported.
    Ensembles with more than ``MAX_LEAF_ENTRIES`` leaves x features keep, in every
    tree, a sample of its leaves drawn with replacement by count (``random_state``,
    fixed by default so that every fit on a teacher sees the same boxes), each kept
    leaf then weighing alike: the same mixture, on fewer boxes.
    """
    trees = _sklearn_trees(teacher)
    if trees is None:
        raise TypeError(
            "draws='leaves' reads the leaves of a fitted scikit-learn tree model "
            "(DecisionTreeRegressor, ExtraTreeRegressor, RandomForestRegressor, "
            "ExtraTreesRegressor, GradientBoostingRegressor, "
            f"HistGradientBoostingRegressor); got {type(teacher).__name__}. Use "
            "draws='random', 'sobol' or 'lhs'."
        )
    return _leaf_cells(trees, n_features, random_state)


def _leaf_cells(trees, n_features, random_state=0):
    """The :class:`LeafCells` of the ``trees`` of :func:`_sklearn_trees`."""
    # leaves kept per tree: all, or for ensembles beyond the cap a sample drawn
    # with replacement by count (each kept leaf weighing alike within its tree)
    n_leaves = sum(int(np.count_nonzero(tree[4])) for tree in trees)
    cap = max(len(trees), MAX_LEAF_ENTRIES // max(1, n_features))
    per_tree = None if n_leaves <= cap else cap // len(trees)
    rng = np.random.default_rng(random_state)
    los, his, weights = [], [], []
    for tree in trees:
        lo, hi, counts = _tree_leaves(*tree, d=n_features)
        share = counts / counts.sum()
        if per_tree is not None and len(share) > per_tree:
            keep = rng.choice(len(share), per_tree, replace=True, p=share)
            lo, hi, share = lo[keep], hi[keep], np.full(per_tree, 1.0 / per_tree)
        los.append(lo)
        his.append(hi)
        weights.append(share / len(trees))
    weight = np.concatenate(weights)
    lo, hi = np.concatenate(los), np.concatenate(his)
    return LeafCells(lo, hi, weight / weight.sum())

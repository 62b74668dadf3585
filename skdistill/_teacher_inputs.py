"""What a fitted scikit-learn teacher keeps of its inputs: the input spec of a
``fit()`` given none.

A fitted model often remembers how its training inputs were spread: a
Pipeline's first scaler keeps their moments (``StandardScaler``: ``mean_``,
``scale_``; ``RobustScaler``: ``center_``, ``scale_``), ranges (``MinMaxScaler``:
``data_min_``, ``data_max_``; ``MaxAbsScaler``: ``max_abs_``) or quantiles
(``QuantileTransformer``: ``quantiles_``; ``KBinsDiscretizer``: ``bin_edges_``),
an encoder its levels (``categories_``), a ``ColumnTransformer`` one of these
per column; a bare model its rows (k-nearest neighbours, kernel ridge, Gaussian
processes, an SVR's support vectors), or its bins (``HistGradientBoosting``:
the training quantiles the bins were cut at) and split thresholds (trees and
forests): a Gaussian of their median and spread, clipped to their range widened
by a twentieth at each end, on which ``draws="auto"`` draws the model's leaves.
:func:`teacher_spec` reads them into an :class:`~skdistill.InputSpec` and says
what it read; features it learns nothing of are N(0, 1).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import columns as _columns
from .inputs import InputSpec

__all__ = ["NoInputSpecWarning", "encoder_levels", "teacher_spec", "with_teacher_levels"]


class NoInputSpecWarning(UserWarning):
    """``fit()`` got no input distribution and the teacher keeps none of its
    inputs: N(0, I) is assumed."""

_IQR_PER_SD = 1.349  # interquartile range of N(0, 1)
_THRESHOLD_MARGIN = 0.05  # tree thresholds: the range widened by this share per end
_N_QUANTILES = 101


def teacher_spec(estimator, n_features, feature_names=None):
    """An input spec from what ``estimator`` keeps of its inputs, or None.

    Returns ``(spec, source)``: ``source`` says in words what was read (and
    which features were assumed N(0, 1)); ``(None, None)`` when nothing is known
    of any feature.
    """
    frame = feature_names is not None
    names = [str(n) for n in feature_names] if frame else [
        f"x{j}" for j in range(n_features)]
    found, used = {}, []
    rows = _read(estimator, names, found, used)
    if rows is not None:  # the model keeps rows: their data sheet
        spec = InputSpec.from_data(rows, feature_names=feature_names)
        return spec, used[0]
    if not found:
        return None, None
    unknown = [n for n in names if n not in found]
    cols = [found.get(n) or _columns.Continuous(n, mean=0.0, std=1.0) for n in names]
    categorical = any(c.kind == "categorical" for c in cols)
    if categorical and not frame:
        return None, None  # levels of an array's columns: not an array spec
    source = "; ".join(used)
    if unknown:
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        source += f"; N(0, 1) assumed for {len(unknown)} feature(s) ({shown})"
    plain = _plain_spec(cols, feature_names)
    if plain is not None:
        return plain, source
    return InputSpec(columns=cols, frame=categorical), source


def _plain_spec(cols, feature_names):
    """Gaussians (clipped or not) or boxes for every feature: the plain spec of
    the paper's kind (``InputSpec(mean=, std=, bounds=)``), on which a tree
    teacher's leaves can be drawn; None for other columns."""
    if not all(c.kind == "continuous" for c in cols):
        return None
    moments = [c.mean is not None for c in cols]
    if any(moments) and not all(moments):
        return None

    def bound(v):
        return None if v is None else float(v)

    bounds = [(bound(c.low), bound(c.high)) for c in cols]
    ranged = any(b != (None, None) for b in bounds)
    if all(moments):
        return InputSpec(mean=[c.mean for c in cols], std=[c.std for c in cols],
                         bounds=bounds if ranged else None,
                         feature_names=feature_names)
    return InputSpec(bounds=bounds, feature_names=feature_names)


def encoder_levels(estimator):
    """``{column name: levels}`` of the encoders in ``estimator`` that name
    their columns (a ``ColumnTransformer`` over a DataFrame)."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return {}
    found = {}
    _read(estimator, [str(n) for n in names], found, [])
    return {n: c.levels for n, c in found.items() if c.kind == "categorical"}


def with_teacher_levels(spec, estimator):
    """``spec`` (of a DataFrame sample) with the levels the teacher's encoders
    know and the sample lacks added to its categorical columns, each drawn as
    often as one row of the sample; returns ``(spec, added)``, ``added`` naming
    them by column."""
    known = encoder_levels(estimator)
    cols, added = [], {}
    for col in spec.columns:
        levels = known.get(col.name)
        missing = [] if levels is None or col.kind != "categorical" else [
            v for v in levels if v not in set(col.levels)]
        if missing:
            added[col.name] = missing
            n = len(col.levels)
            freq = col.frequencies or [1.0 / n] * n
            share = min(freq) if col.frequencies is None else min(
                f for f in freq if f > 0)
            col = _columns.Categorical(
                col.name, list(col.levels) + missing,
                frequencies=list(freq) + [share] * len(missing), dtype=col.dtype,
                ordered=col.ordered, handle_unknown=col.handle_unknown)
        cols.append(col)
    if not added:
        return spec, added
    return InputSpec(columns=cols, correlation=spec.correlation), added


def _read(est, names, found, used):
    """Fill ``found`` (name -> Column) from ``est`` fed columns ``names``;
    return rows when ``est`` keeps training rows instead."""
    est = _unwrap(est)
    kind = type(est).__name__
    if hasattr(est, "steps"):  # a Pipeline: its first step that reads the inputs
        for _, step in est.steps:
            if step in (None, "passthrough"):
                continue
            if type(step).__name__ == "SimpleImputer":
                continue  # same columns, no spread kept
            return _read(step, names, found, used)
        return None
    if hasattr(est, "transformers_"):
        for label, trans, cols in est.transformers_:
            sub = _column_names(cols, names)
            if sub and trans not in ("drop", "passthrough"):
                before = len(found)
                _read(trans, sub, found, [])
                if len(found) > before:
                    used.append(f"{type(_unwrap(trans)).__name__} of {label!r}")
        if found:
            used[:] = [f"the ColumnTransformer's {', '.join(used)}"]
        return None
    cols = _scaler_columns(est, names) or _encoder_columns(est, names)
    if cols is None:
        cols = _tree_columns(est, names)
    if cols is not None:
        found.update({c.name: c for c in cols})
        used.append(cols.source)
        return None
    for attr in ("_fit_X", "X_fit_", "X_train_", "support_vectors_"):
        rows = getattr(est, attr, None)
        if rows is not None and getattr(rows, "ndim", 0) == 2 and len(rows) > 1:
            if rows.shape[1] == len(names) and not hasattr(rows, "tocsr"):
                used.append(f"the data sheet of the {len(rows)} rows a {kind} keeps "
                            f"({attr.strip('_')})")
                return np.asarray(rows, dtype=np.float64)
    return None


def _unwrap(est):
    for attr in ("best_estimator_", "regressor_"):  # a search, a target transform
        inner = getattr(est, attr, None)
        if inner is not None:
            return _unwrap(inner)
    return est


def _column_names(cols, names):
    """A ColumnTransformer's column selection as names (None if unreadable)."""
    if isinstance(cols, (str, numbers.Integral)):
        cols = [cols]
    if isinstance(cols, slice):
        return names[cols]
    try:
        cols = list(cols)
    except TypeError:
        return None
    if cols and all(isinstance(c, (bool, np.bool_)) for c in cols):
        return [n for n, keep in zip(names, cols) if keep]
    if all(isinstance(c, numbers.Integral) for c in cols):
        return [names[int(c)] for c in cols]
    return [str(c) for c in cols if str(c) in names]


class _Found(list):
    """Columns, with where they came from (``source``)."""

    def __init__(self, cols, source):
        super().__init__(cols)
        self.source = source


def _scaler_columns(est, names):
    kind, C = type(est).__name__, _columns.Continuous
    n = len(names)
    if kind == "StandardScaler" and getattr(est, "n_features_in_", None) == n:
        mean = est.mean_ if est.mean_ is not None else np.zeros(n)
        scale = est.scale_ if est.scale_ is not None else np.ones(n)
        return _Found([C(nm, mean=float(m), std=float(s))
                       for nm, m, s in zip(names, mean, scale)],
                      "the StandardScaler's mean_ and scale_")
    if kind == "RobustScaler" and getattr(est, "n_features_in_", None) == n:
        center = est.center_ if est.center_ is not None else np.zeros(n)
        scale = est.scale_ if est.scale_ is not None else np.full(n, _IQR_PER_SD)
        return _Found([C(nm, mean=float(m), std=float(s) / _IQR_PER_SD)
                       for nm, m, s in zip(names, center, scale)],
                      "the RobustScaler's center_ and scale_ (a Gaussian of that "
                      "median and interquartile range)")
    if kind == "MinMaxScaler" and getattr(est, "n_features_in_", None) == n:
        return _Found([_range(nm, lo, hi) for nm, lo, hi in
                       zip(names, est.data_min_, est.data_max_)],
                      "the MinMaxScaler's data_min_ and data_max_ (uniform)")
    if kind == "MaxAbsScaler" and getattr(est, "n_features_in_", None) == n:
        return _Found([_range(nm, -m, m) for nm, m in zip(names, est.max_abs_)],
                      "the MaxAbsScaler's max_abs_ (uniform on +-max_abs_)")
    if kind == "QuantileTransformer" and getattr(est, "n_features_in_", None) == n:
        q = np.asarray(est.quantiles_, dtype=np.float64)
        return _Found([_quantiles(nm, q[:, j]) for j, nm in enumerate(names)],
                      f"the QuantileTransformer's {len(q)} quantiles_")
    if kind == "KBinsDiscretizer" and getattr(est, "n_features_in_", None) == n:
        return _Found([_quantiles(nm, np.asarray(e, dtype=np.float64))
                       if est.strategy == "quantile" else _range(nm, e[0], e[-1])
                       for nm, e in zip(names, est.bin_edges_)],
                      "the KBinsDiscretizer's bin_edges_")
    return None


def _encoder_columns(est, names):
    kind = type(est).__name__
    if kind not in ("OneHotEncoder", "OrdinalEncoder"):
        return None
    cats = getattr(est, "categories_", None)
    if cats is None or len(cats) != len(names):
        return None
    cols = []
    for nm, levels in zip(names, cats):
        kept = [v for v in levels.tolist()
                if v is not None and not (isinstance(v, float) and np.isnan(v))]
        if not kept:
            return None
        cols.append(_columns.Categorical(nm, kept))
    return _Found(cols, f"the {kind}'s categories_")


def _tree_columns(est, names):
    """Columns of a fitted tree model: HistGradientBoosting's bin thresholds
    (cut at its training quantiles), or the split thresholds of a tree or
    forest; features never split are left unknown."""
    n = len(names)
    if getattr(est, "n_features_in_", None) != n:
        return None
    mapper = getattr(est, "_bin_mapper", None)
    if mapper is not None and hasattr(mapper, "bin_thresholds_"):
        categorical = getattr(est, "is_categorical_", None)
        if categorical is not None and np.any(categorical) and getattr(
                est, "_preprocessor", None) is not None:
            return None  # levels recoded from the DataFrame's: not read here
        cols = []
        for j, t in enumerate(mapper.bin_thresholds_):
            t = np.asarray(t, dtype=np.float64)
            if categorical is not None and categorical[j] and t.size:
                cols.append(_columns.Categorical(names[j], t.tolist()))
            elif t.size:
                cols.append(_spread(names[j], t))
        return _Found(cols, "the HistGradientBoosting bins (thresholds at its "
                            "training quantiles)") if cols else None
    trees = _trees(est)
    if not trees:
        return None
    feature = np.concatenate([t.feature for t in trees])
    threshold = np.concatenate([t.threshold for t in trees])
    keep = feature >= 0  # leaves have feature -2
    feature, threshold = feature[keep], threshold[keep]
    cols = []
    for j in range(n):
        t = threshold[feature == j]
        if t.size:
            cols.append(_spread(names[j], t))
    return _Found(cols, f"the split thresholds of its {len(trees)} tree(s)") \
        if cols else None


def _trees(est):
    if hasattr(est, "tree_"):
        return [est.tree_]
    members = getattr(est, "estimators_", None)
    if members is None:
        return []
    flat = np.asarray(members, dtype=object).ravel()
    return [m.tree_ for m in flat if hasattr(m, "tree_")]


def _widen(q):
    """Quantiles whose ends move out by :data:`_THRESHOLD_MARGIN` of the range
    (thresholds lie between training values, inside their range)."""
    q = np.sort(np.asarray(q, dtype=np.float64))
    pad = _THRESHOLD_MARGIN * (q[-1] - q[0])
    q[0], q[-1] = q[0] - pad, q[-1] + pad
    return q


def _spread(name, t):
    """A feature from a tree model's thresholds on it: a Gaussian of their
    median and spread (half the 16-84% range), clipped to their range widened by
    :data:`_THRESHOLD_MARGIN` at each end; a plain spec, on which the model's
    leaves are drawn (``draws="auto"``). A feature split at one value only
    spans a value on each side of it: the two integers around a threshold at
    ``k + 0.5`` (a 0/1 indicator, a count), else 5% of ``max(|t|, 1)``."""
    t = np.sort(np.asarray(t, dtype=np.float64))
    if np.ptp(t) == 0:
        t0 = float(t[0])
        gap = 0.5 if float(2 * t0).is_integer() and not t0.is_integer() else (
            0.05 * max(abs(t0), 1.0))
        return _columns.Continuous(name, mean=t0, std=gap, low=t0 - gap, high=t0 + gap)
    q16, q50, q84 = np.quantile(t, [0.1587, 0.5, 0.8413])
    lo, hi = _widen(t)[[0, -1]]
    std = max((q84 - q16) / 2, (hi - lo) / 100)
    return _columns.Continuous(name, mean=float(q50), std=float(std), low=float(lo),
                               high=float(hi))


def _range(name, low, high):
    low, high = float(low), float(high)
    if high > low:
        return _columns.Continuous(name, low=low, high=high)
    return _columns.Constant(name, low)


def _quantiles(name, q):
    q = np.maximum.accumulate(np.asarray(q, dtype=np.float64))
    if q[-1] > q[0]:
        return _columns.Empirical(name, quantiles=q)
    return _columns.Constant(name, float(q[0]))

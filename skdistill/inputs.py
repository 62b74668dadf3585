"""Input-distribution specifications: what the synthetic inputs look like.

A data-free distillation never sees the teacher's training data, only a description of
where the inputs live. :class:`InputSpec` is that description, in the user's raw units:
per-feature Gaussian moments, box bounds, or both (a Gaussian clipped to the box, as the
paper does for images and protein fractions, sections 3.5-3.6).

Tabular teachers (DataFrames with integer, categorical and constant columns) get a
spec of columns instead (``InputSpec(columns=[...])`` with the kinds of
:mod:`skdistill.columns`, or :meth:`InputSpec.from_data` on a DataFrame).

Internally every sample is handled in *standardized* coordinates ``z = (x - loc) / scale``
(:class:`StandardizedSpace`), so that step sizes such as ``direct_lr`` and penalties such
as ``beta * ||x||^2`` (eq. 5) mean the same thing whether a feature is measured in
thousands or in fractions. Categorical columns are one-hot indicators there
(:class:`TabularSpace`).
"""

from __future__ import annotations

import json
import numbers
import os

import numpy as np
import torch

from . import columns as _columns

__all__ = ["InputSpec", "StandardizedSpace", "TabularSpace"]


def _as_feature_vector(value, name, n_features=None):
    """Return ``value`` as a 1-D float64 array, broadcasting scalars."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a number or a sequence of numbers, one per feature; "
            f"could not read {value!r} ({exc})."
        ) from None
    if arr.ndim == 0:
        if n_features is None:
            return arr.reshape(1)
        return np.full(n_features, float(arr))
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a scalar or a 1-D sequence, got shape {arr.shape}."
        )
    if n_features is not None and arr.shape[0] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but the spec has {n_features} features."
        )
    return arr


def _feature_label(i, feature_names):
    if feature_names is not None:
        return f"feature {i} ({feature_names[i]!r})"
    return f"feature {i}"


def _image_shape(shape):
    """``(C, H, W)`` from ``(C, H, W)`` or ``(H, W)`` (one channel)."""
    try:
        shape = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (C, H, W) or (H, W), got {shape!r}.") from None
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (C, H, W) or (H, W), got {shape!r}.")
    return shape


def _value_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_range must be a (low, high) pair, got {value_range!r}."
        ) from None
    if not low <= high:
        raise ValueError(f"value_range must have low <= high, got {value_range!r}.")
    return low, high


class InputSpec:
    """Where the teacher's inputs live, described without any training data.

    Parameters
    ----------
    mean, std : array-like of shape (n_features,) or float, default=None
        Per-feature mean and standard deviation of a Gaussian. Give both or neither.
    bounds : sequence of (low, high) pairs, default=None
        Per-feature box bounds. ``None``/``inf`` entries mean unbounded on that side.
    n_features : int, default=None
        Number of features; only needed when neither moments nor bounds tell it
        (the paper's standard normal ``N(0, I)``).
    feature_names : sequence of str, default=None
        Optional feature names, used in error messages.
    simplex : bool, default=False
        Compositions: features are non-negative and every row sums to 1 (fractions,
        like the amino-acid composition of a protein). Draws are clipped to the
        bounds (``[0, 1]`` by default) and divided by their sum, as in section 3.6 of
        the paper; without moments they are uniform on the simplex (Dirichlet(1)).
        Every generated sample is projected back onto the simplex.
    shape : (C, H, W) or (H, W), default=None
        Image inputs: the features are the pixels of ``C x H x W`` images, in the
        order of ``images.reshape(n, -1)``. Everything inside the estimator keeps
        flat rows; convolutional students and teachers receive images (see
        :mod:`skdistill.students_cnn`), and ``fit``/``predict`` accept image
        arrays. See :meth:`image` and :meth:`from_data` to build such specs.

    Notes
    -----
    How draws are made (section 3.2.1 of the paper):

    - moments only: ``N(mean, std^2)`` per feature;
    - moments and bounds: ``N(mean, std^2)`` clipped to the bounds;
    - bounds only: uniform on the box (every bound must then be finite);
    - nothing but ``n_features``: the standard normal ``N(0, I)``.

    Examples
    --------
    >>> from skdistill import InputSpec
    >>> spec = InputSpec(bounds=[(0, 1), (10, 20)])
    >>> spec.n_features
    2
    >>> X = spec.draw(5, random_state=0)
    >>> bool(((X[:, 1] >= 10) & (X[:, 1] <= 20)).all())
    True

    A data sheet of a DataFrame's columns, with no data at all:

    >>> from skdistill.columns import Categorical, Continuous, Integer
    >>> spec = InputSpec(columns=[
    ...     Continuous("size", low=20, high=200),
    ...     Integer("rooms", low=1, high=6),
    ...     Categorical("city", ["A", "B", "C"], frequencies=[0.5, 0.3, 0.2]),
    ... ])
    >>> spec
    InputSpec(3 columns: 1 continuous, 1 integer, 1 categorical)
    >>> spec.draw(2, random_state=0).dtypes.tolist()
    [dtype('float64'), dtype('int64'), dtype('O')]
    """

    #: the columns of a tabular spec (``None`` for arrays of numbers)
    columns = None
    #: correlation of the columns' Gaussian scores (a Gaussian copula), or None
    correlation = None
    #: column specs: whether the teacher reads DataFrames (True) or arrays
    frame = True
    #: column specs: the names of the columns the copula couples
    copula_columns = ()

    def __init__(
        self,
        mean=None,
        std=None,
        bounds=None,
        n_features=None,
        feature_names=None,
        simplex=False,
        shape=None,
        columns=None,
        correlation=None,
        frame=True,
    ):
        if correlation is not None and columns is None and mean is None:
            raise ValueError(
                "correlation needs a Gaussian (mean and std) or columns: it couples "
                "the Gaussian scores of the features."
            )
        if columns is not None:
            others = [
                name
                for name, v in (("mean", mean), ("std", std), ("bounds", bounds),
                                ("n_features", n_features), ("shape", shape))
                if v is not None
            ] + (["simplex"] if simplex else [])
            if others:
                raise ValueError(
                    "columns describe every column on their own; give no "
                    f"{', '.join(others)} with them (put ranges and moments in the "
                    "columns)."
                )
            self._init_columns(columns, feature_names, correlation, frame)
            return
        if not frame:
            raise ValueError("frame=False describes columns read as arrays; give columns.")
        if shape is not None:
            shape = _image_shape(shape)
            # per-pixel moments may come as images: keep flat vectors internally
            if mean is not None and np.ndim(mean) > 1:
                mean = np.asarray(mean, dtype=np.float64).reshape(-1)
            if std is not None and np.ndim(std) > 1:
                std = np.asarray(std, dtype=np.float64).reshape(-1)
        if (mean is None) != (std is None):
            raise ValueError(
                "Give both `mean` and `std` of the input Gaussian, or neither."
            )
        parts = []  # (part, number of features it gives); scalar moments give none
        if mean is not None:
            mean = _as_feature_vector(mean, "mean")
            std = _as_feature_vector(std, "std")
            parts += [(k, v.size) for k, v in (("mean", mean), ("std", std)) if v.size > 1]
        if bounds is not None:
            low, high = self._parse_bounds(bounds)
            parts.append(("bounds", low.size))
        if n_features is not None:
            if (
                not isinstance(n_features, numbers.Integral)
                or isinstance(n_features, bool)
                or n_features < 1
            ):
                raise ValueError(
                    f"n_features must be a positive integer, got {n_features!r}."
                )
            parts.append(("n_features", int(n_features)))
        if isinstance(feature_names, str):
            raise ValueError(
                "feature_names must be a sequence of names, one per feature; got the "
                f"string {feature_names!r}."
            )
        if feature_names is not None:
            feature_names = np.asarray(feature_names, dtype=object).reshape(-1)
            parts.append(("feature_names", feature_names.size))
        if shape is not None:
            parts.append((f"shape {shape}", int(np.prod(shape))))
        sizes = {size for _, size in parts}
        if not sizes and mean is not None:
            sizes.add(1)  # scalar moments alone: one feature
        if not sizes:
            raise ValueError(
                "An InputSpec needs at least one of: mean and std, bounds, n_features."
            )
        if len(sizes) > 1:
            raise ValueError(
                "The parts of the input spec disagree on the number of features: "
                + ", ".join(f"{part} gives {size}" for part, size in parts)
                + "."
            )
        d = sizes.pop()
        self.n_features = d
        self.feature_names = feature_names

        if mean is not None:
            # scalar moments apply to every feature
            self.mean = np.full(d, mean[0]) if mean.size == 1 else mean
            self.std = np.full(d, std[0]) if std.size == 1 else std
            for name, arr in (("mean", self.mean), ("std", self.std)):
                bad = np.flatnonzero(~np.isfinite(arr))
                if bad.size:
                    raise ValueError(
                        f"{name} of {_feature_label(bad[0], feature_names)} is "
                        f"{arr[bad[0]]}; it must be finite."
                    )
            neg = np.flatnonzero(self.std < 0)
            if neg.size:
                raise ValueError(
                    f"std of {_feature_label(neg[0], feature_names)} is negative "
                    f"({self.std[neg[0]]})."
                )
        else:
            self.mean = self.std = None

        if bounds is not None:
            self.low, self.high = low, high
            for i in range(d):
                if np.isnan(low[i]) or np.isnan(high[i]):
                    raise ValueError(
                        f"Bounds of {_feature_label(i, feature_names)} contain NaN: "
                        f"({low[i]}, {high[i]})."
                    )
                if low[i] > high[i]:
                    raise ValueError(
                        f"Bounds of {_feature_label(i, feature_names)} are reversed: "
                        f"lower {low[i]} > upper {high[i]}."
                    )
            if self.mean is None:
                unbounded = np.flatnonzero(~(np.isfinite(low) & np.isfinite(high)))
                if unbounded.size:
                    raise ValueError(
                        f"{_feature_label(unbounded[0], feature_names)} has an infinite "
                        "bound; uniform draws need finite bounds, or give mean and std."
                    )
        else:
            self.low = np.full(d, -np.inf)
            self.high = np.full(d, np.inf)

        self.shape = shape
        self.simplex = bool(simplex)
        if correlation is not None:
            if simplex or shape is not None:
                raise ValueError("correlation cannot be used with simplex or shape.")
            self.correlation = _columns.check_correlation(
                correlation, [_feature_label(i, feature_names) for i in range(d)]
            )
        if self.simplex:
            self.low = np.maximum(self.low, 0.0)
            self.high = np.minimum(self.high, 1.0)
            bad = np.flatnonzero(self.low > self.high)
            if bad.size:
                raise ValueError(
                    f"{_feature_label(bad[0], feature_names)} has bounds outside [0, 1], "
                    "impossible for a composition (simplex=True)."
                )
            if self.low.sum() > 1.0 or self.high.sum() < 1.0:
                raise ValueError(
                    "simplex=True needs rows summing to 1, but the bounds allow sums in "
                    f"[{self.low.sum():g}, {self.high.sum():g}] only."
                )

    def _init_columns(self, columns, feature_names, correlation, frame):
        cols = _columns.check_columns(columns)
        self.frame = bool(frame)
        if not self.frame:
            bad = [c.name for c in cols if c.kind not in _columns.NUMERIC_KINDS]
            if bad:
                raise ValueError(
                    "frame=False: the teacher reads arrays of numbers, one per column; "
                    f"columns {bad} are not numeric (empirical, continuous or "
                    "integer). Use frame=True for DataFrames."
                )
        # the copula couples every non-constant column; sheets of version 1
        # coupled the numeric columns only
        names = _columns.copula_names(cols)
        numeric = _columns.numeric_names(cols)
        if correlation is not None and np.shape(correlation) == (len(numeric),) * 2:
            names = numeric
        self.copula_columns = tuple(names)
        self.correlation = _columns.check_correlation(correlation, names)
        names = [c.name for c in cols]
        if feature_names is not None and [str(n) for n in feature_names] != names:
            raise ValueError(
                f"feature_names {list(feature_names)} differ from the column names "
                f"{names}; the columns name themselves, leave feature_names out."
            )
        self.columns = cols
        self.n_features = len(cols)
        # arrays (frame=False) have feature names only when they were given
        self.feature_names = (
            np.asarray(names, dtype=object)
            if self.frame or feature_names is not None else None
        )
        self.mean = self.std = None
        self.low = np.array([c.bounds[0] if hasattr(c, "bounds") else -np.inf
                             for c in cols])
        self.high = np.array([c.bounds[1] if hasattr(c, "bounds") else np.inf
                              for c in cols])
        self.shape = None
        self.simplex = False

    @property
    def tabular(self):
        """Whether the teacher reads DataFrames built from the columns (a spec of
        columns with ``frame=True``); arrays otherwise."""
        return self.columns is not None and self.frame

    @property
    def n_encoded(self):
        """Width of the rows the student reads: ``n_features``, except for tabular
        specs, where each categorical column counts one per level and constant
        columns none."""
        if self.columns is None:
            return self.n_features
        return sum(c.width for c in self.columns)

    @staticmethod
    def _parse_bounds(bounds):
        try:
            arr = np.array(
                [[np.nan if v is None else v for v in pair] for pair in bounds],
                dtype=np.float64,
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "bounds must be a sequence of (low, high) pairs, one per feature; "
                f"could not read {bounds!r} ({exc})."
            ) from None
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
            raise ValueError(
                "bounds must be a sequence of (low, high) pairs, one per feature; got "
                f"an array of shape {arr.shape}."
            )
        # ``None`` means unbounded on that side.
        raw = [[v is None for v in pair] for pair in bounds]
        none_mask = np.array(raw, dtype=bool)
        arr[:, 0][none_mask[:, 0]] = -np.inf
        arr[:, 1][none_mask[:, 1]] = np.inf
        return arr[:, 0].copy(), arr[:, 1].copy()

    @classmethod
    def from_data(
        cls, X, feature_names=None, simplex=False, shape=None, value_range=None,
        kinds=None, correlated=None, marginals="auto", n_quantiles=101,
        mass_threshold=0.01, interpolation="linear",
    ):
        """A data sheet of an unlabeled sample: each column's marginal and their
        dependence, and no row of the sample.

        By default (``marginals="empirical"``) every numeric column gets an
        :class:`~skdistill.columns.Empirical` marginal: the values that carry at
        least ``mass_threshold`` of the rows (a "not detected" code, zeros, the
        levels of a column of few values) are point masses drawn with their
        share, the other rows ``n_quantiles`` quantiles; columns of integers draw
        integers. The columns are joined by a Gaussian copula on their normal
        scores (``correlated``). :meth:`describe` says what was chosen for each
        column.

        A pandas DataFrame gives a tabular spec (the teacher receives
        DataFrames), one column kind per column, by its dtype:

        - ``bool``, ``category``, ``object`` and string dtypes:
          :class:`~skdistill.columns.Categorical`, with the observed levels (a
          categorical dtype: its categories) and their frequencies;
        - numbers: :class:`~skdistill.columns.Empirical` (above); with
          ``marginals="gaussian"``, :class:`~skdistill.columns.Integer` for
          integer dtypes and :class:`~skdistill.columns.Continuous` for floats,
          Gaussian moments clipped to the observed range;
        - a column with a single value: :class:`~skdistill.columns.Constant`.

        ``kinds`` overrides the rule per column. Missing values are an error.

        What a sheet reveals: each numeric column's quantiles (its minimum and
        maximum among them) and the values that hold ``mass_threshold`` of the
        rows with their shares, each level's frequency, and the rank correlation
        of the columns. Fewer quantiles (``n_quantiles``) and a higher
        ``mass_threshold`` coarsen it; ``marginals="gaussian"`` keeps means,
        standard deviations and ranges only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n, H, W) or (n, C, H, W)
            Unlabeled inputs (no targets needed). 3-D and 4-D arrays are images:
            the spec gets their ``shape`` and per-pixel moments. A DataFrame gives
            a tabular spec (above).
        feature_names : sequence of str, default=None
            Names to use in messages; taken from a pandas DataFrame if omitted.
        simplex : bool, default=False
            The rows are compositions (non-negative, summing to 1).
        shape : (C, H, W) or (H, W), default=None
            Image shape of flat rows ``X`` (inferred from image arrays).
        value_range : (float, float), default=None
            One range clipping every feature (pixels: ``(0, 1)``). By default image
            specs are clipped to the smallest and largest value of the whole
            sample, other specs to each feature's own range. Gives Gaussian
            marginals.
        kinds : dict, default=None
            DataFrames only: column name -> ``"empirical"``, ``"continuous"``,
            ``"integer"``, ``"categorical"``, ``"constant"``, or a
            :class:`~skdistill.columns.Column` to use as it is (a zip code stored
            as integers is ``"categorical"``).
        correlated : bool, default=None
            Keep the dependence of the columns as the correlation of their
            normal scores (a Gaussian copula on every non-constant column;
            categorical ones through the order of their levels). ``None``: True,
            except for arrays with ``marginals="gaussian"`` (independent, as in
            the paper). ``False``: independent columns.
        marginals : {"auto", "empirical", "gaussian"}, default="auto"
            ``"empirical"``: quantiles and point masses (above). ``"gaussian"``:
            moments clipped to the range (the spec of skdistill 0.x). ``"auto"``:
            empirical, except for images, compositions (``simplex``) and a
            ``value_range``, which keep Gaussian moments.
        n_quantiles : int, default=101
            Quantiles per empirical marginal (of the rows outside point masses).
        mass_threshold : float, default=0.01
            Share of the rows from which a value is a point mass (0: none).
        interpolation : {"linear", "pchip"}, default="linear"
            Between the quantiles of empirical marginals.

        Returns
        -------
        InputSpec

        Examples
        --------
        >>> import numpy as np
        >>> from skdistill import InputSpec
        >>> images = np.random.default_rng(0).uniform(size=(100, 8, 8))
        >>> spec = InputSpec.from_data(images, value_range=(0, 1))
        >>> spec
        InputSpec(n_features=64, gaussian clipped, images (1, 8, 8))
        >>> spec.to_images(spec.draw(5, random_state=0)).shape
        (5, 1, 8, 8)

        >>> import pandas as pd
        >>> df = pd.DataFrame({"size": [50.0, 80.5, 120.0], "rooms": [2, 3, 5],
        ...                    "city": ["A", "B", "A"]})
        >>> InputSpec.from_data(df, marginals="gaussian")
        InputSpec(3 columns: 1 continuous, 1 integer, 1 categorical, correlated)
        >>> InputSpec.from_data(df, marginals="gaussian").columns
        ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
        (Continuous('size', mean=83.5, std=28.65..., low=50.0, high=120.0,
                    dtype='float64'),
         Integer('rooms', low=2, high=5, mean=3.33..., std=1.24..., dtype='int64'),
         Categorical('city', levels=['A', 'B'], frequencies=[0.66..., 0.33...],
                     dtype='...'))

        Arrays of numbers give a data sheet of empirical marginals:

        >>> rng = np.random.default_rng(0)
        >>> X = np.column_stack([np.where(rng.uniform(size=500) < 0.7, 0.0,
        ...                               rng.lognormal(size=500)),
        ...                      rng.integers(1, 4, size=500)])
        >>> spec = InputSpec.from_data(X)
        >>> spec
        InputSpec(n_features=2, 2 empirical, correlated)
        >>> print(spec.describe())
        x0  empirical  101 quantiles, 1 point mass (66%), range [0, 12]
        x1  empirical  3 point masses (100%), integer, range [1, 3]
        """
        if marginals not in ("auto", "empirical", "gaussian"):
            raise ValueError(
                "marginals must be 'auto', 'empirical' or 'gaussian', got "
                f"{marginals!r}."
            )
        if _columns.is_frame(X):
            others = [n for n, v in (("feature_names", feature_names),
                                     ("shape", shape), ("value_range", value_range))
                      if v is not None] + (["simplex"] if simplex else [])
            if others:
                raise ValueError(
                    f"{', '.join(others)} cannot be used with a DataFrame, which "
                    "gives a tabular spec; see kinds= to set a column's kind."
                )
            if X.shape[0] < 1:
                raise ValueError("X must have at least one row.")
            marginals = "empirical" if marginals == "auto" else marginals
            cols = _columns.infer_columns(
                X, kinds, marginals=marginals, n_quantiles=n_quantiles,
                mass_threshold=mass_threshold, interpolation=interpolation,
            )
            corr = None
            if correlated is None or correlated:
                values, _ = _columns._values(X, cols, "X")
                corr = _columns.score_correlation(_columns.copula_values(cols, values))
            return cls(columns=cols, correlation=corr)
        if kinds is not None:
            raise ValueError(
                "kinds needs a pandas DataFrame (column names and dtypes); an array "
                "gives a spec of continuous features."
            )
        if feature_names is None and hasattr(X, "columns"):
            feature_names = [str(c) for c in X.columns]
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"X must be a numeric array of shape (n_samples, n_features); {exc}."
            ) from None
        if X.ndim in (3, 4) and X.shape[0] >= 1:
            if shape is not None and _image_shape(shape) != _image_shape(X.shape[1:]):
                raise ValueError(
                    f"X holds images of shape {X.shape[1:]} but shape={shape!r}."
                )
            shape = X.shape[1:]
            X = X.reshape(X.shape[0], -1)
        if X.ndim != 2 or X.shape[0] < 1:
            raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError(
                "X contains NaN or infinity; an input spec needs finite data."
            )
        gaussian_only = [n for n, v in (("images", shape), ("value_range", value_range))
                         if v is not None] + (["simplex"] if simplex else [])
        if marginals == "auto":
            marginals = "gaussian" if gaussian_only else "empirical"
        if marginals == "empirical":
            if gaussian_only:
                raise ValueError(
                    f"marginals='empirical' cannot be used with {', '.join(gaussian_only)}"
                    ", which keep Gaussian moments; use marginals='gaussian'."
                )
            if feature_names is not None:
                feature_names = [str(n) for n in np.asarray(feature_names).reshape(-1)]
                if len(feature_names) != X.shape[1]:
                    raise ValueError(
                        f"feature_names has {len(feature_names)} names for "
                        f"{X.shape[1]} features."
                    )
            names = feature_names or [f"x{j}" for j in range(X.shape[1])]
            cols = [
                _columns.Empirical.from_values(
                    name, X[:, j], n_quantiles=n_quantiles,
                    mass_threshold=mass_threshold, interpolation=interpolation,
                )
                for j, name in enumerate(names)
            ]
            corr = None
            if correlated is None or correlated:
                corr = _columns.score_correlation(X)
            return cls(columns=cols, correlation=corr, frame=False,
                       feature_names=feature_names)
        if value_range is not None or shape is not None:
            low, high = (
                (X.min(), X.max()) if value_range is None else _value_range(value_range)
            )
            bounds = np.tile([low, high], (X.shape[1], 1))
        else:
            bounds = np.column_stack([X.min(axis=0), X.max(axis=0)])
        corr = None
        if correlated:
            if simplex or shape is not None:
                raise ValueError("correlated cannot be used with simplex or images.")
            corr = _columns.score_correlation(X)
        return cls(
            mean=X.mean(axis=0),
            std=X.std(axis=0),
            bounds=bounds,
            feature_names=feature_names,
            simplex=simplex,
            shape=shape,
            correlation=corr,
        )

    def describe(self):
        """What the spec holds, one line per column (name, kind, marginal), as
        text: what :meth:`from_data` chose."""
        if self.columns is None:
            return repr(self)
        lines = []
        for c in self.columns:
            if c.kind == "empirical":
                low, high = c.bounds
                what = f"{c.describe()}, range [{low:.3g}, {high:.3g}]"
            elif c.kind == "categorical":
                what = f"{len(c.levels)} levels"
            elif c.kind == "constant":
                what = f"always {c.value!r}"
            else:
                low, high = c.bounds
                what = ("gaussian" if c.mean is not None else "uniform") + (
                    f", range [{low:.3g}, {high:.3g}]")
            lines.append((c.name, c.kind, what))
        w0 = max(len(n) for n, _, _ in lines)
        w1 = max(len(k) for _, k, _ in lines)
        return "\n".join(f"{n:<{w0}}  {k:<{w1}}  {w}" for n, k, w in lines)

    @classmethod
    def image(cls, shape, mean=None, std=None, value_range=(0.0, 1.0)):
        """Spec of images: per-pixel Gaussian clipped to ``value_range``.

        Section 3.5 of the paper: each pixel is drawn from ``N(mean, std^2)`` with
        its own moments, then clipped to the pixel range.

        Parameters
        ----------
        shape : (C, H, W) or (H, W)
        mean, std : array-like of shape ``shape`` (or flat), or float, default=None
            Per-pixel moments; without them, draws are uniform on the range.
        value_range : (float, float), default=(0, 1)
            Range of every pixel.

        Returns
        -------
        InputSpec

        Examples
        --------
        >>> from skdistill import InputSpec
        >>> InputSpec.image((8, 8), mean=0.3, std=0.2)
        InputSpec(n_features=64, gaussian clipped, images (1, 8, 8))
        """
        shape = _image_shape(shape)
        d = int(np.prod(shape))
        low, high = _value_range(value_range)
        if mean is not None and np.ndim(mean) == 0:
            mean = np.full(d, float(mean))
        if std is not None and np.ndim(std) == 0:
            std = np.full(d, float(std))
        return cls(mean=mean, std=std, bounds=np.tile([low, high], (d, 1)), shape=shape)

    def to_images(self, X):
        """Flat rows ``(n, n_features)`` as images ``(n, C, H, W)`` (a view)."""
        if self.shape is None:
            raise ValueError("This input spec has no image shape.")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"X must be flat rows of shape (n, {self.n_features}) to become images "
                f"of shape {self.shape}; got shape {X.shape}."
            )
        return X.reshape(X.shape[0], *self.shape)

    @property
    def bounds(self):
        """Array of shape (n_features, 2) with the box bounds (``inf`` if open)."""
        return np.column_stack([self.low, self.high])

    @property
    def has_finite_bounds(self):
        return bool(np.isfinite(self.low).all() and np.isfinite(self.high).all())

    def standardization(self):
        """Location and scale used to standardize inputs internally.

        Gaussian specs use their moments; box-only specs use the centre and the
        standard deviation of the uniform law. Zero scales become 1 (constant features).
        Image specs (``shape`` given) with a finite pixel range use ``loc = low`` and
        ``scale = high - low``: internally pixels live in ``[0, 1]``.
        """
        if self.mean is not None:
            loc, scale = self.mean.copy(), self.std.copy()
        elif self.simplex:
            # moments of the uniform law on the simplex, Dirichlet(1, ..., 1)
            d = self.n_features
            loc = np.full(d, 1.0 / d)
            scale = np.full(d, np.sqrt((d - 1) / (d * d * (d + 1.0))))
        elif self.has_finite_bounds:
            loc = (self.low + self.high) / 2.0
            scale = (self.high - self.low) / np.sqrt(12.0)
        else:
            loc, scale = np.zeros(self.n_features), np.ones(self.n_features)
        if getattr(self, "shape", None) is not None and self.has_finite_bounds:
            # Images: pixel values rescaled to [0, 1], one scale for all pixels, so
            # that steps and penalties act on pixels as in the paper (section 3.5;
            # per-pixel scales would let near-constant border pixels barely move,
            # and an L1 penalty must see 0 at black pixels, not at the mean).
            loc, scale = self.low.copy(), self.high - self.low
        scale[~(scale > 0)] = 1.0
        return loc, scale

    def draw(self, n_samples, random_state=None):
        """Draw ``n_samples`` inputs in raw units as a float64 NumPy array."""
        from sklearn.utils import check_random_state

        if (
            not isinstance(n_samples, numbers.Integral)
            or isinstance(n_samples, bool)
            or n_samples < 0
        ):
            raise ValueError(
                f"n_samples must be a non-negative integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        gen = torch.Generator().manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        # specs of columns draw as training does (float32: the copula and the
        # inverse CDF tables six times faster), then come back to raw units in
        # float64 with point masses and integers exact; the others in float64
        if self.columns is None:
            space = StandardizedSpace(self, dtype=torch.float64)
            rows = space.to_raw(space.draw(n_samples, gen)).numpy()
        else:  # in chunks: the raw conversion stays in cache
            space = StandardizedSpace(self, dtype=torch.float32)
            rows = np.empty((n_samples, space.n_features))
            for start in range(0, n_samples, _RAW_CHUNK):
                m = min(_RAW_CHUNK, n_samples - start)
                z = space.draw(m, gen).double()
                rows[start : start + m] = space.to_raw(z).numpy()
        if self.tabular:
            return _columns.decode(self.columns, rows)
        return rows

    # -- saving ------------------------------------------------------------------
    def to_dict(self):
        """The spec as a JSON-friendly dict (:meth:`from_dict` reads it back)."""
        out = {"format": "skdistill.InputSpec", "version": 2}
        if self.columns is not None:
            out["columns"] = [c.to_dict() for c in self.columns]
            if not self.frame:
                out["frame"] = False
                if self.feature_names is not None:
                    out["feature_names"] = [str(n) for n in self.feature_names]
            if self.correlation is not None:
                out["correlation"] = self.correlation.tolist()
            return out

        def floats(a):
            return [None if not np.isfinite(v) else float(v) for v in a]

        out["n_features"] = int(self.n_features)
        if self.mean is not None:
            out["mean"], out["std"] = floats(self.mean), floats(self.std)
        if np.isfinite(self.low).any() or np.isfinite(self.high).any():
            out["bounds"] = [list(p) for p in zip(floats(self.low), floats(self.high))]
        if self.feature_names is not None:
            out["feature_names"] = [str(n) for n in self.feature_names]
        if self.simplex:
            out["simplex"] = True
        if self.shape is not None:
            out["shape"] = list(self.shape)
        if self.correlation is not None:
            out["correlation"] = self.correlation.tolist()
        return out

    @classmethod
    def from_dict(cls, d):
        """A spec from :meth:`to_dict`'s form."""
        if not isinstance(d, dict) or d.get("format") != "skdistill.InputSpec":
            raise ValueError(
                "Not an input spec: expected a dict with format "
                "'skdistill.InputSpec' (as InputSpec.to_dict() writes)."
            )
        if d.get("version") not in (1, 2):
            raise ValueError(
                f"Unknown input spec version {d.get('version')!r}: this skdistill "
                "reads versions 1 and 2."
            )
        keys = ("columns", "correlation", "mean", "std", "bounds", "n_features",
                "feature_names", "simplex", "shape", "frame")
        extra = sorted(set(d) - {"format", "version", *keys})
        if extra:
            raise ValueError(f"Unknown input spec entries: {extra}.")
        kw = {k: d[k] for k in keys if k in d}
        if "columns" in kw:
            return cls(columns=kw["columns"], correlation=kw.get("correlation"),
                       frame=kw.get("frame", True),
                       feature_names=kw.get("feature_names"))
        return cls(**kw)

    def to_json(self, path=None, indent=2):
        """The spec as JSON text, also written to ``path`` if given: a data sheet of
        the inputs to keep beside the teacher (no data in it)."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, source):
        """A spec from JSON: a path to a file :meth:`to_json` wrote, or the text."""
        if isinstance(source, (str, os.PathLike)) and os.path.exists(source):
            with open(source, encoding="utf-8") as f:
                source = f.read()
        try:
            d = json.loads(source)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"from_json needs a path to a JSON file or JSON text: {exc}."
            ) from None
        return cls.from_dict(d)

    def __repr__(self):
        if self.columns is not None:
            counts = {}
            for c in self.columns:
                counts[c.kind] = counts.get(c.kind, 0) + 1
            kinds = ", ".join(f"{v} {k}" for k, v in counts.items())
            corr = ", correlated" if self.correlation is not None else ""
            if not self.frame:
                return f"InputSpec(n_features={self.n_features}, {kinds}{corr})"
            return f"InputSpec({self.n_features} columns: {kinds}{corr})"
        if self.mean is not None:
            kind = "gaussian" + (" clipped" if np.isfinite(self.bounds).any() else "")
        elif self.simplex:
            kind = "uniform"
        elif np.isfinite(self.bounds).all():
            kind = "uniform box"
        else:
            kind = "standard normal"
        if self.simplex:
            kind += " on the simplex"
        if getattr(self, "shape", None) is not None:
            kind += f", images {self.shape}"
        if self.correlation is not None:
            kind += ", correlated"
        return f"InputSpec(n_features={self.n_features}, {kind})"


class StandardizedSpace:
    """An :class:`InputSpec` seen in standardized coordinates, as torch tensors.

    This is the object the training loop and the samplers use: ``draw`` makes
    standardized samples, ``project`` keeps optimised samples inside the spec's
    constraints, ``to_raw`` maps back to the teacher's units.
    """

    def __new__(cls, spec, *args, **kwargs):
        if cls is StandardizedSpace and getattr(spec, "columns", None) is not None:
            cls = TabularSpace
        return super().__new__(cls)

    def __init__(self, spec, device="cpu", dtype=torch.float32):
        loc, scale = spec.standardization()
        self.spec = spec
        self.n_features = spec.n_features
        self.simplex = spec.simplex
        if spec.mean is not None:
            self.kind = "gaussian"
        elif spec.simplex:
            self.kind = "dirichlet"
        else:
            self.kind = "uniform" if spec.has_finite_bounds else "normal"

        def t(a):
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.loc, self.scale = t(loc), t(scale)
        # the Cholesky factor of a correlated Gaussian, once (draws use it)
        self.chol = None if spec.correlation is None else t(
            np.linalg.cholesky(spec.correlation))
        if self.kind == "gaussian":
            std = spec.std.copy()
            self.draw_loc = t((spec.mean - loc) / scale)
            self.draw_scale = t(std / scale)
        low = (spec.low - loc) / scale
        high = (spec.high - loc) / scale
        self.low, self.high = t(low), t(high)
        self.bounded = bool(np.isfinite(low).any() or np.isfinite(high).any())
        self.raw_low, self.raw_high = t(spec.low), t(spec.high)
        # a tree teacher's leaves, for draw(..., "leaves") (see set_leaves)
        self.leaf_lo = self.leaf_hi = self.leaf_weight = None
        # the user's rows, for draw(..., "munge") (see set_rows)
        self.rows = None

    #: Whether the pool regime's ``pool_focus="auto"`` focuses draws of this space
    focus_by_default = True

    @property
    def accepts_leaves(self):
        """Whether :meth:`set_leaves` works: independent continuous features."""
        return self.kind != "dirichlet" and self.chol is None

    def set_leaves(self, cells):
        """Keep a tree teacher's leaves (:class:`~skdistill.teachers.LeafCells`,
        in raw units) for ``draw(..., method="leaves")``.

        Needs a spec of independent continuous features (Gaussian, bounded or
        unbounded): the draws restrict each feature's distribution to a box."""
        if not self.accepts_leaves:
            raise ValueError(
                "draws='leaves' restricts each feature of the spec to a leaf's box; "
                "it needs independent features, not "
                + ("a simplex." if self.kind == "dirichlet" else "correlated ones.")
                + " Use draws='random'."
            )
        dev = self.loc.device
        loc, scale = self.loc.double().cpu().numpy(), self.scale.double().cpu().numpy()
        # standardized boxes; float32 keeps large forests small (inf stays inf)
        self.leaf_lo = torch.as_tensor((cells.lo - loc) / scale, dtype=torch.float32,
                                       device=dev)
        self.leaf_hi = torch.as_tensor((cells.hi - loc) / scale, dtype=torch.float32,
                                       device=dev)
        self.leaf_weight = torch.as_tensor(cells.weight, dtype=torch.float64)

    def set_rows(self, z):
        """Keep rows of the user's data (standardized, encoded) for
        ``draw(..., method="munge")``, with the nearest neighbour of each (the
        first :data:`MUNGE_MAX_ROWS` rows are searched)."""
        from sklearn.neighbors import NearestNeighbors

        z = z[:MUNGE_MAX_ROWS]
        if len(z) < 2:
            raise ValueError("draws='munge' needs at least two rows of data.")
        Z = z.double().cpu().numpy()
        _, idx = NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)
        # a row whose duplicate is its first neighbour: the second one
        partner = np.where(idx[:, 0] == np.arange(len(Z)), idx[:, 1], idx[:, 0])
        self.rows = z
        self._partner = torch.as_tensor(partner, dtype=torch.long, device=z.device)
        col, swap = self._munge_groups()
        self._munge_col = torch.as_tensor(col, dtype=torch.long, device=z.device)
        self._munge_swap = torch.as_tensor(swap, dtype=torch.bool, device=z.device)

    def _munge_groups(self):
        return list(range(self.n_features)), [False] * self.n_features

    def _draw_munge(self, n, generator, method="munge"):
        """MUNGE (Bucila, Caruana and Niculescu-Mizil, 2006): a row of the data
        and its nearest neighbour; each column, with probability
        :data:`MUNGE_P`, takes the neighbour's value (levels, integers and
        discrete columns exactly; numbers spread by a Gaussian of standard
        deviation ``|a - b| / MUNGE_S``), then the row is put inside the spec.
        ``method="mix"``: half of the rows so, half plain draws of the spec."""
        if self.rows is None:
            raise ValueError("draws='munge' needs rows of data: call set_rows first.")
        if method == "mix":
            half = n // 2
            return torch.cat([self._draw_munge(half, generator),
                              self.draw(n - half, generator, "random")])
        m = len(self.rows)
        dev = self.rows.device
        i = torch.randint(m, (n,), generator=generator).to(dev)
        return self._munge_at(i, generator)

    def _munge_at(self, i, generator):
        """One MUNGE draw around each of the rows ``i`` (indices of set_rows')."""
        n, dev = len(i), self.rows.device
        a, b = self.rows[i], self.rows[self._partner[i]]
        k = int(self._munge_col.max()) + 1
        take = torch.rand(n, k, generator=generator).to(dev) < MUNGE_P
        take = take[:, self._munge_col]
        noise = torch.randn(n, a.shape[1], generator=generator, dtype=a.dtype).to(dev)
        moved = torch.where(self._munge_swap, b, b + (a - b).abs() / MUNGE_S * noise)
        return self.project(torch.where(take, moved, a))

    def _draw_leaves(self, n, generator):
        """A leaf by its share of the teacher's training rows, then the spec's
        distribution restricted to its box (inverse-CDF draws between the box's
        CDF values; a box outside the spec's bounds gives the nearest bound)."""
        if self.leaf_lo is None:
            raise ValueError("draws='leaves' needs the teacher's leaves: "
                             "call set_leaves first.")
        k = torch.multinomial(self.leaf_weight, n, replacement=True,
                              generator=generator)
        u = torch.rand(n, self.n_features, generator=generator, dtype=torch.float64)
        k, u = k.to(self.loc.device), u.to(self.loc.device)
        lo, hi = self.leaf_lo[k].double(), self.leaf_hi[k].double()
        if self.kind == "uniform":
            low, high = self.low.double(), self.high.double()
            a = torch.clamp(lo, low, high)
            b = torch.clamp(hi, low, high)
            return (a + u * (b - a)).to(self.loc.dtype)
        m, s = (0.0, 1.0) if self.kind != "gaussian" else (
            self.draw_loc.double(), self.draw_scale.double())
        a = torch.special.ndtr((lo - m) / s)
        b = torch.special.ndtr((hi - m) / s)
        p = torch.clamp(a + u * (b - a), 1e-12, 1 - 1e-12)
        z = m + s * torch.special.ndtri(p)
        return self.project(z.to(self.loc.dtype))

    def draw(self, n, generator, method="random"):
        """``n`` standardized samples drawn with the torch ``generator``.

        ``method="random"``: independent draws. ``"sobol"`` (scrambled Sobol
        points) or ``"lhs"`` (Latin hypercube), from :mod:`scipy.stats.qmc`, seeded
        from ``generator``: space-filling uniforms mapped through the spec as the
        random draws are (the inverse normal CDF for Gaussian and unbounded
        features, exponentials normalized onto the simplex for compositions).
        ``"leaves"``: the spec restricted to a leaf of a tree teacher, the leaf
        drawn by its share of the teacher's training rows (:meth:`set_leaves`).
        """
        d = self.n_features
        dev, dt = self.loc.device, self.loc.dtype
        if method == "leaves":
            return self._draw_leaves(n, generator)
        if method in ("munge", "mix"):
            return self._draw_munge(n, generator, method)
        if method == "random":
            if self.kind == "uniform":
                u = torch.rand(n, d, generator=generator, dtype=dt).to(dev)
                return self.low + (self.high - self.low) * u
            if self.kind == "dirichlet":
                u = torch.rand(n, d, generator=generator, dtype=dt)
                return self.project(self.from_raw(-torch.log1p(-u).to(dev)))
            z = torch.randn(n, d, generator=generator, dtype=dt).to(dev)
        else:
            u = torch.as_tensor(_qmc_uniforms(method, n, d, generator), dtype=dt)
            if self.kind == "uniform":
                return self.low + (self.high - self.low) * u.to(dev)
            if self.kind == "dirichlet":
                return self.project(self.from_raw(-torch.log1p(-u).to(dev)))
            from scipy.special import ndtri

            z = torch.as_tensor(ndtri(u.double().numpy()), dtype=dt).to(dev)
        if self.kind == "gaussian":
            if self.chol is not None:
                z = z @ self.chol.T
            z = self.draw_loc + self.draw_scale * z
        return self.project(z)

    def project(self, z):
        """Put standardized samples back inside the spec's constraints: clip to the
        bounds (identity when unbounded); for compositions, also divide every row by
        its sum in raw units (rows of zeros become the centre of the simplex)."""
        if self.simplex:
            x = torch.clamp(self.to_raw(z), self.raw_low, self.raw_high)
            total = x.sum(dim=1, keepdim=True)
            x = torch.where(
                total > 0, x / total.clamp_min(1e-30), 1.0 / self.n_features
            )
            return self.from_raw(x)
        if not self.bounded:
            return z
        return torch.clamp(z, self.low, self.high)

    def to_raw(self, z):
        return self.loc + self.scale * z

    def from_raw(self, x):
        return (x - self.loc) / self.scale


class TabularSpace(StandardizedSpace):
    """The standardized space of a spec of columns (``InputSpec(columns=...)``,
    and the data sheets of :meth:`InputSpec.from_data`).

    Rows are *encoded*: one coordinate per numeric column (standardized by its
    moments) and one indicator per level of each categorical column (0 or 1,
    not rescaled); constant columns have none. ``StandardizedSpace(spec)``
    builds this class for such specs.

    Draws follow the copula: latent normals (independent, or from Sobol or Latin
    hypercube uniforms), correlated by the Cholesky factor of the spec's
    correlation, mapped to uniforms by the normal CDF and through each column's
    inverse CDF (:meth:`~skdistill.columns.Empirical.knots` for empirical
    columns, in torch, all at once). ``project`` clips numbers to their ranges,
    rounds integer columns, snaps discrete empirical columns to their nearest
    point mass and sets each categorical block to the indicator of its largest
    entry: gradient steps and differential evolution move the relaxed
    coordinates freely, and what the teacher and the student see is always a
    valid row.
    """

    def __init__(self, spec, device="cpu", dtype=torch.float32):
        cols = spec.columns
        self.spec = spec
        self.columns = cols
        self.n_features = spec.n_encoded
        self.simplex = False
        self.kind = "tabular"
        loc, scale = _columns.standardization(cols)
        raw_low, raw_high = _columns.encoded_bounds(cols)

        def t(a):
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.loc, self.scale = t(loc), t(scale)
        self._loc64, self._scale64 = loc, scale  # NumPy: columns drawn in NumPy
        self.low, self.high = t((raw_low - loc) / scale), t((raw_high - loc) / scale)
        self.raw_low, self.raw_high = t(raw_low), t(raw_high)
        # float64 copies: to_raw keeps raw rows inside the columns' ranges exactly
        self._raw64 = (torch.as_tensor(raw_low, device=device),
                       torch.as_tensor(raw_high, device=device))
        self.bounded = True
        at, ints, blocks, starts = 0, [], [], []
        emp, discrete = [], []
        for j, c in enumerate(cols):
            starts.append(at)
            if c.kind == "integer" or (c.kind == "empirical" and c.integer):
                ints.append(at)
            if c.kind == "empirical":
                emp.append(j)
                if c.quantiles is None and not c.integer:
                    discrete.append(j)
            elif c.kind == "categorical":
                blocks.append((at, c.width))
            at += c.width
        self._starts = starts
        self._ints = torch.as_tensor(ints, dtype=torch.long, device=device)
        self._blocks = blocks
        # the latent map: one normal score per column, the copula's Cholesky
        # factor on the coupled ones (identity elsewhere)
        names = set(spec.copula_columns)
        coupled = [j for j, c in enumerate(cols) if c.name in names]
        L = np.eye(len(cols))
        self.chol = None
        if spec.correlation is not None:
            self.chol = np.linalg.cholesky(spec.correlation)
            L[np.ix_(coupled, coupled)] = self.chol
        self._others = [j for j, c in enumerate(cols)
                        if c.kind != "empirical" and c.width]
        self._L_others = t(L[self._others])
        # empirical columns: each inverse CDF tabulated over the latent score,
        # standardized, with the grid's affine map folded into the latent map
        self._emp = emp
        self._emp_at = torch.as_tensor([starts[j] for j in emp], dtype=torch.long,
                                       device=device)
        self._emp_all = [starts[j] for j in emp] == list(range(self.n_features))
        if emp:
            x0, dx = _latent_tables([cols[j] for j in emp])
            at = [starts[j] for j in emp]
            x0 = (x0 - loc[at, None]) / scale[at, None]
            dx = dx / scale[at, None]
            self._tab_x0, self._tab_dx = t(x0), t(dx)
            self._A_emp = t(L[emp] * (_LATENT_GRID / (2 * _LATENT_WIDTH)))
        # discrete empirical columns: their values (standardized), for snapping
        self._snap = []
        for j in discrete:
            values = np.asarray([v for v, _ in cols[j].masses])
            z = (values - loc[starts[j]]) / scale[starts[j]]
            self._snap.append((starts[j], t(z), t((z[1:] + z[:-1]) / 2)))
        self.leaf_lo = self.leaf_hi = self.leaf_weight = None
        self.rows = None
        # point masses in raw units, restored exactly by to_raw (the standardized
        # round trip is off in the last bits: a "not detected" code -1 would come
        # back as -0.9999999999999999): their columns, and values padded with NaN
        held = [(starts[j], [v for v, _ in c.masses]) for j, c in enumerate(cols)
                if c.kind == "empirical" and c.masses]
        self._mass_at = None  # the columns with point masses, their masses (K, n)
        if held:
            values = np.full((max(len(v) for _, v in held), len(held)), np.nan)
            for i, (_, v) in enumerate(held):
                values[: len(v), i] = v
            at = [a for a, _ in held]
            self._mass_at = torch.as_tensor(at, dtype=torch.long, device=device)
            self._masses = torch.as_tensor(values, device=device)
            self._mass_tol = 1e-5 * torch.maximum(
                self._masses.abs(), torch.as_tensor(scale[at], device=device))

    def to_raw(self, z):
        """Encoded rows in raw units, inside the columns' ranges; integer columns
        and point masses exact (a value within 1e-5 of a column's scale of a
        point mass is that mass)."""
        x = super().to_raw(z)
        low, high = (b.to(x.dtype) for b in self._raw64)
        x = torch.minimum(torch.maximum(x, low), high)
        if self._ints.numel():
            x[:, self._ints] = torch.round(x[:, self._ints])
        if self._mass_at is not None:
            sub = x[:, self._mass_at]  # one gather of those columns
            masses, tol = self._masses.to(x.dtype), self._mass_tol.to(x.dtype)
            for m, t in zip(masses, tol):  # NaN where a column has no k-th mass
                sub = torch.where((sub - m).abs() <= t, m, sub)
            x[:, self._mass_at] = sub
        return x

    accepts_leaves = False
    # measured on the tabular bench: focused draws of DataFrame specs were further
    # from the teacher than the spec's own draws in most cells
    focus_by_default = False

    def set_leaves(self, cells):
        raise ValueError(
            "draws='leaves' is for specs of independent numeric features; this spec "
            "has column kinds (a data sheet, or integer, categorical or constant "
            "columns). Use draws='random', 'sobol' or 'lhs'."
        )

    def draw(self, n, generator, method="random"):
        """``n`` encoded, standardized rows drawn with the torch ``generator``:
        latent normals (``method``: "random", "sobol" or "lhs"; "munge" around
        the rows of :meth:`set_rows`), one per column, through the copula and
        each column's inverse CDF."""
        if method in ("munge", "mix"):
            return self._draw_munge(n, generator, method)
        k = len(self.columns)
        dev, dt = self.loc.device, self.loc.dtype
        # latent scores, one row per column (the tables are read column by
        # column), made and mapped in chunks that stay in the processor's cache
        if method != "random":
            from scipy.special import ndtri

            u = _qmc_uniforms(method, n, k, generator)
            r = torch.as_tensor(ndtri(u).T, dtype=dt).to(dev)
        out = torch.zeros(n, self.n_features, dtype=dt, device=dev)
        eps = 1e-12 if dt == torch.float64 else 1e-7
        for start in range(0, n, _DRAW_CHUNK):
            m = min(_DRAW_CHUNK, n - start)
            if method == "random":
                rc = torch.randn(k, m, generator=generator, dtype=dt).to(dev)
            else:
                rc = r[:, start : start + m]
            if self._emp:
                # grid coordinate of each latent score, then the table between
                # its two grid points
                p = torch.addmm(torch.full((1, 1), _LATENT_GRID / 2, dtype=dt,
                                           device=dev), self._A_emp, rc)
                p.clamp_(0.0, _LATENT_GRID - 1e-3)
                i = p.long()
                f = p.frac_()
                x = torch.addcmul(self._tab_x0.gather(1, i), f,
                                  self._tab_dx.gather(1, i))
                if self._emp_all:
                    out[start : start + m] = x.T
                else:
                    out[start : start + m, self._emp_at] = x.T
            if self._others:
                u = torch.special.ndtr(self._L_others @ rc).clamp_(eps, 1 - eps)
                u64 = u.double().cpu().numpy()
                for i, j in enumerate(self._others):
                    c = self.columns[j]
                    at = slice(self._starts[j], self._starts[j] + c.width)
                    part = (c.from_uniform(u64[i]) - self._loc64[at]) / self._scale64[at]
                    out[start : start + m, self._starts[j] : self._starts[j] + c.width] = (
                        torch.as_tensor(part, dtype=dt, device=dev))
        if self._ints.numel() or self._snap:
            out = self.project(out)
        return out



    def project(self, z):
        z = torch.clamp(z, self.low, self.high)  # a new tensor: changed in place
        if self._ints.numel():
            i = self._ints
            raw = torch.round(self.loc[i] + self.scale[i] * z[:, i])
            z[:, i] = (raw - self.loc[i]) / self.scale[i]
        for at, values, mids in self._snap:
            z[:, at] = values[torch.searchsorted(mids, z[:, at].contiguous())]
        if self._blocks:
            for start, width in self._blocks:
                block = z[:, start : start + width]
                hot = torch.zeros_like(block)
                hot.scatter_(1, block.argmax(dim=1, keepdim=True), 1.0)
                z[:, start : start + width] = hot
        return z

    def _munge_groups(self):
        """Per encoded coordinate: its column's index, and whether it moves by
        swapping values (levels, integers, discrete columns) rather than by the
        Gaussian spread."""
        col, swap = [], []
        for j, c in enumerate(self.columns):
            exact = c.kind in ("categorical", "integer") or (
                c.kind == "empirical" and (c.integer or c.quantiles is None))
            col += [j] * c.width
            swap += [exact] * c.width
        return col, swap


_DRAW_CHUNK = 4096
_RAW_CHUNK = 4 * _DRAW_CHUNK  # rows of InputSpec.draw converted to raw units at once
# Empirical draws read each inverse CDF from a table over the latent normal score:
# _LATENT_GRID cells on [-_LATENT_WIDTH, _LATENT_WIDTH] (scores beyond it, 4e-8 of
# the draws, take the ends). A table lookup instead of a search through the knots
# makes a million rows of 500 columns a matter of seconds; within a cell the
# inverse CDF is linear in the score, and the cells that straddle a point mass's
# edge (about 1/1000 of the draws per edge near the median, far fewer in the
# tails) give values between the mass and its neighbours.
_LATENT_GRID = 4096
_LATENT_WIDTH = 5.5


def _latent_tables(columns):
    """Each empirical column's inverse CDF at the normal CDF of the latent grid's
    points: values ``x0`` (k, G + 1) and differences ``dx`` to the next point."""
    from scipy.special import ndtr

    w = np.linspace(-_LATENT_WIDTH, _LATENT_WIDTH, _LATENT_GRID + 1)
    u = ndtr(w)
    # unrounded: integer columns are rounded after the interpolation
    x0 = np.stack([c.ppf(u) for c in columns])
    dx = np.zeros_like(x0)
    dx[:, :-1] = np.diff(x0, axis=1)
    return x0, dx


def _image_rows(X, shape=None, infer=True):
    """Image arrays ``(n, C, H, W)`` or ``(n, H, W)`` as flat rows ``(n, C*H*W)``.

    Returns the rows and the image shape found (``shape`` itself when ``X`` is not
    an image array; then ``X`` is returned as it is, for the usual validation).
    Raises when ``X`` holds images of another shape than ``shape``. With
    ``infer=False`` and no ``shape`` (a spec without images), ``X`` is left alone.
    """
    if shape is None and not infer:
        return X, shape
    if hasattr(X, "columns") or hasattr(X, "tocsr"):  # DataFrames, sparse matrices
        return X, shape
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            ndim = np.ndim(X)
        except (TypeError, ValueError):  # ragged or odd array-likes: validation decides
            return X, shape
    if ndim not in (3, 4):
        return X, shape
    X = np.asarray(X)
    found = _image_shape(X.shape[1:])
    if shape is not None and _image_shape(shape) != found:
        raise ValueError(
            f"X holds images of shape {tuple(X.shape[1:])}; expected {tuple(shape)}."
        )
    return X.reshape(X.shape[0], -1), found


DRAW_METHODS = ("random", "sobol", "lhs")  # and "leaves", for tree teachers
# MUNGE: the share of columns taken from the neighbour, and the spread's divisor
# (the values of Bucila, Caruana and Niculescu-Mizil, 2006)
MUNGE_P = 0.5
MUNGE_S = 10.0
MUNGE_MAX_ROWS = 200_000


def _qmc_uniforms(method, n, d, generator):
    """``n`` space-filling points of ``(0, 1)^d`` (NumPy float64), seeded from the
    torch ``generator`` (so they are reproducible and resumable like draws)."""
    from scipy.stats import qmc

    if method not in DRAW_METHODS:
        raise ValueError(f"draws must be one of {DRAW_METHODS}, got {method!r}.")
    seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
    if method == "sobol":
        engine = qmc.Sobol(d, scramble=True, seed=seed)
        m = max(0, int(np.ceil(np.log2(max(n, 1)))))
        u = engine.random_base2(m)[:n]  # a power of two keeps the balance
    else:
        u = qmc.LatinHypercube(d, seed=seed).random(n)
    return np.clip(u, 1e-12, 1 - 1e-12)

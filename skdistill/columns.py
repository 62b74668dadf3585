"""Column kinds of tabular input specs, and the encoding the student reads.

A tabular :class:`~skdistill.InputSpec` is a data sheet of the teacher's columns:
one :class:`Empirical`, :class:`Continuous`, :class:`Integer`, :class:`Categorical`
or :class:`Constant` per column, by name. From it skdistill

- draws columns of the right kind (integers are integers, categories are levels);
- hands the teacher a pandas DataFrame with the column names, order and dtypes it
  was trained on (:func:`decode`);
- feeds the student *encoded* rows (:func:`encode`): numbers as they are (the
  estimator standardizes them), every categorical column as one-hot indicators in
  the order of its levels, constant columns dropped.

This module needs NumPy only (pandas where DataFrames are built or read): the
compact model encodes its inputs with it, without torch.

Examples
--------
>>> from skdistill.columns import Categorical, Continuous, Integer
>>> cols = [Continuous("size", low=20, high=200), Integer("rooms", low=1, high=6),
...         Categorical("city", ["A", "B", "C"])]
>>> [c.width for c in cols]
[1, 1, 3]
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "Column",
    "Continuous",
    "Integer",
    "Categorical",
    "Constant",
    "Empirical",
    "column_from_dict",
    "encode",
    "decode",
    "encoded_names",
    "is_frame",
]


def _number(value, what, name, *, integer=False, none=True):
    if value is None:
        if none:
            return None
        raise ValueError(f"Column {name!r}: {what} is required.")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Column {name!r}: {what} must be a number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"Column {name!r}: {what} must be finite, got {value}.")
    if integer:
        if value != round(value):
            raise ValueError(f"Column {name!r}: {what} must be an integer, got {value}.")
        return int(value)
    return value


def _moments(mean, std, name):
    """A column's Gaussian moments, checked: both or neither, std not negative."""
    mean, std = _number(mean, "mean", name), _number(std, "std", name)
    if (mean is None) != (std is None):
        raise ValueError(f"Column {name!r}: give both mean and std, or neither.")
    if std is not None and std < 0:
        raise ValueError(f"Column {name!r}: std is negative ({std}).")
    return mean, std


def is_frame(X):
    """Whether ``X`` is a DataFrame (named columns with dtypes)."""
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _plain(value):
    """A level as a plain Python value (JSON-friendly, hashable, stable repr)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


class Column:
    """Base class of the column kinds. ``name`` is the column's name in the
    teacher's DataFrame; ``dtype`` the dtype the teacher receives it in."""

    kind = None
    #: number of encoded columns the student reads for this column
    width = 1

    def __init__(self, name, dtype):
        if not isinstance(name, str) or not name:
            raise ValueError(f"A column name must be a non-empty string, got {name!r}.")
        self.name = name
        self.dtype = str(dtype)

    def to_dict(self):
        """The column as a JSON-friendly dict (see :func:`column_from_dict`)."""
        out = {"name": self.name, "kind": self.kind}
        out.update({k: v for k, v in self._fields().items() if v is not None})
        return out

    def _fields(self):  # pragma: no cover - interface
        raise NotImplementedError

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_index", None)  # a pandas cache: pickles stay NumPy-only
        return state

    def __eq__(self, other):
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __hash__(self):
        return hash(repr(self))

    def __repr__(self):
        args = ", ".join(
            f"{k}={v!r}" for k, v in self._fields().items() if v is not None
        )
        return f"{type(self).__name__}({self.name!r}{', ' if args else ''}{args})"

    # -- what the spec asks of every kind ----------------------------------------
    def moments(self):
        """Location and scale of the encoded value(s), for standardization."""
        raise NotImplementedError  # pragma: no cover - interface

    def from_uniform(self, u):
        """Encoded raw values ``(n, width)`` from uniforms ``u`` of shape (n,)."""
        raise NotImplementedError  # pragma: no cover - interface


class Continuous(Column):
    """A real-valued column.

    Parameters
    ----------
    name : str
    mean, std : float, default=None
        A Gaussian ``N(mean, std^2)`` (clipped to ``low``/``high`` when given).
    low, high : float, default=None
        Range of the column. Without moments, draws are uniform on it (both ends
        then needed).
    dtype : str, default="float64"
        dtype of the column in the teacher's DataFrame.
    """

    kind = "continuous"

    def __init__(self, name, mean=None, std=None, low=None, high=None, dtype="float64"):
        super().__init__(name, dtype)
        self.mean, self.std = _moments(mean, std, name)
        self.low = _number(low, "low", name)
        self.high = _number(high, "high", name)
        if self.mean is None and (self.low is None or self.high is None):
            raise ValueError(
                f"Column {name!r}: a continuous column needs a range (low and high) "
                "or a mean and std."
            )
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(
                f"Column {name!r}: low {self.low} is above high {self.high}."
            )

    def _fields(self):
        return {"mean": self.mean, "std": self.std, "low": self.low,
                "high": self.high, "dtype": self.dtype}

    @property
    def bounds(self):
        low = -np.inf if self.low is None else self.low
        high = np.inf if self.high is None else self.high
        return low, high

    def moments(self):
        if self.mean is not None:
            return self.mean, self.std
        return (self.low + self.high) / 2.0, (self.high - self.low) / np.sqrt(12.0)

    def from_uniform(self, u):
        low, high = self.bounds
        if self.mean is None:
            x = low + (high - low) * u
        else:
            from scipy.special import ndtri

            x = np.clip(self.mean + self.std * ndtri(u), low, high)
        return x[:, None]


class Integer(Column):
    """An integer-valued column (counts, codes, years): draws are integers.

    Parameters
    ----------
    name : str
    low, high : int
        Smallest and largest value.
    mean, std : float, default=None
        A Gaussian ``N(mean, std^2)`` rounded to the nearest integer and clipped
        to the range; without them, draws are uniform on ``low, ..., high``.
    dtype : str, default="int64"
        dtype of the column in the teacher's DataFrame.
    """

    kind = "integer"

    def __init__(self, name, low, high, mean=None, std=None, dtype="int64"):
        super().__init__(name, dtype)
        self.low = _number(low, "low", name, integer=True, none=False)
        self.high = _number(high, "high", name, integer=True, none=False)
        self.mean, self.std = _moments(mean, std, name)
        if self.low > self.high:
            raise ValueError(
                f"Column {name!r}: low {self.low} is above high {self.high}."
            )

    def _fields(self):
        return {"low": self.low, "high": self.high, "mean": self.mean,
                "std": self.std, "dtype": self.dtype}

    @property
    def bounds(self):
        return float(self.low), float(self.high)

    def moments(self):
        if self.mean is not None:
            return self.mean, self.std
        n = self.high - self.low + 1.0
        return (self.low + self.high) / 2.0, np.sqrt((n * n - 1.0) / 12.0)

    def from_uniform(self, u):
        if self.mean is None:
            n = self.high - self.low + 1
            x = self.low + np.minimum(np.floor(u * n), n - 1)
        else:
            from scipy.special import ndtri

            x = np.rint(self.mean + self.std * ndtri(u))
        return np.clip(x, self.low, self.high)[:, None]


class Categorical(Column):
    """A column of levels (strings, numbers, bools or pandas categories).

    The student reads it as one indicator per level (one-hot, in the order of
    ``levels``); the teacher receives the levels themselves.

    Parameters
    ----------
    name : str
    levels : sequence
        The values the column takes, distinct.
    frequencies : sequence of float, default=None
        How often each level is drawn (normalized to sum to 1); uniform if omitted.
    dtype : str, default=None
        dtype of the column in the teacher's DataFrame: ``"category"`` for a pandas
        categorical (with ``levels`` as its categories), ``"object"``, ``"str"``,
        ``"bool"``, ``"int64"``, ... By default ``"bool"`` for bool levels, the
        NumPy dtype of numeric levels, and ``"object"`` for strings.
    ordered : bool, default=False
        For ``dtype="category"``: whether the pandas categorical is ordered.
    handle_unknown : {"error", "ignore"}, default="error"
        A value outside ``levels`` at ``predict``: an error naming the column, or
        (``"ignore"``) all indicators zero, as ``OneHotEncoder`` does.
    """

    kind = "categorical"

    def __init__(self, name, levels, frequencies=None, dtype=None, ordered=False,
                 handle_unknown="error"):
        if isinstance(levels, (str, bytes)) or not hasattr(levels, "__len__"):
            raise ValueError(
                f"Column {name!r}: levels must be a sequence of values, got {levels!r}."
            )
        levels = [_plain(v) for v in levels]
        if not levels:
            raise ValueError(f"Column {name!r}: a categorical column needs levels.")
        for v in levels:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                raise ValueError(f"Column {name!r}: a level cannot be missing ({v!r}).")
        if len(set(levels)) != len(levels):
            seen, dup = set(), None
            for v in levels:
                if v in seen:
                    dup = v
                    break
                seen.add(v)
            raise ValueError(f"Column {name!r}: level {dup!r} is given twice.")
        if dtype is None:
            if all(isinstance(v, bool) for v in levels):
                dtype = "bool"
            elif all(isinstance(v, numbers.Number) for v in levels):
                dtype = str(np.asarray(levels).dtype)
            else:
                dtype = "object"
        super().__init__(name, dtype)
        self.levels = levels
        if frequencies is not None:
            freq = np.asarray(frequencies, dtype=np.float64).reshape(-1)
            if freq.size != len(levels):
                raise ValueError(
                    f"Column {name!r}: {freq.size} frequencies for {len(levels)} levels."
                )
            if not (np.isfinite(freq).all() and (freq >= 0).all() and freq.sum() > 0):
                raise ValueError(
                    f"Column {name!r}: frequencies must be non-negative, finite and "
                    f"not all zero; got {list(freq)}."
                )
            frequencies = [float(f) for f in freq / freq.sum()]
        self.frequencies = frequencies
        self.ordered = bool(ordered)
        if handle_unknown not in ("error", "ignore"):
            raise ValueError(
                f"Column {name!r}: handle_unknown must be 'error' or 'ignore', got "
                f"{handle_unknown!r}."
            )
        self.handle_unknown = handle_unknown

    @property
    def width(self):
        return len(self.levels)

    def _fields(self):
        return {"levels": list(self.levels), "frequencies": self.frequencies,
                "dtype": self.dtype, "ordered": self.ordered or None,
                "handle_unknown": None if self.handle_unknown == "error"
                else self.handle_unknown}

    def moments(self):
        return np.zeros(self.width), np.ones(self.width)

    def from_uniform(self, u):
        k = len(self.levels)
        if self.frequencies is None:
            codes = np.minimum(np.floor(u * k), k - 1).astype(np.intp)
        else:
            cum = np.cumsum(self.frequencies)
            codes = np.minimum(np.searchsorted(cum, u, side="right"), k - 1)
        out = np.zeros((u.shape[0], k))
        out[np.arange(u.shape[0]), codes] = 1.0
        return out

    def codes(self, values):
        """Level index of every value: -1 for values outside the levels, -2 for
        missing ones (``None``/NaN)."""
        values = np.asarray(values, dtype=object).reshape(-1)
        lookup = {v: i for i, v in enumerate(self.levels)}
        out = np.empty(values.shape[0], dtype=np.intp)
        for i, v in enumerate(values):
            code = lookup.get(_plain(v), -1)
            if code < 0 and (v is None or (isinstance(v, float) and np.isnan(v))):
                code = -2
            out[i] = code
        return out


class Constant(Column):
    """A column holding one value: the teacher receives it, the student does not.

    Parameters
    ----------
    name : str
    value : object
    dtype : str, default=None
        dtype in the teacher's DataFrame (by default that of ``value``).
    """

    kind = "constant"
    width = 0

    def __init__(self, name, value, dtype=None):
        value = _plain(value)
        if dtype is None:
            dtype = "object" if isinstance(value, str) else str(np.asarray(value).dtype)
        super().__init__(name, dtype)
        self.value = value

    def _fields(self):
        return {"value": self.value, "dtype": self.dtype}

    def moments(self):
        return np.zeros(0), np.ones(0)

    def from_uniform(self, u):
        return np.zeros((u.shape[0], 0))


class Empirical(Column):
    """A numeric column described by its data: quantiles and point masses.

    The marginal of an unlabeled sample as :meth:`InputSpec.from_data
    <skdistill.InputSpec.from_data>` finds it, without keeping a row: values that
    carry at least ``mass_threshold`` of the rows (a "not detected" code, zeros,
    the levels of a low-cardinality column) are *point masses*, drawn with their
    share exactly; the other rows are summarized by ``n_quantiles`` quantiles of
    their own, between which draws are interpolated (linearly, or by a monotone
    PCHIP curve). Draws are the inverse CDF of this mixture, so a Gaussian copula
    on top of it keeps every column's marginal as it is.

    Parameters
    ----------
    name : str
    quantiles : sequence of float, default=None
        Quantiles of the continuous part at evenly spaced levels ``0, ...,
        1`` (its minimum first, its maximum last), non-decreasing; at least two.
        None: the column is discrete (point masses only).
    masses : sequence of (value, share) pairs, default=None
        Point masses: a value and the share of rows that hold it (shares in
        ``(0, 1]``, summing to at most 1; the continuous part has the rest).
    interpolation : {"linear", "pchip"}, default="linear"
        Between quantiles: straight lines (the empirical CDF smoothed), or the
        monotone cubic PCHIP through them (evaluated on a grid eight times
        finer).
    integer : bool, default=False
        Round draws to integers (counts, codes, years).
    dtype : str, default=None
        dtype of the column in the teacher's DataFrame (``"int64"`` for integer
        columns, else ``"float64"``, by default).

    Examples
    --------
    >>> from skdistill.columns import Empirical
    >>> c = Empirical("dose", quantiles=[1.0, 2.0, 5.0], masses=[(0.0, 0.4)])
    >>> c.bounds
    (0.0, 5.0)
    >>> import numpy as np
    >>> x = c.from_uniform(np.array([0.1, 0.39, 0.7, 0.99]))[:, 0]
    >>> [round(float(v), 2) for v in x]
    [0.0, 0.0, 2.0, 4.9]
    """

    kind = "empirical"

    def __init__(self, name, quantiles=None, masses=None, interpolation="linear",
                 integer=False, dtype=None):
        integer = bool(integer)
        super().__init__(name, dtype or ("int64" if integer else "float64"))
        self.integer = integer
        if interpolation not in ("linear", "pchip"):
            raise ValueError(
                f"Column {name!r}: interpolation must be 'linear' or 'pchip', got "
                f"{interpolation!r}."
            )
        self.interpolation = interpolation
        if quantiles is not None:
            try:
                q = np.asarray(quantiles, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Column {name!r}: quantiles must be numbers, got {quantiles!r}."
                ) from None
            if q.size < 2 or not np.isfinite(q).all() or (np.diff(q) < 0).any():
                raise ValueError(
                    f"Column {name!r}: quantiles must be at least two finite numbers "
                    "in non-decreasing order."
                )
            quantiles = [float(v) for v in q]
        pairs = []
        for pair in masses or ():
            try:
                value, share = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"Column {name!r}: masses must be (value, share) pairs, got "
                    f"{pair!r}."
                ) from None
            value = _number(value, "a point mass's value", name, none=False)
            share = _number(share, "a point mass's share", name, none=False)
            if not 0 < share <= 1:
                raise ValueError(
                    f"Column {name!r}: the share of point mass {value} must be in "
                    f"(0, 1], got {share}."
                )
            pairs.append((value, share))
        values = [v for v, _ in pairs]
        if len(set(values)) != len(values):
            raise ValueError(f"Column {name!r}: a point mass is given twice.")
        total = sum(p for _, p in pairs)
        if quantiles is None:
            if not pairs:
                raise ValueError(
                    f"Column {name!r}: an empirical column needs quantiles, point "
                    "masses or both."
                )
            # discrete: the shares are the distribution (normalized)
            pairs = [(v, p / total) for v, p in pairs]
        elif total > 1 + 1e-9:
            raise ValueError(
                f"Column {name!r}: point masses sum to {total:g}; at most 1 with "
                "quantiles (the continuous part has the rest)."
            )
        elif total >= 1 - 1e-12:
            raise ValueError(
                f"Column {name!r}: point masses take every row; leave quantiles out."
            )
        self.quantiles = quantiles
        self.masses = sorted(pairs) or None
        self._knots_cache = None

    @classmethod
    def from_values(cls, name, values, n_quantiles=101, mass_threshold=0.01,
                    interpolation="linear", integer=None, dtype=None):
        """The column of a sample ``values`` (1-D, finite): values holding at
        least ``mass_threshold`` of the rows become point masses, the rest
        ``n_quantiles`` quantiles; ``integer`` (None: whether every value is an
        integer) rounds draws."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size == 0 or not np.isfinite(v).all():
            raise ValueError(f"Column {name!r}: needs finite values, at least one.")
        if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, numbers.Integral) \
                or n_quantiles < 2:
            raise ValueError(f"n_quantiles must be an integer >= 2, got {n_quantiles!r}.")
        if not 0 <= mass_threshold <= 1:
            raise ValueError(
                f"mass_threshold must be in [0, 1], got {mass_threshold!r}."
            )
        if integer is None:
            integer = bool(np.array_equal(v, np.rint(v)))
        uniq, counts = np.unique(v, return_counts=True)
        share = counts / v.size
        heavy = share >= mass_threshold if mass_threshold > 0 else np.zeros_like(share, bool)
        rest = ~heavy
        # a continuous part needs two distinct values; else every value is a mass
        if rest.sum() < 2:
            heavy[:] = True
            rest[:] = False
        masses = [(float(a), float(p)) for a, p in zip(uniq[heavy], share[heavy])]
        quantiles = None
        if rest.any():
            keep = v[np.isin(v, uniq[heavy], invert=True)]
            quantiles = np.quantile(keep, np.linspace(0.0, 1.0, n_quantiles))
        return cls(name, quantiles=quantiles, masses=masses or None,
                   interpolation=interpolation, integer=integer, dtype=dtype)

    def _fields(self):
        return {"quantiles": self.quantiles,
                "masses": None if self.masses is None
                else [list(m) for m in self.masses],
                "interpolation": None if self.interpolation == "linear"
                else self.interpolation,
                "integer": self.integer or None, "dtype": self.dtype}

    def __getstate__(self):
        state = super().__getstate__()
        state["_knots_cache"] = None
        return state

    def describe(self):
        """A few words on the marginal, for messages and reprs."""
        parts = []
        if self.quantiles is not None:
            parts.append(f"{len(self.quantiles)} quantiles")
        if self.masses:
            share = sum(p for _, p in self.masses)
            parts.append(f"{len(self.masses)} point mass"
                         f"{'es' if len(self.masses) > 1 else ''} ({share:.0%})")
        return ", ".join(parts) + (", integer" if self.integer else "")

    def knots(self):
        """The inverse CDF as knots ``(u, x)`` (float64, ``u`` from 0 to 1,
        non-decreasing): linear between them, flat over each point mass."""
        if self._knots_cache is not None:
            return self._knots_cache
        masses = self.masses or []
        if self.quantiles is None:
            us, xs, at = [], [], 0.0
            for value, share in masses:
                us += [at, at + share]
                xs += [value, value]
                at += share
            u, x = np.asarray(us), np.asarray(xs)
        else:
            q = np.asarray(self.quantiles)
            s = np.linspace(0.0, 1.0, q.size)
            if self.interpolation == "pchip" and q[-1] > q[0]:
                from scipy.interpolate import PchipInterpolator

                fine = np.linspace(0.0, 1.0, 8 * (q.size - 1) + 1)
                q = np.maximum.accumulate(PchipInterpolator(s, q)(fine))
                s = fine
            rest = 1.0 - sum(p for _, p in masses)
            mv = np.asarray([m for m, _ in masses], dtype=np.float64)
            mp = np.asarray([p for _, p in masses], dtype=np.float64)

            def below(x):  # mass strictly below each of x
                return (mp[None, :] * (mv[None, :] < np.asarray(x)[:, None])).sum(1)

            u_q = rest * s + below(q)
            # each mass: the continuous CDF at its value, then its share on top
            g = np.interp(mv, q, s, left=0.0, right=1.0) if mv.size else mv
            u_lo = rest * g + below(mv)
            u = np.concatenate([u_q, u_lo, u_lo + mp])
            x = np.concatenate([q, mv, mv])
            order = np.lexsort((x, u))
            u, x = u[order], x[order]
        u = np.clip(u, 0.0, 1.0)
        u[0], u[-1] = 0.0, 1.0
        self._knots_cache = (u, x)
        return u, x

    @property
    def bounds(self):
        _, x = self.knots()
        return float(x[0]), float(x[-1])

    def moments(self):
        u, x = self.knots()
        du = np.diff(u)
        mean = float((du * (x[1:] + x[:-1]) / 2).sum())
        second = float((du * (x[1:] ** 2 + x[1:] * x[:-1] + x[:-1] ** 2) / 3).sum())
        return mean, float(np.sqrt(max(second - mean * mean, 0.0)))

    def ppf(self, u):
        """The inverse CDF at uniforms ``u`` (1-D), before integers are rounded:
        linear between :meth:`knots`, flat over each point mass."""
        uk, xk = self.knots()
        i = np.clip(np.searchsorted(uk, u, side="right"), 1, uk.size - 1)
        u0, u1 = uk[i - 1], uk[i]
        w = np.clip((u - u0) / np.maximum(u1 - u0, 1e-300), 0.0, 1.0)
        return xk[i - 1] + w * (xk[i] - xk[i - 1])

    def from_uniform(self, u):
        x = self.ppf(u)
        return (np.rint(x) if self.integer else x)[:, None]


_KINDS = {cls.kind: cls for cls in (Continuous, Integer, Categorical, Constant, Empirical)}


def column_from_dict(d):
    """A column from :meth:`Column.to_dict`'s form ``{"name", "kind", ...}``."""
    if isinstance(d, Column):
        return d
    if not isinstance(d, dict) or "name" not in d or "kind" not in d:
        raise ValueError(
            "A column must be a Column (Continuous, Integer, Categorical, Constant) or "
            f"a dict with 'name' and 'kind'; got {d!r}."
        )
    fields = dict(d)
    kind = fields.pop("kind")
    if kind not in _KINDS:
        raise ValueError(
            f"Column {fields['name']!r}: kind must be one of {sorted(_KINDS)}, got "
            f"{kind!r}."
        )
    try:
        return _KINDS[kind](**fields)
    except TypeError as exc:
        raise ValueError(f"Column {fields['name']!r} ({kind}): {exc}.") from None


def check_columns(columns):
    """``columns`` as a tuple of :class:`Column`, names distinct."""
    if isinstance(columns, dict):
        raise ValueError(
            "columns must be a list of columns (Continuous, Integer, Categorical, "
            "Constant or dicts); got a dict. Give the columns in the teacher's order."
        )
    try:
        cols = tuple(column_from_dict(c) for c in columns)
    except TypeError:
        raise ValueError(f"columns must be a list of columns, got {columns!r}.") from None
    if not cols:
        raise ValueError("columns must hold at least one column.")
    names = [c.name for c in cols]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"Column names must be distinct; given twice: {dup}.")
    return cols


NUMERIC_KINDS = ("continuous", "integer", "empirical")


def _numeric(columns):
    return [c for c in columns if c.kind in NUMERIC_KINDS]


def numeric_names(columns):
    """Names of the continuous, integer and empirical columns."""
    return [c.name for c in _numeric(columns)]


def copula_names(columns):
    """Names of the columns a Gaussian copula couples: every column but the
    constant ones (categorical columns through the order of their levels)."""
    return [c.name for c in columns if c.kind != "constant"]


def copula_values(columns, values):
    """The 2-D array :func:`score_correlation` reads: one column per column of
    :func:`copula_names`, numbers as they are and levels as their index (the
    order in which the copula's latent score runs through them)."""
    out = []
    for c, v in zip(columns, values):
        if c.kind == "constant":
            continue
        if c.kind == "categorical":
            out.append(_level_codes(c, v).astype(np.float64))
        else:
            out.append(np.asarray(v, dtype=np.float64))
    return np.column_stack(out) if out else np.zeros((0, 0))


def check_correlation(correlation, names):
    """``correlation`` as a float64 correlation matrix, one row per name of
    ``names`` (checked: shape, symmetry, unit diagonal, positive definite), or
    None."""
    if correlation is None:
        return None
    try:
        R = np.array(correlation, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"correlation must be a matrix of numbers: {exc}.") from None
    k = len(names)
    if R.shape != (k, k):
        raise ValueError(
            f"correlation must be {k} x {k}, one row per column {names}; got "
            f"shape {R.shape}."
        )
    if not np.isfinite(R).all() or not np.allclose(R, R.T, atol=1e-10):
        raise ValueError("correlation must be a finite symmetric matrix.")
    if not np.allclose(np.diag(R), 1.0, atol=1e-10):
        raise ValueError("correlation must have ones on its diagonal.")
    try:
        np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        raise ValueError(
            "correlation must be positive definite (no column an exact combination "
            "of the others)."
        ) from None
    return R


def score_correlation(values):
    """Correlation of the normal scores of the columns of the 2-D array
    ``values`` (ranks mapped through the inverse normal CDF), shrunk slightly
    towards the identity so that it is positive definite; None without columns."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=np.float64)
    n, k = values.shape
    if k == 0:
        return None
    if k == 1 or n < 3:
        return np.eye(k)
    scores = ndtri((rankdata(values, axis=0) - 0.5) / n)
    R = np.corrcoef(scores, rowvar=False)
    R[~np.isfinite(R)] = 0.0
    np.fill_diagonal(R, 1.0)
    return 0.99 * R + 0.01 * np.eye(k)


def encoded_names(columns):
    """Names of the encoded columns the student reads (``city=A`` for levels)."""
    out = []
    for c in columns:
        if c.kind == "categorical":
            out += [f"{c.name}={v}" for v in c.levels]
        elif c.width:
            out.append(c.name)
    return out


def standardization(columns):
    """Location and scale of every encoded column (numbers: their moments; level
    indicators: 0 and 1), zero scales replaced by 1."""
    loc, scale = [], []
    for c in columns:
        m, s = c.moments()
        loc.append(np.atleast_1d(np.asarray(m, dtype=np.float64)))
        scale.append(np.atleast_1d(np.asarray(s, dtype=np.float64)))
    loc, scale = np.concatenate(loc), np.concatenate(scale)
    scale[~(scale > 0)] = 1.0
    return loc, scale


def encoded_bounds(columns):
    """Raw bounds of every encoded column (indicators: [0, 1])."""
    low, high = [], []
    for c in columns:
        if c.kind in NUMERIC_KINDS:
            lo, hi = c.bounds
            low.append(lo)
            high.append(hi)
        elif c.kind == "categorical":
            low += [0.0] * c.width
            high += [1.0] * c.width
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def from_uniforms(columns, u):
    """Encoded raw rows ``(n, width)`` from uniforms ``u`` of shape (n, n_columns):
    one uniform per column, mapped by its kind (inverse CDF for Gaussians)."""
    parts = [c.from_uniform(u[:, j]) for j, c in enumerate(columns)]
    return np.concatenate(parts, axis=1) if parts else np.zeros((u.shape[0], 0))


def name_differences(expected, given, missing_as="missing", extra_as="unexpected"):
    """How the names ``given`` differ from ``expected``: ``""`` when they hold the
    same names, else e.g. ``"missing ['a']; unexpected ['b']"`` (each list in its
    own order), for messages naming the columns."""
    missing = [n for n in expected if n not in given]
    extra = [g for g in given if g not in expected]
    parts = [f"{missing_as} {missing}"] * bool(missing)
    parts += [f"{extra_as} {extra}"] * bool(extra)
    return "; ".join(parts)


def _values(X, columns, where):
    """One array per column from a DataFrame (by name) or a 2-D array (by position)."""
    if is_frame(X):
        given = [str(c) for c in X.columns]
        names = [c.name for c in columns]
        differences = name_differences(names, given)
        if differences:
            raise ValueError(
                f"{where} does not have the columns of the input spec: "
                f"{differences}. Expected {names}."
            )
        lookup = {str(c): c for c in X.columns}
        return [X[lookup[n]] for n in names], X.shape[0]
    if hasattr(X, "tocsr"):
        raise ValueError(f"{where} must be a DataFrame or a dense 2-D array, not sparse.")
    arr = np.asarray(X, dtype=object) if not isinstance(X, np.ndarray) else X
    if arr.ndim != 2:
        raise ValueError(
            f"{where} must be a DataFrame or a 2-D array of shape (n_samples, "
            f"{len(columns)}); got an array of shape {arr.shape}."
        )
    if arr.shape[1] != len(columns):
        raise ValueError(
            f"{where} has {arr.shape[1]} columns; the input spec has {len(columns)}: "
            f"{[c.name for c in columns]}."
        )
    return [arr[:, j] for j in range(arr.shape[1])], arr.shape[0]


def _level_codes(column, values):
    """Level index of each value (-1 outside the levels, -2 missing), fast through
    pandas when it is there."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is there whenever a frame is
        return column.codes(values)
    index = getattr(column, "_index", None)
    if index is None:  # the levels as a pandas Index, made once per column
        index = column._index = pd.Index(column.levels)
    if not hasattr(values, "dtype"):
        values = np.asarray(values, dtype=object)
    try:
        codes = index.get_indexer(values).astype(np.intp)
    except (TypeError, ValueError):  # pragma: no cover - unhashable values
        return column.codes(values)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        missing = np.asarray(pd.isna(np.asarray(values, dtype=object)[bad]), dtype=bool)
        codes[bad[missing]] = -2
    return codes


def encode(columns, X, where="X"):
    """Encoded rows ``(n, width)`` the student reads, from a DataFrame (columns
    matched by name, in any order) or a 2-D array in the spec's column order.

    Raises a ValueError naming the column for a missing or unexpected column, a
    missing value (NaN), a non-number in a numeric column, or a level outside a
    categorical column's levels (unless its ``handle_unknown="ignore"``).
    """
    values, n = _values(X, columns, where)
    width = sum(c.width for c in columns)
    out = np.zeros((n, width))
    at = 0
    for c, v in zip(columns, values):
        if c.kind in NUMERIC_KINDS:
            try:
                num = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                kind = c.kind if c.kind != "empirical" else (
                    "integer" if c.integer else "numeric")
                raise ValueError(
                    f"Column {c.name!r} of {where} is {kind} but holds values that "
                    f"are not numbers, e.g. {_first_bad_number(v)!r}."
                ) from None
            bad = ~np.isfinite(num)
            if bad.any():
                raise ValueError(
                    f"Column {c.name!r} of {where} has {int(bad.sum())} missing or "
                    "infinite values (NaN/inf); fill them first."
                )
            out[:, at] = num
        elif c.kind == "categorical":
            codes = _level_codes(c, v)
            if (codes == -2).any():
                raise ValueError(
                    f"Column {c.name!r} of {where} has {int((codes == -2).sum())} "
                    "missing values (None/NaN); fill them first."
                )
            unknown = codes == -1
            if unknown.any() and c.handle_unknown == "error":
                seen = list(dict.fromkeys(_plain(x) for x in np.asarray(v)[unknown]))
                raise ValueError(
                    f"Column {c.name!r} of {where} has values outside its levels: "
                    f"{seen[:5]}{' ...' if len(seen) > 5 else ''}. Levels: "
                    f"{c.levels}. Add them to the spec, or set the column's "
                    "handle_unknown='ignore' (all indicators zero)."
                )
            rows = np.flatnonzero(~unknown)
            out[rows, at + codes[rows]] = 1.0
        at += c.width
    return out


def _first_bad_number(values):
    for v in np.asarray(values, dtype=object).reshape(-1):
        try:
            float(v)
        except (TypeError, ValueError):
            return v
    return None  # pragma: no cover - only called when a conversion failed


def decode(columns, R, order=None):
    """The teacher's DataFrame from encoded raw rows ``R`` (n, width): numbers in
    their dtype (integers rounded), the largest indicator of each categorical
    column as its level, constants filled in. ``order``: column names in the order
    the teacher was fitted with (default: the spec's)."""
    import pandas as pd

    R = np.asarray(R, dtype=np.float64)
    n = R.shape[0]
    data, at = {}, 0
    for c in columns:
        if c.kind == "continuous":
            data[c.name] = pd.Series(R[:, at], dtype=c.dtype)
        elif c.kind == "integer" or (c.kind == "empirical" and c.integer):
            v = np.clip(np.rint(R[:, at]), *c.bounds)
            data[c.name] = pd.Series(v.astype(np.int64), dtype=c.dtype)
        elif c.kind == "empirical":
            data[c.name] = pd.Series(R[:, at], dtype=c.dtype)
        elif c.kind == "categorical":
            codes = np.argmax(R[:, at : at + c.width], axis=1)
            data[c.name] = _level_series(c, codes, pd)
        else:
            data[c.name] = pd.Series([c.value] * n, dtype=c.dtype)
        at += c.width
    frame = pd.DataFrame(data)
    if order is not None and list(order) != list(frame.columns):
        frame = frame[list(order)]
    return frame


def _level_series(column, codes, pd):
    if column.dtype == "category":
        return pd.Series(
            pd.Categorical.from_codes(codes, categories=column.levels,
                                      ordered=column.ordered)
        )
    levels = np.empty(len(column.levels), dtype=object)
    levels[:] = column.levels
    return pd.Series(levels[codes], dtype=column.dtype)


def infer_columns(frame, kinds=None, marginals="empirical", n_quantiles=101,
                  mass_threshold=0.01, interpolation="linear"):
    """Columns of a DataFrame, by the documented rules (see
    :meth:`InputSpec.from_data <skdistill.InputSpec.from_data>`): bool, category,
    object and string dtypes -> :class:`Categorical` (observed frequencies);
    other numbers -> :class:`Empirical` (quantiles and point masses, integers
    rounded for integer dtypes), or with ``marginals="gaussian"``
    :class:`Integer` and :class:`Continuous` (moments, clipped to the range);
    one value only -> :class:`Constant`. ``kinds`` maps a column name to a kind
    name (``"empirical"``, ``"continuous"``, ``"integer"``, ``"categorical"``,
    ``"constant"``) or to a :class:`Column` to use as it is."""
    import pandas as pd

    kinds = dict(kinds or {})
    names = [str(c) for c in frame.columns]
    unknown = [k for k in kinds if k not in names]
    if unknown:
        raise ValueError(f"kinds names columns the data does not have: {unknown}.")
    if len(set(names)) != len(names):
        raise ValueError("The DataFrame has duplicate column names.")
    cols = []
    for key, name in zip(frame.columns, names):
        s = frame[key]
        given = kinds.get(name)
        if isinstance(given, Column):
            cols.append(given)
            continue
        if given is not None and given not in _KINDS:
            raise ValueError(
                f"kinds[{name!r}] must be one of {sorted(_KINDS)} or a Column, got "
                f"{given!r}."
            )
        if s.isna().any():
            raise ValueError(
                f"Column {name!r} has {int(s.isna().sum())} missing values; an input "
                "spec needs complete data (fill them, or describe the column by hand)."
            )
        dtype = s.dtype
        is_cat = isinstance(dtype, pd.CategoricalDtype)
        numeric = pd.api.types.is_numeric_dtype(dtype) and not (
            pd.api.types.is_bool_dtype(dtype) or is_cat
        )
        kind = given
        if kind is None:
            if s.nunique() == 1:
                kind = "constant"
            elif not numeric:
                kind = "categorical"
            elif marginals == "empirical":
                kind = "empirical"
            elif pd.api.types.is_integer_dtype(dtype):
                kind = "integer"
            else:
                kind = "continuous"
        cols.append(_column_of(name, s, kind, is_cat, numeric, pd,
                               (n_quantiles, mass_threshold, interpolation)))
    return cols


def _column_of(name, s, kind, is_cat, numeric, pd, empirical=(101, 0.01, "linear")):
    dtype = str(s.dtype)
    if kind == "constant":
        return Constant(name, s.iloc[0], dtype=dtype)
    if kind == "categorical":
        if is_cat:
            levels = list(s.cat.categories)
            counts = s.value_counts(sort=False).reindex(levels, fill_value=0)
            return Categorical(name, levels, frequencies=counts.to_numpy(),
                               dtype="category", ordered=bool(s.cat.ordered))
        counts = s.value_counts(sort=False)
        try:
            counts = counts.sort_index()
        except TypeError:  # levels of mixed types: first-seen order
            pass
        return Categorical(name, list(counts.index), frequencies=counts.to_numpy(),
                           dtype=dtype)
    if not numeric:
        raise ValueError(
            f"Column {name!r} has dtype {dtype} and cannot be {kind}; use "
            "'categorical'."
        )
    v = s.to_numpy(dtype=np.float64)
    if kind == "empirical":
        n_quantiles, mass_threshold, interpolation = empirical
        integer = bool(pd.api.types.is_integer_dtype(s.dtype))
        return Empirical.from_values(
            name, v, n_quantiles=n_quantiles, mass_threshold=mass_threshold,
            interpolation=interpolation, integer=integer,
            dtype=dtype if integer or pd.api.types.is_float_dtype(s.dtype)
            else "float64",
        )
    if kind == "integer":
        if not np.array_equal(v, np.rint(v)):
            raise ValueError(f"Column {name!r} holds non-integers; it cannot be integer.")
        int_dtype = dtype if pd.api.types.is_integer_dtype(s.dtype) else "int64"
        return Integer(name, low=v.min(), high=v.max(), mean=v.mean(), std=v.std(),
                       dtype=int_dtype)
    float_dtype = dtype if pd.api.types.is_float_dtype(s.dtype) else "float64"
    return Continuous(name, mean=v.mean(), std=v.std(), low=v.min(), high=v.max(),
                      dtype=float_dtype)

"""Know before you ship: how far a distilled student is from its teacher, found
without real data.

:func:`report` asks the teacher again, within its own budget of rows, and
returns a :class:`FidelityReport`: the fidelity on fresh draws of the fitted
input spec (and on real rows when given), the inputs inside the spec where the
student departs most from the teacher (a worst-case search started from the
worst draws: gradient ascent through student and teacher when the teacher is
differentiable, an evolution strategy on the teacher's answers otherwise; within
4 standardized units of the centre on unbounded sides), and
the disagreement along each feature. It never refits anything.

A function rather than an estimator method: it spends teacher rows, which
``predict`` and ``score`` never do, and it reads only fitted attributes, so it
works on any fitted :class:`~skdistill.DataFreeDistillRegressor` that still
holds its teacher (a compact model has none).
"""

from __future__ import annotations

import json
import math

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import columns as _columns
from .inputs import StandardizedSpace

__all__ = ["FidelityReport", "report"]

_N_STARTS = 32  # rows the worst-case search starts from (the worst draws)
_SIGMA = 0.3  # first step of the black-box search, in standardized units
_GRAD_LR = 0.05  # Adam step of the gradient search, standardized units
_SPAN = 4.0  # the search stays within this many standardized units of the centre


def report(est, X=None, *, n_draws=5000, max_teacher_queries=10_000, n_worst=10,
           n_bins=10, random_state=None):
    """Measure a fitted student against its teacher, without real data.

    Parameters
    ----------
    est : DataFreeDistillRegressor
        Fitted, with its teacher (``est.teacher_``).
    X : array-like or DataFrame, default=None
        Real rows: their fidelity is reported too (each row costs one teacher
        row).
    n_draws : int, default=5000
        Fresh draws of ``est.input_spec_`` for the fidelity, the profile and the
        starts of the worst-case search (at most half the rows left after
        ``X``).
    max_teacher_queries : int, default=10000
        Teacher rows the report may spend, ``X`` included; the search spends
        what the draws leave.
    n_worst : int, default=10
        Worst cases returned.
    n_bins : int, default=10
        Quantile bins per numeric feature in the profile.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    FidelityReport
    """
    check_is_fitted(est)
    teacher = getattr(est, "teacher_", None)
    if teacher is None:
        raise ValueError("report asks the teacher: the estimator has no teacher_.")
    teacher = teacher.fresh_copy()
    spec = est.input_spec_
    R_real = _encoded_rows(spec, X) if X is not None else None
    n_real = 0 if R_real is None else len(R_real)
    left = int(max_teacher_queries) - n_real
    if left < 4:
        raise ValueError(
            f"max_teacher_queries={max_teacher_queries} leaves {max(left, 0)} rows "
            f"after the {n_real} rows of X; give at least {n_real + 4}.")
    n = max(2, min(int(n_draws), left // 2))
    gen = torch.Generator().manual_seed(
        int(check_random_state(random_state).randint(np.iinfo(np.int32).max)))
    space = StandardizedSpace(spec, dtype=torch.float64)
    z = space.draw(n, gen)
    R = space.to_raw(z).numpy()
    t, s = _answers(teacher, R), _student(est, R)
    scale = np.maximum(t.std(axis=0), 1e-12)
    rows = None
    if R_real is not None:
        rows = _metrics(_answers(teacher, R_real), _student(est, R_real))
    worst = _search(est, teacher, space, z, t, s, scale, n + n_real,
                    int(max_teacher_queries), gen)
    order = np.argsort(-worst["score"])[: int(n_worst)]
    cases = {k: v[order] for k, v in worst.items()}
    return FidelityReport(
        draws=_metrics(t, s), rows=rows, worst=_cases(spec, cases),
        profile=_profile(spec, R, t - s, scale, int(n_bins)),
        n_teacher_queries=int(teacher.n_queries), n_draws=n,
        max_draw_abs=float(np.abs(t - s).max()))


class FidelityReport:
    """What :func:`report` found.

    Attributes
    ----------
    draws : dict
        Fidelity on the fresh draws of the spec: ``rmse``, ``mae``, ``r2``,
        ``p50``, ``p90``, ``p99`` and ``max`` of ``|student - teacher|``, each a
        list with one value per output.
    rows : dict or None
        The same on the real rows given to :func:`report`.
    worst : dict
        The worst cases found: ``X`` (a DataFrame for specs of columns, else an
        array), ``teacher``, ``student`` and ``abs_diff`` (largest first).
    profile : list of dict
        Per feature: ``feature``, ``bins`` (``(low, high)`` ranges, or levels)
        and, per bin, ``rmse`` (of the difference, in units of the teacher's
        spread on the draws, outputs pooled) and ``count``.
    n_teacher_queries : int
        Teacher rows the report spent.
    """

    def __init__(self, draws, rows, worst, profile, n_teacher_queries, n_draws,
                 max_draw_abs):
        self.draws, self.rows, self.worst = draws, rows, worst
        self.profile = profile
        self.n_teacher_queries, self.n_draws = n_teacher_queries, n_draws
        self.max_draw_abs = max_draw_abs

    @property
    def max_abs(self):
        """The largest ``|student - teacher|`` found (any output)."""
        return float(np.max(self.worst["abs_diff"])) if len(self.worst["abs_diff"]) \
            else self.max_draw_abs

    def check(self, max_rmse=None, max_abs=None, min_r2=None):
        """Raise a ValueError naming every bound the report breaks (RMSE and
        R^2 on the real rows when given, else on the draws; ``max_abs`` against
        the worst case found); return self when all hold."""
        where = "real rows" if self.rows is not None else "spec draws"
        m = self.rows if self.rows is not None else self.draws
        failed = []
        if max_rmse is not None and max(m["rmse"]) > max_rmse:
            failed.append(f"RMSE on the {where} {max(m['rmse']):.4g} > {max_rmse}")
        if min_r2 is not None and min(m["r2"]) < min_r2:
            failed.append(f"R^2 on the {where} {min(m['r2']):.4g} < {min_r2}")
        if max_abs is not None and self.max_abs > max_abs:
            failed.append(f"worst |student - teacher| found {self.max_abs:.4g} > "
                          f"{max_abs}")
        if failed:
            raise ValueError("The student fails its fidelity check: "
                             + "; ".join(failed) + ".")
        return self

    def to_dict(self):
        """Everything as JSON-friendly values (the worst inputs as lists)."""
        X = self.worst["X"]
        X = X.astype(object).where(X.notna(), None).values.tolist() \
            if hasattr(X, "columns") else np.asarray(X).tolist()
        return {
            "draws": self.draws, "rows": self.rows, "n_draws": self.n_draws,
            "n_teacher_queries": self.n_teacher_queries, "max_abs": self.max_abs,
            "worst": {"X": X, **{k: np.asarray(self.worst[k]).tolist()
                                 for k in ("teacher", "student", "abs_diff")}},
            "profile": self.profile,
        }

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), default=_plain, **kwargs)

    def summary(self):
        """A markdown summary: fidelity, worst case, the worst bin of each of
        the five features that are served worst."""
        lines = ["| where | RMSE | MAE | R^2 | p99 abs | max abs |",
                 "|---|---|---|---|---|---|"]
        for name, m in (("spec draws", self.draws), ("real rows", self.rows)):
            if m is not None:
                lines.append(f"| {name} | {_f(m['rmse'])} | {_f(m['mae'])} | "
                             f"{_f(m['r2'])} | {_f(m['p99'])} | {_f(m['max'])} |")
        lines += ["", f"Worst |student - teacher| found: {self.max_abs:.4g} "
                      f"({self.max_abs / max(self.max_draw_abs, 1e-300):.2f} x the "
                      f"largest among the {self.n_draws} draws); "
                      f"{self.n_teacher_queries} teacher rows spent.", ""]
        ranked = sorted(self.profile, key=lambda p: -max(p["rmse"], default=0.0))
        if ranked:
            lines += ["| feature | worst bin | RMSE there (teacher sd units) |",
                      "|---|---|---|"]
            for p in ranked[:5]:
                i = int(np.argmax(p["rmse"]))
                b = p["bins"][i]
                b = f"{b[0]:.4g} to {b[1]:.4g}" if isinstance(b, tuple) else b
                lines.append(f"| {p['feature']} | {b} | {p['rmse'][i]:.3g} |")
        return "\n".join(lines)

    def _repr_markdown_(self):
        return self.summary()

    def __repr__(self):
        m = self.draws
        return (f"FidelityReport(draws: RMSE {_f(m['rmse'])}, R^2 {_f(m['r2'])}; "
                f"worst case {self.max_abs:.4g}; {self.n_teacher_queries} teacher rows)")

    def plot(self, n_features=6):
        """``|student - teacher|`` on the draws (its percentiles, its maximum
        and the worst case found) and the profile of the ``n_features``
        features served worst (matplotlib); returns the figure."""
        from .plot import _pyplot

        plt = _pyplot()
        ranked = sorted(self.profile, key=lambda p: -max(p["rmse"], default=0.0))
        ranked = ranked[:n_features]
        fig, axes = plt.subplots(1, 1 + len(ranked), figsize=(3.2 * (1 + len(ranked)), 3))
        axes = np.atleast_1d(axes)
        axes[0].bar(["p50", "p90", "p99", "max", "worst"],
                    [max(self.draws[k]) for k in ("p50", "p90", "p99", "max")]
                    + [self.max_abs])
        axes[0].set_title("|student - teacher|")
        for ax, p in zip(axes[1:], ranked):
            ax.bar(range(len(p["rmse"])), p["rmse"])
            ax.set_xticks(range(len(p["bins"])), [str(b)[:10] for b in p["bins"]],
                          rotation=60, fontsize=6)
            ax.set_title(str(p["feature"]))
        fig.tight_layout()
        return fig


def _f(values):
    return " / ".join(f"{v:.4g}" for v in values)


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


def _encoded_rows(spec, X):
    if spec.tabular:
        return _columns.encode(spec.columns, X)
    return np.asarray(X, dtype=np.float64).reshape(len(X), -1)


def _answers(teacher, R):
    return np.asarray(teacher.predict(R), dtype=np.float64).reshape(len(R), -1)


def _student(est, R):
    with torch.no_grad():
        x = torch.as_tensor(R, dtype=torch.float64)
        return est._student64(x).numpy().reshape(len(R), -1)


def _metrics(t, s):
    d = s - t
    a = np.abs(d)
    ss = np.maximum(((t - t.mean(axis=0)) ** 2).sum(axis=0), 1e-300)

    def col(v):
        return [float(x) for x in np.atleast_1d(v)]

    return {"rmse": col(np.sqrt((d**2).mean(axis=0))), "mae": col(a.mean(axis=0)),
            "r2": col(1 - (d**2).sum(axis=0) / ss),
            **{f"p{q}": col(np.percentile(a, q, axis=0)) for q in (50, 90, 99)},
            "max": col(a.max(axis=0))}


def _search(est, teacher, space, z, t, s, scale, spent, budget, gen):
    """The worst cases: the worst draws, pushed further apart within the rows
    left (gradient ascent for a differentiable teacher, else an evolution
    strategy); every labelled candidate is kept."""
    score = (np.abs(t - s) / scale).max(axis=1)
    m = min(_N_STARTS, len(z))
    start = np.argsort(-score)[:m]
    best = {"z": z[start].clone(), "t": t[start], "s": s[start], "score": score[start]}
    left = budget - spent
    if teacher.differentiable:
        _ascend(est, teacher, space, best, scale, left)
    else:
        _evolve(est, teacher, space, best, scale, left, gen)
    R = space.to_raw(best["z"]).numpy()
    return {"R": R, "teacher": best["t"], "student": best["s"],
            "abs_diff": np.abs(best["t"] - best["s"]).max(axis=1), "score": best["score"]}


def _inside(space, z):
    """``z`` put into the spec, and within :data:`_SPAN` standardized units of
    its centre on unbounded sides (as differential evolution's box)."""
    z = space.project(z)
    low = torch.clamp(space.low.to(z.dtype), min=-_SPAN)
    high = torch.clamp(space.high.to(z.dtype), max=_SPAN)
    return torch.minimum(torch.maximum(z, low), high)


def _keep(best, idx, z, t, s, scale):
    sc = (np.abs(t - s) / scale).max(axis=1)
    better = sc > best["score"][idx]
    j = idx[better]
    best["z"][torch.as_tensor(j)] = z[torch.as_tensor(np.flatnonzero(better))]
    best["t"][j], best["s"][j], best["score"][j] = t[better], s[better], sc[better]
    return better


def _evolve(est, teacher, space, best, scale, left, gen):
    """(1+1) evolution strategies from every start, one teacher call per
    generation: a step grows after a success and shrinks after a failure."""
    m = len(best["z"])
    sigma = torch.full((m, 1), _SIGMA, dtype=torch.float64)
    while left >= m:
        noise = torch.randn(best["z"].shape, generator=gen, dtype=torch.float64)
        cand = _inside(space, best["z"] + sigma * noise)
        R = space.to_raw(cand).numpy()
        t, s = _answers(teacher, R), _student(est, R)
        left -= m
        ok = _keep(best, np.arange(m), cand, t, s, scale)
        sigma = torch.where(torch.as_tensor(ok)[:, None], sigma * 1.5, sigma * 0.8)
        sigma.clamp_(1e-3, 3.0)


def _ascend(est, teacher, space, best, scale, left):
    """Adam ascent of the squared difference (in units of the teacher's
    spread) through student and teacher, each step projected into the spec."""
    m = len(best["z"])
    student = est.student_
    w = torch.as_tensor(1.0 / scale, dtype=torch.float32)
    z = best["z"].float().clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=_GRAD_LR)
    loc, sc = space.loc.float(), space.scale.float()
    while left >= m:
        x = loc + sc * z
        teacher.count(m)
        y_t = teacher.forward(x).reshape(m, -1)
        y_s = student(x).reshape(m, -1)
        gap = ((y_s - y_t) * w) ** 2
        opt.zero_grad()
        (-gap.sum()).backward()
        with torch.no_grad():
            t = y_t.double().numpy()
            s = _student(est, space.to_raw(z.detach().double()).numpy())
            _keep(best, np.arange(m), z.detach().double(), t, s, scale)
        left -= m
        opt.step()
        with torch.no_grad():
            z.copy_(_inside(space, z.detach().double()).float())


def _cases(spec, cases):
    R = cases["R"]
    X = _columns.decode(spec.columns, R) if spec.tabular else R
    squeeze = cases["teacher"].shape[1] == 1
    out = {k: (v[:, 0] if squeeze and v.ndim == 2 else v)
           for k, v in cases.items() if k in ("teacher", "student")}
    return {"X": X, **out, "abs_diff": cases["abs_diff"]}


def _profile(spec, R, diff, scale, n_bins):
    """The disagreement per feature: per quantile bin of a numeric column, per
    level of a categorical one."""
    e2 = ((diff / scale) ** 2).mean(axis=1)
    out = []
    if spec.tabular:
        at = 0
        for c in spec.columns:
            if c.kind == "constant":
                continue
            if c.kind == "categorical":
                codes = R[:, at : at + c.width].argmax(axis=1)
                bins = list(c.levels)
                groups = [codes == i for i in range(c.width)]
            else:
                bins, groups = _quantile_bins(R[:, at], n_bins)
            out.append(_bins_of(c.name, bins, groups, e2))
            at += c.width
        return out
    names = spec.feature_names
    for j in range(R.shape[1]):
        bins, groups = _quantile_bins(R[:, j], n_bins)
        name = str(names[j]) if names is not None else f"x{j}"
        out.append(_bins_of(name, bins, groups, e2))
    return out


def _quantile_bins(v, n_bins):
    edges = np.unique(np.quantile(v, np.linspace(0, 1, n_bins + 1)))
    if len(edges) < 2:
        return [(float(v[0]), float(v[0]))], [np.ones(len(v), dtype=bool)]
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    bins = [(float(edges[i]), float(edges[i + 1])) for i in range(len(edges) - 1)]
    return bins, [idx == i for i in range(len(bins))]


def _bins_of(name, bins, groups, e2):
    rmse = [float(math.sqrt(e2[g].mean())) if g.any() else 0.0 for g in groups]
    return {"feature": name, "bins": [b if not isinstance(b, np.generic) else b.item()
                                      for b in bins],
            "rmse": rmse, "count": [int(g.sum()) for g in groups]}

"""``python -m skdistill.bench blackbox``: black-box teachers against the by-hand
baseline, at equal teacher rows.

The by-hand baseline is what a user writes in ten lines: draw ``N`` rows from the
input spec (N(0, I) on the paper's standardized split), label them with the
teacher, fit ``MLPRegressor((50,), "tanh", early_stopping=True, max_iter=200)``.
Against it, at the same ``N`` (validation labels included): skdistill's defaults
(``default``), its stream regime (Algorithm 1 with random draws, ``max_epochs`` set
to spend the budget) and the pool regime, with plain or Sobol draws
(``pool-sobol``), draws from the teacher's leaves (``pool-leaves``, trees only) or
with half of its rows from differential evolution (``pool-de``); for context
``oracle``, the by-hand
recipe on the real training inputs labelled by the teacher, and ``ceiling``, the
by-hand baseline with 2M rows (seed 0 only, whatever ``--seeds`` says): with both,
each cell reports the issue's target, max(0.8 x by hand, 1.05 x ceiling), and
whether the method meets it. ``--plot`` draws fidelity against teacher rows from
the cached cells. Reports fidelity RMSE to the teacher on the real test inputs
(standardized target units), test RMSE, teacher rows and wall time, averaged over
seeds, and the ``spec fidelity``: RMSE to the teacher on 20,000 fresh draws of the
spec, what a data-free run can see (a method can beat by hand there and lose on
the real rows when the spec puts its mass where they are not). Finished cells are cached in ``--out`` (JSON), so an interrupted run resumes.

``--spec`` chooses the inputs a user has (all three by default):

- ``normal``: the N(0, I) spec above (the methods of ``--methods``);
- ``rows``: ``fit(X_train)`` with the 5000 unlabeled training rows, labelled by
  the teacher inside the budget (``label_rows=True``);
- ``sheet``: the data sheet of those rows (``InputSpec.from_data``) through
  ``to_json``/``from_json``, the rows discarded.

For ``rows`` and ``sheet`` the methods are ``default`` (a variant sets
parameters: ``default+draws=random+pool_focus=0.5``), ``byhand`` (the ten lines
on draws of the sheet) and ``oracle``; each cell reports its ratio to the oracle
and the issue's target for it (rows: 0.9 at 20k and 0.75 from 100k; sheet: 1.25
and 1.0); the spec fidelity is measured on draws of the sheet.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from ._data import (
    CEILING_ROWS,
    JsonCache,
    issue_target,
    load_dataset,
    machine_info,
    paper_split,
    rmse,
)

TEACHERS = ("hgb", "rf", "svr", "knn")
TREE_TEACHERS = ("hgb", "rf")  # those with leaves to draw from
METHODS = ("byhand", "stream", "pool", "pool-sobol", "pool-de", "pool-leaves",
           "default")
# context, not a contender: the by-hand recipe on the real training inputs labelled
# by the teacher (the distance no data-free method can be asked to close)
# and the spec ceiling, by hand on CEILING_ROWS draws (once per teacher and dataset)
EXTRA_METHODS = ("oracle", "ceiling")
SPECS = ("rows", "sheet", "normal")
DATA_METHODS = ("default", "byhand", "oracle")  # for the rows and sheet specs


def add_parser(sub):
    p = sub.add_parser(
        "blackbox", help="black-box teachers: skdistill against by-hand MLPRegressor"
    )
    p.add_argument("--data-dir", default=None, help="folder with NAME.npz datasets")
    p.add_argument("--datasets", default="cpusmall,compactiv,pole")
    p.add_argument("--teachers", default=",".join(TEACHERS))
    p.add_argument("--budgets", default="20000,100000,500000")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"of {','.join(METHODS + EXTRA_METHODS)}")
    p.add_argument("--spec", default=",".join(SPECS),
                   help="rows (fit(X_train)), sheet (its data sheet, no rows), "
                        "normal (N(0, I)); comma-separated")
    p.add_argument("--data-methods", default=",".join(DATA_METHODS),
                   help="methods of the rows and sheet specs: default (with "
                        "+param=value variants), byhand, oracle")
    p.add_argument("--ceiling-rows", type=int, default=CEILING_ROWS,
                   help="draws of the spec ceiling (method 'ceiling')")
    p.add_argument("--out", default="bench_blackbox.json",
                   help="JSON cache of finished cells (resume)")
    p.add_argument("--quick", action="store_true",
                   help="cpusmall, HistGradientBoosting and kNN, 5000 rows, one seed")
    p.add_argument("--plot", default=None,
                   help="write a figure of fidelity against teacher rows (PNG/PDF) "
                        "from the finished cells")
    p.set_defaults(func=run)


def make_teacher(name, seed):
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.svm import SVR

    return {
        "hgb": lambda: HistGradientBoostingRegressor(random_state=seed),
        "rf": lambda: RandomForestRegressor(100, random_state=seed, n_jobs=1),
        "svr": lambda: SVR(),
        "knn": lambda: KNeighborsRegressor(),
    }[name]()


def by_hand(teacher, d, n, seed, spec=None):
    """The ten lines: draws of the spec (N(0, I) without one) labelled by the
    teacher, MLPRegressor."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    if spec is None:
        X = np.random.default_rng(seed).standard_normal((n, d))
    else:
        X = spec.draw(n, random_state=seed)
    y = teacher.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(hidden_layer_sizes=(50,), activation="tanh",
                             early_stopping=True, max_iter=200, random_state=seed)
        return model.fit(X, y), n


def oracle(teacher, X_train, seed):
    """The by-hand recipe on the real training inputs, labelled by the teacher."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(hidden_layer_sizes=(50,), activation="tanh",
                             early_stopping=True, max_iter=200, random_state=seed)
        return model.fit(X_train, teacher.predict(X_train)), len(X_train)


def distil(teacher, d, n, seed, method):
    """skdistill at ``n`` teacher rows: ``method`` is ``"default"`` (every
    parameter at its default but the student's 50 units and the budget) or a
    regime with plain draws, with ``-sobol`` for scrambled Sobol draws,
    ``-leaves`` for draws from the teacher's leaves, ``-de`` for half of each
    round's rows from the direct sampler's differential evolution."""
    from skdistill import DataFreeDistillRegressor, InputSpec

    normal = InputSpec(n_features=d)  # N(0, I), not what the teacher keeps
    if method == "default":
        est = DataFreeDistillRegressor(teacher, student=(50,), max_teacher_queries=n,
                                       random_state=seed).fit(input_spec=normal)
        return est, est.n_teacher_queries_
    regime, _, option = method.partition("-")
    params = dict(student=(50,), sampler="direct" if option == "de" else "random",
                  max_teacher_queries=n, random_state=seed, regime=regime,
                  draws=option if option in ("sobol", "leaves") else "random")
    if regime == "stream":  # spend the budget: 1000 rows an epoch after validation
        params["max_epochs"] = max(1, (n - 1000) // 1000)
    est = DataFreeDistillRegressor(teacher, **params).fit(input_spec=normal)
    return est, est.n_teacher_queries_


def distil_data(teacher, X_train, sheet, n, seed, spec_kind, variant):
    """skdistill's defaults with the user's data: ``fit(X_train)`` (``rows``) or
    ``sheet``, the data sheet of ``X_train`` through JSON (``sheet``);
    ``variant`` holds ``param=value`` settings (``draws=random``)."""
    from skdistill import DataFreeDistillRegressor

    params = dict(student=(50,), max_teacher_queries=n, random_state=seed)
    for item in filter(None, variant.split("+")):
        key, _, value = item.partition("=")
        params[key] = _value(value)
    est = DataFreeDistillRegressor(teacher, **params)
    if spec_kind == "rows":
        est.fit(X_train)
    else:
        est.fit(input_spec=sheet)
    return est, est.n_teacher_queries_


def sheet_of(X_train):
    """The data sheet of the training rows, through JSON (no row in it)."""
    from skdistill import InputSpec

    return InputSpec.from_json(InputSpec.from_data(X_train).to_json())


def _value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


# targets of the rows and sheet specs: ratio to the oracle, at 20k and from 100k
DATA_TARGETS = {"rows": (0.9, 0.75), "sheet": (1.25, 1.0)}


def data_target(spec_kind, budget):
    low, high = DATA_TARGETS[spec_kind]
    return high if budget >= 100_000 else low


# the spec_fidelity column: N(0, I) draws, fixed for every cell
_SPEC_ROWS, _SPEC_SEED = 20_000, 12345


@functools.lru_cache(maxsize=1)
def _setting(dataset, teacher_name, data_dir):
    """The fitted teacher of a dataset and what every cell of it is scored on:
    the real test rows with their targets and the teacher's answers, the fixed
    spec draws with the teacher's answers. Cells run teacher by teacher, so one
    setting is kept: fitted and labelled once, not once per cell."""
    X, y = load_dataset(dataset, data_dir)
    (X_tr, y_tr), _, (X_te, y_te) = paper_split(X, y, seed=0)
    teacher = make_teacher(teacher_name, 0).fit(X_tr, y_tr)
    # these teacher rows are the bench's, not the method's
    z = np.random.default_rng(_SPEC_SEED).standard_normal((_SPEC_ROWS, X.shape[1]))
    sheet = sheet_of(X_tr)
    zs = sheet.draw(_SPEC_ROWS, random_state=_SPEC_SEED)
    return (teacher, X_tr, (X_te, y_te, teacher.predict(X_te)),
            {"normal": (z, teacher.predict(z)), "sheet": (zs, teacher.predict(zs))},
            sheet)


def run_cell(dataset, teacher_name, budget, seed, method, data_dir, spec_kind="normal"):
    teacher, X_tr, (X_te, y_te, t_te), draws, sheet = _setting(
        dataset, teacher_name, data_dir)
    z, t_z = draws["normal" if spec_kind == "normal" else "sheet"]
    d = X_tr.shape[1]
    t0 = time.perf_counter()
    if method in ("byhand", "ceiling"):  # the ceiling's budget is its rows
        model, rows = by_hand(teacher, d, budget, seed,
                              None if spec_kind == "normal" else sheet)
    elif method == "oracle":
        model, rows = oracle(teacher, X_tr, seed)
    elif spec_kind != "normal":
        _, _, variant = method.partition("+")
        model, rows = distil_data(teacher, X_tr, sheet, budget, seed, spec_kind,
                                  variant)
    else:
        model, rows = distil(teacher, d, budget, seed, method)
    wall = time.perf_counter() - t0
    pred = model.predict(X_te)
    return {"fidelity": rmse(pred, t_te), "test": rmse(pred, y_te), "rows": int(rows),
            "wall": wall, "teacher_test": rmse(t_te, y_te),
            # what a data-free run can see: fidelity on fresh draws of the spec
            "spec_fidelity": rmse(model.predict(z), t_z)}


def run(args):
    if args.quick:
        args.datasets, args.teachers, args.budgets, args.seeds, args.spec = (
            "cpusmall", "hgb,knn", "5000", "0", "normal")
    datasets = args.datasets.split(",")
    teachers = args.teachers.split(",")
    budgets = [int(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    cache = JsonCache(args.out)
    specs = args.spec.split(",")
    bad = sorted(set(specs) - set(SPECS))
    if bad:
        raise SystemExit(f"--spec: unknown {bad}; choose of {','.join(SPECS)}")
    for spec_kind in [s for s in specs if s != "normal"]:
        run_data_spec(args, cache, spec_kind, datasets, teachers, budgets, seeds)
    if "normal" not in specs:
        print(f"\nseeds {seeds}; cache {args.out}")
        return 0
    print("# blackbox: N(0, I) spec on the paper's standardized split, student 50 "
          "tanh; fidelity = RMSE to the teacher on the real test rows")
    print(f"# machine: {machine_info()}")
    print("| dataset | teacher | budget | method | rows | fidelity RMSE | test RMSE |"
          " wall (s) | fidelity / by hand | target | met | wall / by hand |"
          " spec fidelity |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cell(dataset, teacher_name, budget, method, seed):
        key = f"{dataset}/{teacher_name}/{budget}/{method}/{seed}"
        if key not in cache:
            cache[key] = run_cell(dataset, teacher_name, budget, seed, method,
                                  args.data_dir)
            cache.save()
        return cache[key]

    for dataset in datasets:
        for teacher_name in teachers:
            ceiling = (cell(dataset, teacher_name, args.ceiling_rows, "ceiling", 0)
                       if "ceiling" in methods else None)
            if ceiling is not None:
                print(f"| {dataset} | {teacher_name} | - | ceiling | "
                      f"{ceiling['rows']} | {ceiling['fidelity']:.4f} | "
                      f"{ceiling['test']:.4f} | {ceiling['wall']:.1f} | | | | | "
                      f"{_spec(ceiling)} |",
                      flush=True)
            for budget in budgets:
                cells = {}
                for method in methods:
                    if method == "ceiling" or (
                            method == "pool-leaves" and teacher_name not in TREE_TEACHERS):
                        continue
                    runs = [cell(dataset, teacher_name, budget, method, seed)
                            for seed in seeds]
                    # cells cached before a column existed lack it
                    keys = set(runs[0]).intersection(*runs[1:])
                    cells[method] = {k: float(np.mean([r[k] for r in runs]))
                                     for k in keys}
                base = cells.get("byhand")
                for method, c in cells.items():
                    ratio = target = met = wall = ""
                    if base:
                        ratio = f"{c['fidelity'] / base['fidelity']:.2f}"
                        wall = f"{c['wall'] / base['wall']:.2f}"
                        if ceiling is not None and method != "oracle":
                            t = issue_target(base["fidelity"], ceiling["fidelity"])
                            target = f"{t:.4f}"
                            ok = c["fidelity"] <= t and c["wall"] <= 2 * base["wall"]
                            met = "yes" if ok else "no"
                    print(f"| {dataset} | {teacher_name} | {budget} | {method} | "
                          f"{c['rows']:.0f} | {c['fidelity']:.4f} | {c['test']:.4f} | "
                          f"{c['wall']:.1f} | {ratio} | {target} | {met} | {wall} | "
                          f"{_spec(c)} |", flush=True)
    print(f"\nseeds {seeds}; cache {args.out}")
    if args.plot:
        plot_fidelity_vs_rows(cache, datasets, teachers, budgets, seeds, methods,
                              args.plot, args.ceiling_rows)
        print(f"figure: {args.plot}")
    return 0


def run_data_spec(args, cache, spec_kind, datasets, teachers, budgets, seeds):
    """The table of the ``rows`` or ``sheet`` spec: ours, by hand on the sheet's
    draws and the oracle, with the ratio to the oracle and its target."""
    methods = args.data_methods.split(",")
    what = ("fit(X_train): the 5000 training rows labelled inside the budget"
            if spec_kind == "rows" else
            "input_spec = the data sheet of X_train through JSON, no rows")
    print(f"# blackbox --spec {spec_kind}: {what}; student 50 tanh; fidelity = RMSE "
          "to the teacher on the real test rows (standardized units)")
    print(f"# machine: {machine_info()}")
    print("| dataset | teacher | budget | method | rows | fidelity RMSE | test RMSE |"
          " wall (s) | / oracle | target | met | wall / by hand | spec fidelity |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cell(dataset, teacher_name, budget, method, seed):
        # by hand draws the sheet for both specs, and the oracle is the oracle
        kind = "sheet" if method == "byhand" else spec_kind
        if method == "oracle":
            key = f"{dataset}/{teacher_name}/5000/oracle/{seed}"
        else:
            key = f"{kind}:{dataset}/{teacher_name}/{budget}/{method}/{seed}"
        if key not in cache:
            cache[key] = run_cell(dataset, teacher_name, budget, seed, method,
                                  args.data_dir, kind)
            cache.save()
        return cache[key]

    for dataset in datasets:
        for teacher_name in teachers:
            for budget in budgets:
                cells = {}
                for method in methods:
                    runs = [cell(dataset, teacher_name, budget, method, seed)
                            for seed in seeds]
                    keys = set(runs[0]).intersection(*runs[1:])
                    cells[method] = {k: float(np.mean([r[k] for r in runs]))
                                     for k in keys}
                orc, hand = cells.get("oracle"), cells.get("byhand")
                for method, c in cells.items():
                    ratio = target = met = wall = ""
                    if orc and method != "oracle":
                        ratio = f"{c['fidelity'] / orc['fidelity']:.2f}"
                        t = data_target(spec_kind, budget)
                        target = f"{t:.2f}"
                        met = "yes" if c["fidelity"] <= t * orc["fidelity"] else "no"
                    if hand:
                        wall = f"{c['wall'] / hand['wall']:.2f}"
                    print(f"| {dataset} | {teacher_name} | {budget} | {method} | "
                          f"{c['rows']:.0f} | {c['fidelity']:.4f} | {c['test']:.4f} | "
                          f"{c['wall']:.1f} | {ratio} | {target} | {met} | {wall} | "
                          f"{_spec(c)} |", flush=True)
    print()


def _spec(cell):
    """The spec fidelity of a cell, or "-" for cells cached before the column."""
    value = cell.get("spec_fidelity")
    return "-" if value is None else f"{value:.4f}"


def plot_fidelity_vs_rows(cache, datasets, teachers, budgets, seeds, methods, path,
                          ceiling_rows=CEILING_ROWS):
    """One panel per dataset and teacher: mean fidelity RMSE of each method against
    the teacher rows it had (log scale), from the cached cells; the oracle as a
    horizontal line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [(d, t) for d in datasets for t in teachers]
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs), 3.2),
                             squeeze=False, layout="constrained")
    for ax, (dataset, teacher) in zip(axes[0], pairs):
        ceiling = cache.get(f"{dataset}/{teacher}/{ceiling_rows}/ceiling/0")
        if ceiling is not None:
            ax.axhline(ceiling["fidelity"], color="0.5", ls="--", lw=1,
                       label=f"spec ceiling (by hand, {ceiling_rows:,} rows)")
        for method in methods:
            if method == "ceiling":
                continue
            xs, ys = [], []
            for budget in budgets:
                runs = [cache.get(f"{dataset}/{teacher}/{budget}/{method}/{s}")
                        for s in seeds]
                runs = [r for r in runs if r is not None]
                if runs:
                    xs.append(float(np.mean([r["rows"] for r in runs])))
                    ys.append(float(np.mean([r["fidelity"] for r in runs])))
            if not xs:
                continue
            if method == "oracle":
                ax.axhline(ys[0], color="k", ls=":", lw=1, label="oracle (real inputs)")
            else:
                ax.plot(xs, ys, marker="o", label=method)
        ax.set_xscale("log")
        ax.set_title(f"{dataset}, {teacher}", fontsize=9)
        ax.set_xlabel("teacher rows")
        ax.set_ylabel("fidelity RMSE (test rows)")
    axes[0][0].legend(fontsize=7)
    fig.savefig(path, dpi=120)
    plt.close(fig)

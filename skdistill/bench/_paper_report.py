"""Tables and figures of the ``paper`` benchmark, from its ``runs.csv`` and histories.

Everything here reads files only, so ``python -m skdistill.bench paper --report-only``
redraws the report of an interrupted or finished benchmark without running anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["history_path", "write_report"]

# short column titles for the wide tables
SHORT = {
    "random": "random",
    "generator_decreasing": "generator, decr. α",
    "generator_alpha1": "generator, α=1",
    "direct_decreasing": "direct, decr. α",
    "direct_alpha1": "direct, α=1",
    "oracle": "oracle",
    "pool_direct": "pool, direct (100k rows)",
    "pool_random": "pool, random (100k rows)",
}
# the paper's Table 3/4 column of each method
PAPER_COLUMN = {
    "random": 1,
    "generator_decreasing": 2,
    "generator_alpha1": 3,
    "direct_decreasing": 4,
    "direct_alpha1": 5,
}


def history_path(out, row):
    """Where the per-epoch history of one run is saved (``.npz``)."""
    name = (
        f"{row['dataset']}_h{row['size']}_{row['method']}_seed{row['seed']}_"
        f"{row['select']}_e{row['epochs']}_{row['teacher']}.npz"
    )
    return Path(out) / "histories" / name


def _load_runs(csv_path, datasets, sizes, methods, select, epochs, teacher):
    import pandas as pd

    if not Path(csv_path).exists():
        return pd.DataFrame()
    df = pd.read_csv(csv_path)
    if "teacher" not in df:  # written before teachers were tagged
        df["teacher"] = ""
    df = df[
        df.dataset.isin(datasets)
        & df["size"].isin(sizes)
        & df.method.isin(methods)
        & (df["select"] == select)
        & (df["epochs"] == epochs)
        & (df["teacher"] == teacher)
    ]
    return df.drop_duplicates(["dataset", "size", "method", "seed"], keep="last")


def _paper(paper, size, dataset, column):
    if column is None:
        return None
    try:
        return paper[size][dataset][column]
    except (KeyError, TypeError):
        return None


def _fmt(mean, sd=None, digits=4):
    if mean is None or not np.isfinite(mean):
        return "—"
    if sd is None or not np.isfinite(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def write_report(
    out,
    csv_path,
    *,
    datasets,
    sizes,
    methods,
    select,
    epochs,
    teacher,
    command,
    machine,
    elapsed,
    paper,
):
    """Write ``table_<select>.md`` and the figures into ``out``; return the markdown."""
    out = Path(out)
    df = _load_runs(csv_path, datasets, sizes, methods, select, epochs, teacher)
    lines = [
        f"# Zhou & Chiam Tables 3-4, reproduced (model selection: {select})",
        "",
        f"- command: `{command}`",
        f"- machine: {machine}",
        f"- teacher: 500 tanh units, {teacher} (epochs, selection of its epoch)",
    ]
    if df.empty:
        lines.append("\nNo finished runs yet.")
        text = "\n".join(lines) + "\n"
        (out / f"table_{select}.md").write_text(text)
        return text
    seeds = sorted(df.seed.unique())
    lines.append(
        f"- {len(df)} runs: {len(datasets)} datasets x {len(sizes)} sizes x "
        f"{len(methods)} methods x {len(seeds)} seeds; {epochs} epochs each; "
        f"summed run time {df.wall.sum() / 60:.1f} min"
        + (f"; wall time of this invocation {elapsed / 60:.1f} min" if elapsed else "")
    )
    lines.append(
        "- test RMSE against the true targets, standardized units, mean ± sd over "
        "seeds; the paper's figure in brackets. Selection "
        + (
            "on the real validation split (as in the paper)."
            if select == "real"
            else "data-free: the estimator's synthetic validation set (1000 N(0, I) "
            "draws labelled by the teacher)."
        )
    )

    stats = df.groupby(["dataset", "size", "method"]).agg(
        rmse=("rmse", "mean"),
        sd=("rmse", "std"),
        fidelity=("fidelity", "mean"),
        wall=("wall", "mean"),
        n=("rmse", "size"),
    )
    teachers = (
        df.drop_duplicates(["dataset", "size", "seed"])
        .groupby(["dataset", "size"])
        .teacher_rmse.agg(["mean", "std"])
    )

    def cell(ds, size, method):
        key = (ds, size, method)
        return stats.loc[key] if key in stats.index else None

    for size in sizes:
        lines += ["", f"## Test RMSE, student {size} tanh units", ""]
        cols = ["teacher"] + list(methods)
        lines.append("| dataset | " + " | ".join(SHORT.get(c, c) for c in cols) + " |")
        lines.append("|---" * (len(cols) + 1) + "|")
        for ds in datasets:
            row = [ds]
            if (ds, size) in teachers.index:
                t = teachers.loc[(ds, size)]
                p = _paper(paper, size, ds, 0)
                row.append(_fmt(t["mean"], t["std"]) + (f" [{p[0]:.4f}]" if p else ""))
            else:
                row.append("—")
            for m in methods:
                c = cell(ds, size, m)
                p = _paper(paper, size, ds, PAPER_COLUMN.get(m))
                text = "—" if c is None else _fmt(c.rmse, c.sd)
                row.append(text + (f" [{p[0]:.4f}]" if p else ""))
            lines.append("| " + " | ".join(row) + " |")

    # share of the random-to-oracle gap closed
    others = [m for m in methods if m not in ("random", "oracle")]
    if "random" in methods and "oracle" in methods and others:
        lines += [
            "",
            "## Share of the random-to-oracle gap closed",
            "",
            "`(RMSE random - RMSE method) / (RMSE random - RMSE oracle)` on the means: "
            "100% matches training on the real inputs, 0% is no better than random "
            "sampling, negative is worse. `—` where the oracle beats random by less "
            "than 2% of its RMSE: no gap to close, the ratio would be noise.",
            "",
            "| dataset | student | random − oracle | "
            + " | ".join(SHORT.get(m, m) for m in others)
            + " |",
            "|---|---|---" + "|---" * len(others) + "|",
        ]
        for size in sizes:
            for ds in datasets:
                r, o = cell(ds, size, "random"), cell(ds, size, "oracle")
                if r is None or o is None:
                    continue
                gap = r.rmse - o.rmse
                row = [ds, str(size), f"{gap:+.4f}"]
                for m in others:
                    c = cell(ds, size, m)
                    if c is None or gap <= 0.02 * r.rmse:
                        row.append("—")
                    else:
                        row.append(f"{100 * (r.rmse - c.rmse) / gap:.0f}%")
                lines.append("| " + " | ".join(row) + " |")

    # the targets of the direct optimizer (and of its variants)
    for method in [m for m in ("direct_decreasing", "pool_direct", "pool_random")
                   if m in methods]:
        lines += [
            "",
            f"## {SHORT[method]}: against the paper's direct optimizer "
            "(decreasing α) and our random sampling",
            "",
            "| dataset | student | ours | paper | ours − paper | random (ours) | "
            "≤ paper | < random |",
            "|---|---|---|---|---|---|---|---|",
        ]
        n_paper = n_random = n_cells = 0
        for size in sizes:
            for ds in datasets:
                c = cell(ds, size, method)
                if c is None:
                    continue
                n_cells += 1
                p = _paper(paper, size, ds, PAPER_COLUMN["direct_decreasing"])
                r = cell(ds, size, "random")
                ok_p = p is not None and c.rmse <= p[0]
                ok_r = r is not None and c.rmse < r.rmse
                n_paper += ok_p
                n_random += ok_r
                lines.append(
                    f"| {ds} | {size} | {_fmt(c.rmse, c.sd)} | "
                    f"{_fmt(*p) if p else '—'} | "
                    f"{'—' if p is None else f'{c.rmse - p[0]:+.4f}'} | "
                    f"{'—' if r is None else _fmt(r.rmse, r.sd)} | "
                    f"{'yes' if ok_p else 'no'} | {'yes' if ok_r else 'no'} |"
                )
        lines += [
            "",
            f"At or below the paper's figure: **{n_paper}/{n_cells}** cells; below "
            f"our random sampling: **{n_random}/{n_cells}**.",
        ]

    # fidelity and wall time
    has_cpu = "cpu" in df and df["cpu"].notna().any()
    lines += [
        "",
        "## Fidelity to the teacher and time per run",
        "",
        "Fidelity: test RMSE between student and teacher (mean over all cells). "
        "Wall time: one `fit`, seconds, mean (min-max) over the runs of the method, "
        "with `--n-jobs` runs at a time and whatever else ran on the machine."
        + (
            " CPU: process time of the same `fit` (one thread), less sensitive to "
            "other processes sharing the cores."
            if has_cpu
            else ""
        ),
        "",
        "| method | fidelity | wall time (s) | CPU time (s) |",
        "|---|---|---|---|",
    ]
    for m in methods:
        sub = df[df.method == m]
        if sub.empty:
            continue
        cpu = sub["cpu"].mean() if has_cpu else float("nan")
        lines.append(
            f"| {SHORT.get(m, m)} | {sub.fidelity.mean():.4f} | "
            f"{sub.wall.mean():.1f} ({sub.wall.min():.1f}-{sub.wall.max():.1f}) | "
            f"{'—' if not np.isfinite(cpu) else f'{cpu:.1f}'} |"
        )
    if has_cpu:
        total_cpu = df["cpu"].sum()
        lines += [
            "",
            f"Summed CPU time of the runs: {total_cpu / 60:.1f} min, i.e. about "
            f"{total_cpu / 120:.1f} min of runs on two idle cores (teachers not "
            "included).",
        ]

    figures = _plot(out, df, datasets, sizes, methods, select)
    if figures:
        lines += ["", "Figures: " + ", ".join(f"`{f.name}`" for f in figures)]
    text = "\n".join(lines) + "\n"
    (out / f"table_{select}.md").write_text(text)
    return text


def _mean_history(out, df, ds, size, method, key):
    curves = []
    for row in df[
        (df.dataset == ds) & (df["size"] == size) & (df.method == method)
    ].to_dict("records"):
        path = history_path(out, row)
        if path.exists():
            with np.load(path) as h:
                curves.append(h[key])
    if not curves:
        return None
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


def _smooth(y, window=15):
    """Savitzky-Golay smoothing over ``window`` epochs, as the paper's Figure 7."""
    from scipy.signal import savgol_filter

    y = np.asarray(y, dtype=np.float64)
    if len(y) <= window or not np.isfinite(y).all():
        return y
    return savgol_filter(y, window, 2)


def _plot(out, df, datasets, sizes, methods, select):
    """Figure 7 (validation RMSE over epochs) and Figure 8 (student loss on the
    generated samples, alpha = 1 runs), one panel per dataset, mean over seeds."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the bench extra is not installed: tables only
        return []
    files = []
    alpha1 = [m for m in methods if m in ("generator_alpha1", "direct_alpha1")]
    for size in sizes:
        for fig_name, key, chosen, ylabel, log in (
            (
                "fig7_val_rmse",
                "val_rmse",
                methods,
                "validation RMSE"
                + (" (real split)" if select == "real" else " (synthetic, to teacher)"),
                False,
            ),
            (
                "fig8_loss_generated",
                "loss_generated",
                alpha1,
                "student loss on generated samples",
                True,
            ),
        ):
            if not chosen:
                continue
            fig, axes = plt.subplots(
                1, len(datasets), figsize=(3.2 * len(datasets), 3.0), squeeze=False
            )
            drawn = False
            for ax, ds in zip(axes[0], datasets):
                for m in chosen:
                    y = _mean_history(out, df, ds, size, m, key)
                    if y is None:
                        continue
                    drawn = True
                    ax.plot(_smooth(y), label=SHORT.get(m, m), lw=1)
                ax.set_title(ds, fontsize=9)
                ax.set_xlabel("epoch", fontsize=8)
                if log:
                    ax.set_yscale("log")
                else:
                    vals = [line.get_ydata() for line in ax.get_lines()]
                    if vals:
                        tail = np.concatenate([v[len(v) // 20 :] for v in vals])
                        lo, hi = np.nanpercentile(tail, [0, 98])
                        ax.set_ylim(lo * 0.95, hi * 1.05)
                ax.tick_params(labelsize=7)
            axes[0][0].set_ylabel(ylabel, fontsize=8)
            if drawn:
                axes[0][-1].legend(fontsize=6)
                fig.suptitle(f"student {size} tanh units, mean over seeds", fontsize=9)
                fig.tight_layout()
                path = out / f"{fig_name}_{select}_h{size}.png"
                fig.savefig(path, dpi=110)
                files.append(path)
            plt.close(fig)
    return files

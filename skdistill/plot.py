"""Figures of a distillation: training curves, sample losses, sample projections.

Each function draws one of the paper's figures from arrays you already have (a
fitted estimator's ``history_``, per-sample losses, samples) and returns the
matplotlib ``(figure, axes)`` it drew on:

- :func:`plot_history`: validation RMSE and student loss per epoch (Figures 7-8);
- :func:`plot_sample_losses`: student loss on generated versus random samples
  (Figure 5);
- :func:`plot_projection`: generated samples against a reference sample in a 2-D
  projection, PCA or UMAP (Figure 6);
- :func:`plot_fidelity`: student against teacher predictions, one point per row.

matplotlib is an optional dependency: ``pip install "skdistill[plot]"``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_fidelity", "plot_history", "plot_projection", "plot_sample_losses"]

_HISTORY_LABELS = {
    "val_rmse": "validation RMSE to the teacher",
    "loss_generated": "student loss on generated samples",
    "loss_random": "student loss on random samples",
    "alpha": "alpha (weight of generated samples)",
    "n_teacher_queries": "teacher queries (rows)",
    "elapsed": "seconds since the start of fit",
}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            'skdistill.plot needs matplotlib: pip install "skdistill[plot]".'
        ) from None
    return plt


def _figure_and_axes(ax, n=1, **subplots):
    """``(fig, axes)`` of the given axes, or new ones."""
    plt = _pyplot()
    if ax is None:
        fig, axes = plt.subplots(1, n, squeeze=False, **subplots)
        axes = list(axes[0])
    else:
        axes = list(np.atleast_1d(ax).ravel())
        if len(axes) != n:
            raise ValueError(f"Expected {n} axes, got {len(axes)}.")
        fig = axes[0].figure
    return fig, axes


def _as_histories(history):
    """``{label: history dict}`` from an estimator, a history dict, or a mapping of
    labels to either."""
    if hasattr(history, "history_"):
        return {"": history.history_}
    if isinstance(history, Mapping) and "epoch" in history:
        return {"": history}
    if isinstance(history, Mapping):
        out = {}
        for label, value in history.items():
            out[str(label)] = value.history_ if hasattr(value, "history_") else value
        return out
    raise TypeError(
        "history must be a fitted estimator, its history_ dict, or a mapping of "
        f"labels to those; got {type(history).__name__}."
    )


def _smooth(y, window):
    """Savitzky-Golay smoothing (order 2) of the finite values, as in the paper's
    Figure 7 (window of 15 epochs); series too short are left as they are."""
    from scipy.signal import savgol_filter

    y = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(y)
    n = int(finite.sum())
    w = min(int(window), n if n % 2 else n - 1)
    if w < 3:
        return y
    out = y.copy()
    out[finite] = savgol_filter(y[finite], w, 2)
    return out


def plot_history(
    history,
    keys=("val_rmse", "loss_generated"),
    *,
    smooth=None,
    logy=True,
    ax=None,
):
    """Training curves per epoch, one panel per ``history_`` key (Figures 7-8).

    Parameters
    ----------
    history : estimator, dict, or mapping of str to either
        A fitted :class:`~skdistill.DataFreeDistillRegressor`, its ``history_``,
        or several of them by label (``{"random": est_r, "direct": est_d}``) to
        compare on the same panels.
    keys : sequence of str, default=("val_rmse", "loss_generated")
        ``history_`` keys to draw: validation RMSE to the teacher (Figure 7) and the
        student loss on generated samples (Figure 8); ``"loss_random"``,
        ``"alpha"``, ``"n_teacher_queries"`` and ``"elapsed"`` work too. Epochs
        without such samples (NaN) are left out.
    smooth : int, default=None
        Window (in epochs) of a Savitzky-Golay filter applied before drawing; the
        paper uses 15.
    logy : bool, default=True
        Logarithmic y axis for the RMSE and loss panels.
    ax : matplotlib Axes or array of them, default=None
        One axes per key; new ones when omitted.

    Returns
    -------
    fig : matplotlib Figure
    axes : list of matplotlib Axes
    """
    histories = _as_histories(history)
    keys = [keys] if isinstance(keys, str) else list(keys)
    fig, axes = _figure_and_axes(
        ax, len(keys), figsize=(4.5 * len(keys), 3.5), layout="constrained"
    )
    for key, axis in zip(keys, axes):
        for label, hist in histories.items():
            if key not in hist:
                raise KeyError(f"history_ has no key {key!r}; keys: {sorted(hist)}.")
            y = np.asarray(hist[key], dtype=np.float64)
            if smooth:
                y = _smooth(y, smooth)
            axis.plot(hist["epoch"], y, lw=1, label=label or None)
        axis.set_xlabel("epoch")
        axis.set_ylabel(_HISTORY_LABELS.get(key, key))
        if logy and (key.startswith("loss") or key.startswith("val_rmse")):
            axis.set_yscale("log")
        if len(histories) > 1:
            axis.legend()
    return fig, axes


def plot_sample_losses(losses, *, ax=None, logy=True):
    """Violins of per-sample student losses, side by side (Figure 5).

    Parameters
    ----------
    losses : mapping of str to array-like, or of str to such mappings
        ``{"random": l_r, "generated": l_g}`` draws one violin per entry;
        ``{"epoch 0": {"random": ..., "generated": ...}, "epoch 50": {...}}`` draws
        groups (one per outer key, the paper's epochs) of violins (one colour per
        inner key). Per-sample losses come, for example, from
        :func:`skdistill.metrics.sample_losses`.
    ax : matplotlib Axes, default=None
    logy : bool, default=True
        Logarithmic y axis (losses of generated samples are often orders of
        magnitude above those of random ones).

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes
    """
    if not isinstance(losses, Mapping) or not losses:
        raise TypeError("losses must be a non-empty mapping of labels to arrays.")
    grouped = all(isinstance(v, Mapping) for v in losses.values())
    groups = losses if grouped else {"": losses}
    labels = list(dict.fromkeys(k for g in groups.values() for k in g))
    fig, (axis,) = _figure_and_axes(ax, 1, figsize=(6, 3.5), layout="constrained")
    colors = [f"C{i}" for i in range(len(labels))]
    width = 0.8 / len(labels)
    for gi, group in enumerate(groups.values()):
        for li, label in enumerate(labels):
            if label not in group:
                continue
            values = np.asarray(group[label], dtype=np.float64).reshape(-1)
            values = values[np.isfinite(values)]
            if logy:
                values = values[values > 0]
            if values.size == 0:
                continue
            pos = gi + (li - (len(labels) - 1) / 2) * width
            data = np.log10(values) if logy else values
            parts = axis.violinplot(
                [data], positions=[pos], widths=width * 0.9, showmedians=True
            )
            for body in parts["bodies"]:
                body.set_facecolor(colors[li])
                body.set_alpha(0.6)
            for name in ("cbars", "cmins", "cmaxes", "cmedians"):
                parts[name].set_color(colors[li])
    if grouped:
        axis.set_xticks(range(len(groups)), [str(k) for k in groups])
    else:
        axis.set_xticks(
            [(li - (len(labels) - 1) / 2) * width for li in range(len(labels))],
            labels,
        )
    if grouped:
        from matplotlib.patches import Patch

        handles = [Patch(color=c, alpha=0.6) for c in colors]
        axis.legend(handles, labels)
    axis.set_ylabel("log10 student loss" if logy else "student loss")
    return fig, axis


def _projector(method, reference, random_state):
    """A fitted ``transform`` to 2-D: standardize on the reference, then PCA/UMAP."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if method == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=2, random_state=random_state)
    elif method == "umap":
        try:
            from umap import UMAP
        except ImportError:
            raise ImportError(
                'method="umap" needs umap-learn (pip install umap-learn); '
                'method="pca" needs nothing more.'
            ) from None
        reducer = UMAP(n_components=2, random_state=random_state)
    else:
        raise ValueError(f"method must be 'pca' or 'umap', got {method!r}.")
    return make_pipeline(StandardScaler(), reducer).fit(reference)


def plot_projection(
    generated, reference, *, method="pca", ax=None, random_state=0, max_points=2000
):
    """Generated samples over a reference sample in two dimensions (Figure 6).

    The projection is fitted on the reference alone (standardized, then PCA or
    UMAP) and applied to the generated samples: points far from the reference
    cloud are inputs unlike the real ones.

    Parameters
    ----------
    generated : array-like of shape (n, n_features), or mapping of str to such
        Generated samples, in the teacher's (raw) input units; a mapping draws
        several sets (for example one per sampler or per epoch) in different
        colours.
    reference : array-like of shape (n_ref, n_features)
        Real inputs (an unlabeled sample) or plain draws of the input spec.
    method : {"pca", "umap"}, default="pca"
        ``"umap"`` needs the umap-learn package.
    ax : matplotlib Axes, default=None
    random_state : int, default=0
        Seeds the projection and the subsampling.
    max_points : int, default=2000
        At most this many points per set are drawn (a random subset).

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes
    """
    reference = np.asarray(reference, dtype=np.float64)
    sets = (
        dict(generated) if isinstance(generated, Mapping) else {"generated": generated}
    )
    projector = _projector(method, reference, random_state)
    rng = np.random.default_rng(random_state)

    def subsample(X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != reference.shape[1]:
            raise ValueError(
                f"Samples of shape {X.shape} do not match the reference's "
                f"{reference.shape[1]} features."
            )
        if len(X) > max_points:
            X = X[rng.choice(len(X), max_points, replace=False)]
        return X

    fig, (axis,) = _figure_and_axes(ax, 1, figsize=(5, 4.5), layout="constrained")
    ref2 = projector.transform(subsample(reference))
    axis.scatter(ref2[:, 0], ref2[:, 1], s=6, c="0.7", label="reference")
    for i, (label, X) in enumerate(sets.items()):
        P = projector.transform(subsample(X))
        axis.scatter(P[:, 0], P[:, 1], s=6, c=f"C{i}", alpha=0.7, label=str(label))
    name = "PC" if method == "pca" else "UMAP "
    axis.set_xlabel(f"{name}1")
    axis.set_ylabel(f"{name}2")
    axis.legend(markerscale=2)
    return fig, axis


def plot_fidelity(estimator, X, *, teacher=None, ax=None):
    """Student against teacher predictions on the rows ``X``, with the identity line;
    one panel per output for a multi-output teacher (each in its own units).

    Parameters
    ----------
    estimator : fitted regressor
        A :class:`~skdistill.DataFreeDistillRegressor` (or any regressor with
        ``teacher=``).
    X : array-like of shape (n_samples, n_features)
        Rows to compare on (no targets needed).
    teacher : object, default=None
        See :func:`skdistill.metrics.fidelity_predictions`.
    ax : matplotlib Axes, or a sequence of k of them for k outputs, default=None

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes, or a list of k Axes for k > 1 outputs
    """
    from sklearn.metrics import r2_score, root_mean_squared_error

    from .metrics import fidelity_predictions

    y_student, y_teacher = fidelity_predictions(estimator, X, teacher=teacher)
    k = 1 if y_teacher.ndim == 1 else y_teacher.shape[1]
    fig, axes = _figure_and_axes(ax, k, figsize=(4.5 * k, 4.5), layout="constrained")
    for j, axis in enumerate(axes):
        t = y_teacher if k == 1 else y_teacher[:, j]
        s = y_student if k == 1 else y_student[:, j]
        axis.scatter(t, s, s=8, alpha=0.6)
        low, high = min(t.min(), s.min()), max(t.max(), s.max())
        axis.plot([low, high], [low, high], c="k", lw=1, ls="--")
        which = "" if k == 1 else f"output {j}: "
        axis.set_xlabel(f"teacher prediction{'' if k == 1 else f', output {j}'}")
        axis.set_ylabel(f"student prediction{'' if k == 1 else f', output {j}'}")
        axis.set_title(
            f"{which}fidelity R$^2$ {r2_score(t, s):.3f}, "
            f"RMSE {root_mean_squared_error(t, s):.3g}"
        )
    return fig, (axes[0] if k == 1 else axes)

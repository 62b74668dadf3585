"""Figures: each draws what it says on the axes it returns (Agg backend)."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skdistill import DataFreeDistillRegressor  # noqa: E402
from skdistill.plot import (  # noqa: E402
    plot_fidelity,
    plot_history,
    plot_projection,
    plot_sample_losses,
)

from .conftest import make_torch_teacher  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    teacher = make_torch_teacher(n_features=3, hidden=16)
    est = DataFreeDistillRegressor(
        teacher,
        student=(8,),
        max_epochs=20,
        batches_per_epoch=2,
        batch_size=20,
        n_validation=100,
        random_state=0,
    )
    return est.fit(bounds=[(-1, 1)] * 3)


def test_plot_history_one_panel_per_key(fitted):
    fig, axes = plot_history(fitted, keys=("val_rmse", "loss_generated", "alpha"))
    assert len(axes) == 3 and fig is axes[0].figure
    x, y = axes[0].lines[0].get_data()
    np.testing.assert_array_equal(x, fitted.history_["epoch"])
    np.testing.assert_allclose(y, fitted.history_["val_rmse"])
    assert axes[0].get_yscale() == "log" and axes[2].get_yscale() == "linear"


def test_plot_history_compares_runs_and_smooths(fitted):
    hist = fitted.history_
    fig, (ax,) = plot_history({"a": fitted, "b": hist}, keys="val_rmse", smooth=7)
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    y = ax.lines[0].get_ydata()
    assert y.shape == (len(hist["epoch"]),)
    assert not np.allclose(y, hist["val_rmse"])  # smoothed
    assert ax.get_legend() is not None


def test_plot_history_on_given_axes_and_bad_key(fitted):
    fig, ax = plt.subplots()
    got_fig, (got_ax,) = plot_history(fitted, keys=["loss_random"], ax=ax)
    assert got_ax is ax and got_fig is fig
    with pytest.raises(KeyError, match="no key 'nope'"):
        plot_history(fitted, keys=["nope"])
    with pytest.raises(TypeError):
        plot_history([1, 2])


def test_plot_sample_losses_flat_and_grouped():
    rng = np.random.default_rng(0)
    flat = {"random": rng.exponential(size=100), "generated": rng.exponential(size=100)}
    fig, ax = plot_sample_losses(flat)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["random", "generated"]
    assert len(ax.collections) >= 2  # one violin body each (plus its lines)
    grouped = {"epoch 0": flat, "epoch 50": flat}
    fig, ax = plot_sample_losses(grouped, logy=False)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["epoch 0", "epoch 50"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "random",
        "generated",
    ]
    with pytest.raises(TypeError):
        plot_sample_losses([1.0, 2.0])


def test_plot_projection_pca():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(300, 5))
    far = rng.normal(size=(50, 5)) + 10.0
    fig, ax = plot_projection({"near": reference[:50], "far": far}, reference)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "reference",
        "near",
        "far",
    ]
    ref_pts, near_pts, far_pts = (c.get_offsets() for c in ax.collections)
    assert len(ref_pts) == 300 and len(far_pts) == 50
    # the far set lies outside the reference cloud in the projection
    assert np.linalg.norm(far_pts, axis=1).min() > np.linalg.norm(ref_pts, axis=1).max()
    with pytest.raises(ValueError, match="do not match"):
        plot_projection(rng.normal(size=(5, 4)), reference)
    with pytest.raises(ValueError, match="method must be"):
        plot_projection(far, reference, method="tsne")


def test_plot_projection_umap_needs_umap(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match="umap-learn"):
        plot_projection(
            np.zeros((3, 2)),
            np.random.default_rng(0).normal(size=(9, 2)),
            method="umap",
        )


def test_plot_fidelity(fitted):
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 3))
    fig, ax = plot_fidelity(fitted, X)
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], fitted.predict(X))
    assert "R$^2$" in ax.get_title()


def test_missing_matplotlib_says_how_to_install(monkeypatch, fitted):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skdistill\[plot\]"):
        plot_history(fitted)

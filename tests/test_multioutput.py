"""Teachers with k outputs: one student with k outputs (or k students)."""

import ctypes

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.multioutput import MultiOutputRegressor, RegressorChain
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from skdistill import DataFreeDistillRegressor
from skdistill._mlp import FunctionalMLP
from skdistill._trainer import AutogradTrainer, MLPTrainer
from skdistill.inputs import InputSpec, StandardizedSpace
from skdistill.metrics import fidelity_r2, fidelity_rmse, make_fidelity_scorer
from skdistill.objectives import check_output_weights, direct_objective
from skdistill.samplers import DirectSampler, DistillProblem
from skdistill.students import MLP
from skdistill.teachers import StandardizedTeacher, TeacherError, TorchTeacher

from .conftest import C_COMPILER, compile_header

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, size=(1500, 4))
# two outputs on very different scales: each is standardized on its own
Y = np.c_[np.sin(2 * X[:, 0]) + X[:, 1], 1000.0 * X[:, 2] * X[:, 3] + 5000.0]
BOUNDS = [(-1, 1)] * 4
FAST = dict(student=(16,), random_state=0, n_validation=200)


def rel_rmse(p, t):
    """Per-output RMSE relative to the output's spread."""
    return np.sqrt(((p - t) ** 2).mean(axis=0)) / t.std(axis=0)


@pytest.fixture(scope="module")
def forest():
    # fitted on standardized targets, as a user would fit outputs of other scales
    return TransformedTargetRegressor(
        RandomForestRegressor(30, min_samples_leaf=3, random_state=0),
        transformer=StandardScaler(),
    ).fit(X, Y)


@pytest.fixture(scope="module")
def mlp_teacher():
    model = make_pipeline(
        StandardScaler(),
        MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", max_iter=2000,
                     random_state=0),
    )
    return model.fit(X, (Y - Y.mean(0)) / Y.std(0))


@pytest.fixture(scope="module")
def forest_student(forest):
    return DataFreeDistillRegressor(
        forest, max_teacher_queries=20_000, **FAST
    ).fit(bounds=BOUNDS)


def torch_teacher(k=2, d=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 12), nn.Tanh(), nn.Linear(12, k))


# ------------------------------------------------------------ the estimator
def test_black_box_forest_gives_one_student_with_two_outputs(forest, forest_student):
    est = forest_student
    assert est.n_outputs_ == 2
    p, t = est.predict(X[:500]), forest.predict(X[:500])
    assert p.shape == (500, 2)
    # both outputs learned, the large-scale one as well as the small one
    assert (rel_rmse(p, t) < 0.5).all(), rel_rmse(p, t)
    assert est.n_teacher_queries_ == 20_000
    assert est.score(X[:500], t) == pytest.approx(r2_score(t, p))
    assert est.__sklearn_tags__().target_tags.multi_output


def test_history_has_each_output_and_their_weighted_mean(forest_student):
    h = forest_student.history_
    assert {"val_rmse_0", "val_rmse_1"} <= set(h)
    np.testing.assert_allclose(
        h["val_rmse"], (np.array(h["val_rmse_0"]) + np.array(h["val_rmse_1"])) / 2
    )
    assert forest_student.best_score_ == min(h["val_rmse"])


@pytest.mark.parametrize("regime", ["stream", "pool"])
def test_translated_mlp_keeps_the_gradient_path(mlp_teacher, regime):
    est = DataFreeDistillRegressor(
        mlp_teacher, sampler="direct", regime=regime, max_epochs=150, **FAST
    ).fit(bounds=BOUNDS)
    assert est.teacher_.differentiable and est.sampler_.optimizer_ == "gradient"
    t = mlp_teacher.predict(X[:500])
    assert (rel_rmse(est.predict(X[:500]), t) < 0.35).all()


@pytest.mark.parametrize(
    "make",
    [
        lambda: KNeighborsRegressor(5).fit(X, Y),
        lambda: MultiOutputRegressor(KNeighborsRegressor(5)).fit(X, Y),
        lambda: RegressorChain(KNeighborsRegressor(5)).fit(X, Y),
        lambda: (lambda rows: np.c_[rows[:, 0], -rows[:, 1], rows[:, 2]]),
    ],
    ids=["knn", "multioutput-regressor", "chain", "callable"],
)
def test_every_kind_of_multi_output_teacher(make):
    teacher = make()
    est = DataFreeDistillRegressor(teacher, max_teacher_queries=3000, **FAST)
    est.fit(bounds=BOUNDS)
    k = 3 if callable(teacher) and not hasattr(teacher, "predict") else 2
    assert est.predict(X[:7]).shape == (7, k) and est.n_outputs_ == k


def test_torch_teacher_with_two_outputs_and_differential_evolution():
    teacher = torch_teacher()
    est = DataFreeDistillRegressor(teacher, max_epochs=60, **FAST).fit(bounds=BOUNDS)
    with torch.no_grad():
        t = teacher(torch.as_tensor(X[:500], dtype=torch.float32)).numpy()
    assert (rel_rmse(est.predict(X[:500]), t) < 0.3).all()
    # a black box searched by differential evolution, every labelled row in the pool
    de = DataFreeDistillRegressor(
        lambda rows: teacher(torch.as_tensor(rows, dtype=torch.float32)).detach().numpy(),
        sampler="direct", optimizer="de", de_maxiter=3, max_teacher_queries=6000,
        **FAST,
    ).fit(bounds=BOUNDS)
    assert de.predict(X[:5]).shape == (5, 2)
    assert de.n_teacher_queries_ <= 6000


def test_column_output_is_single_output():
    est = DataFreeDistillRegressor(
        lambda rows: rows[:, :1] * 2.0, max_teacher_queries=2000, **FAST
    ).fit(bounds=BOUNDS)
    assert est.n_outputs_ == 1 and est.predict(X[:4]).shape == (4,)
    assert "val_rmse_0" not in est.history_


def test_reproducible_with_random_state(forest):
    a, b = (
        DataFreeDistillRegressor(forest, max_teacher_queries=3000, **FAST)
        .fit(bounds=BOUNDS).predict(X[:50])
        for _ in range(2)
    )
    np.testing.assert_array_equal(a, b)


def test_output_weights_favour_their_output():
    teacher = torch_teacher()
    fits = {
        w: DataFreeDistillRegressor(
            teacher, student=(3,), max_epochs=40, output_weights=w, random_state=0,
            n_validation=200,
        ).fit(bounds=BOUNDS)
        for w in [(1, 1), (20, 1)]
    }
    with torch.no_grad():
        t = teacher(torch.as_tensor(X[:1000], dtype=torch.float32)).numpy()
    even, first = (rel_rmse(fits[w].predict(X[:1000]), t) for w in [(1, 1), (20, 1)])
    assert first[0] < even[0] and first[1] > even[1]


def test_validation_data_with_k_columns(forest):
    Xv, Yv = X[:300], forest.predict(X[:300])
    est = DataFreeDistillRegressor(forest, max_teacher_queries=3000, **FAST)
    est.fit(bounds=BOUNDS, validation_data=(Xv, Yv))
    assert est.n_teacher_queries_ == 3000
    with pytest.raises(ValueError, match=r"y_val of shape \(300,\); the teacher gives "
                       r"2 outputs per row, so y_val must have shape \(n_samples, 2\)"):
        clone(est).fit(bounds=BOUNDS, validation_data=(Xv, Yv[:, 0]))


def test_grid_search_over_alpha_with_a_multi_output_scorer(forest):
    search = GridSearchCV(
        DataFreeDistillRegressor(forest, sampler="direct", optimizer="de", regime="pool",
                                 de_maxiter=2, max_teacher_queries=3000, **FAST),
        {"alpha": [0.3, 0.7]},
        scoring=make_fidelity_scorer("r2", multioutput=[0.9, 0.1]),
        cv=2,
    ).fit(X[:200])
    assert np.isfinite(search.best_score_)


# ---------------------------------------------------------------- bad input
def test_teacher_whose_number_of_outputs_changes():
    calls = []

    def flaky(rows):
        calls.append(len(rows))
        return np.c_[rows[:, 0], rows[:, 1]] if len(calls) == 1 else rows[:, 0]

    with pytest.raises(TeacherError, match="returned 1 output per row .* after "
                       "answering 2 per row before"):
        DataFreeDistillRegressor(flaky, max_teacher_queries=3000, **FAST).fit(
            bounds=BOUNDS
        )


def test_nan_in_one_output_is_named():
    def teacher(rows):
        out = np.c_[rows[:, 0], rows[:, 1], rows[:, 2]]
        out[3, 1] = np.nan
        return out

    with pytest.raises(TeacherError, match=r"1 non-finite values \(NaN or inf\) out "
                       r"of 600 in output 1 \(of 3, counted from 0\); the first at row 3"):
        DataFreeDistillRegressor(teacher, **FAST).fit(bounds=BOUNDS)


def test_bad_output_weights_and_students():
    teacher = torch_teacher()
    for weights, message in [((1, 1, 1), "one weight per output of the teacher \\(2\\)"),
                             ((1, -1), "non-negative"), ((0, 0), "not all zero")]:
        with pytest.raises(ValueError, match=message):
            DataFreeDistillRegressor(teacher, output_weights=weights, max_epochs=1,
                                     **FAST).fit(bounds=BOUNDS)
    with pytest.raises(ValueError, match=r"output of shape \(2, 1\), but the teacher "
                       r"gives 2 outputs per row"):
        DataFreeDistillRegressor(
            teacher, **{**FAST, "student": nn.Sequential(nn.Linear(4, 1))}, max_epochs=1
        ).fit(bounds=BOUNDS)


# ---------------------------------------------------- the math, two outputs
def test_closed_form_objective_gradient_matches_autograd_with_weights():
    obj = direct_objective(beta=0.3, gamma=0.7)
    obj.output_weights = check_output_weights([3, 1], 2)
    t, s = torch.randn(8, 2, requires_grad=True), torch.randn(8, 2, requires_grad=True)
    x = torch.randn(8, 3, requires_grad=True)
    refs = torch.autograd.grad(obj(t, s, x).sum() * 0.5, (t, s, x))
    for got, ref in zip(obj.grad(t.detach(), s.detach(), x.detach(), 0.5), refs):
        torch.testing.assert_close(got, ref)


def test_direct_sampler_fast_path_matches_autograd_with_two_outputs():
    space = StandardizedSpace(InputSpec(bounds=BOUNDS))
    view = StandardizedTeacher(TorchTeacher(torch_teacher()), space,
                               np.array([0.1, -0.2]), np.array([2.0, 0.5]))
    torch.manual_seed(1)
    student = MLP(4, (6,), n_outputs=2)
    weights = check_output_weights([2, 1], 2)
    kwargs = dict(space=space, teacher=view, student=student,
                  generator=torch.Generator().manual_seed(0), n_outputs=2,
                  output_weights=weights)
    assert view.mlp is not None and view.mlp.n_outputs == 2
    fast = DirectSampler(lr=0.05, steps=3, beta=0.1, gamma=0.2).setup(
        DistillProblem(**kwargs, student_mlp=FunctionalMLP.from_module(student))
    )
    slow = DirectSampler(lr=0.05, steps=3, beta=0.1, gamma=0.2).setup(
        DistillProblem(**kwargs)
    )
    x0 = space.draw(64, torch.Generator().manual_seed(1))
    torch.testing.assert_close(fast.generate(x0), slow.generate(x0), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("loss", ["squared", "logcosh"])
def test_mlp_trainer_matches_autograd_with_two_weighted_outputs(loss):
    torch.manual_seed(0)
    a, b = MLP(4, (5,), n_outputs=2), MLP(4, (5,), n_outputs=2)
    b.load_state_dict(a.state_dict())
    w = check_output_weights([1, 3], 2)
    fast = MLPTrainer(a, FunctionalMLP.from_module(a), 1e-2, 1e-4, loss,
                      n_outputs=2, output_weights=w)
    slow = AutogradTrainer(b, 1e-2, 1e-4, loss, n_outputs=2, output_weights=w)
    z, t = torch.randn(32, 4), torch.randn(32, 2)
    weights = torch.full((32,), 1 / 32)
    for _ in range(3):
        sq_fast, sq_slow = fast.step(z, t, weights), slow.step(z, t, weights)
    torch.testing.assert_close(sq_fast, sq_slow, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast.predict(z), slow.predict(z), rtol=1e-4, atol=1e-5)
    assert fast.predict(z).shape == (32, 2)


# ------------------------------------------------------ metrics and exports
def test_fidelity_metrics_take_multioutput(forest, forest_student):
    raw = fidelity_rmse(forest_student, X[:400], multioutput="raw_values")
    assert raw.shape == (2,) and raw[1] > 100 * raw[0]  # the outputs' own units
    assert fidelity_rmse(forest_student, X[:400]) == pytest.approx(raw.mean())
    assert fidelity_rmse(forest_student, X[:400], multioutput=[1, 0]) == pytest.approx(
        raw[0]
    )
    assert fidelity_r2(forest_student, X[:400]) == pytest.approx(
        r2_score(forest.predict(X[:400]), forest_student.predict(X[:400]))
    )
    with pytest.raises(ValueError, match="A scorer returns one number"):
        make_fidelity_scorer("rmse", multioutput="raw_values")


def test_compact_model_and_its_exports_keep_the_outputs(forest_student, tmp_path):
    est = forest_student
    p = est.predict(X[:300])
    compact = est.to_compact()
    assert compact.n_outputs_ == 2 and repr(compact).endswith("-> 2, numpy)")
    path = tmp_path / "compact.joblib"
    joblib.dump(compact, path)
    np.testing.assert_allclose(joblib.load(path).predict(X[:300]), p, atol=1e-9)
    f32 = est.to_compact("float32").predict(X[:300])
    assert (np.abs(f32 - p).max(axis=0) < 1e-5 * p.std(axis=0)).all()
    mlp = compact.to_sklearn()
    assert mlp.n_outputs_ == 2
    np.testing.assert_allclose(mlp.predict(X[:300]), p, rtol=1e-9, atol=1e-6)
    module = compact.to_torch("float64")
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.as_tensor(X[:300])).numpy(), p,
                                   atol=1e-9)
    net = compact.to_skorch()
    assert net.predict(X[:300].astype(np.float32)).shape == (300, 2)


def test_onnx_export_has_k_outputs(forest_student, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    compact = forest_student.to_compact()
    path = compact.to_onnx(tmp_path / "student.onnx", dtype="float64")
    (got,) = ort.InferenceSession(path).run(None, {"X": X[:50]})
    np.testing.assert_allclose(got, compact.predict(X[:50]), atol=1e-7)


@pytest.mark.skipif(C_COMPILER is None, reason="no C compiler on this machine")
def test_c_header_writes_k_outputs(forest_student, tmp_path):
    compact = forest_student.to_compact("float32")
    header = compact.to_c(tmp_path / "student.h", name="student")
    assert "#define STUDENT_N_OUTPUTS 2" in header
    lib = compile_header(tmp_path)
    rows = np.ascontiguousarray(X[:200], dtype=np.float32)
    out = np.empty((200, 2), dtype=np.float32)
    lib.run(rows.ctypes.data_as(ctypes.c_void_p), 200,
            out.ctypes.data_as(ctypes.c_void_p))
    ref = compact.predict(rows.astype(np.float64))
    assert (np.abs(out - ref).max(axis=0) < 1e-5 * ref.std(axis=0)).all()


# --------------------------------------------------------- separate students
def test_separate_students_are_one_exact_compact_model(forest):
    est = DataFreeDistillRegressor(
        forest, outputs="separate", max_teacher_queries=3000, **FAST
    ).fit(bounds=BOUNDS)
    assert len(est.estimators_) == 2 and est.n_outputs_ == 2
    assert est.n_teacher_queries_ == 6000  # each student its own rows
    p = est.predict(X[:200])
    for j, sub in enumerate(est.estimators_):
        assert sub.n_outputs_ == 1
        np.testing.assert_allclose(p[:, j], sub.predict(X[:200]), atol=1e-9)
    compact = est.to_compact()
    assert repr(compact) == "CompactRegressor(4 -> 32 tanh -> 2, numpy)"
    np.testing.assert_allclose(compact.predict(X[:200]), p, atol=1e-9)
    # the same seeds give the same students
    again = clone(est).fit(bounds=BOUNDS).predict(X[:200])
    np.testing.assert_array_equal(again, p)


def test_separate_students_of_other_modules_predict_but_do_not_compact(forest):
    est = DataFreeDistillRegressor(
        forest, outputs="separate", max_teacher_queries=2000, max_epochs=10,
        **{**FAST, "student": "rbf:8"},
    ).fit(bounds=BOUNDS)
    assert est.predict(X[:5]).shape == (5, 2)
    with pytest.raises(ValueError, match="compact each of estimators_ instead"):
        est.to_compact()
    assert est.estimators_[1].to_compact().predict(X[:5]).shape == (5,)


def test_separate_refuses_output_weights_and_checks_y_val(forest):
    with pytest.raises(ValueError, match="with outputs='separate' every output has "
                       "its own student"):
        DataFreeDistillRegressor(forest, outputs="separate", output_weights=[1, 2],
                                 **FAST).fit(bounds=BOUNDS)
    Xv = X[:100]
    with pytest.raises(ValueError, match=r"y_val of shape \(100, 3\); the teacher "
                       r"gives 2 outputs per row"):
        DataFreeDistillRegressor(
            forest, outputs="separate", max_teacher_queries=1000, max_epochs=2, **FAST
        ).fit(bounds=BOUNDS, validation_data=(Xv, np.zeros((100, 3))))


def test_plots_show_each_output(forest_student):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skdistill.plot import plot_fidelity, plot_history

    fig, axes = plot_fidelity(forest_student, X[:100])
    assert len(axes) == 2
    for j, ax in enumerate(axes):
        np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1],
                                   forest_student.predict(X[:100])[:, j])
        assert ax.get_title().startswith(f"output {j}: fidelity R$^2$")
    fig, axes = plot_history(forest_student, keys=("val_rmse_0", "val_rmse_1"))
    assert all(ax.get_yscale() == "log" for ax in axes)

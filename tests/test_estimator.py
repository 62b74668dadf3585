"""Behaviour of DataFreeDistillRegressor that a user would notice."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.students import ScaledStudent

from .conftest import make_torch_teacher, sum_of_squares

FAST = dict(max_epochs=30, batches_per_epoch=5, batch_size=20, n_validation=200)


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


class RawScale(torch.nn.Module):
    """A teacher trained on raw data: affine maps around a standardized network."""

    def __init__(self, core, x_loc, x_scale, y_loc, y_scale):
        super().__init__()
        self.core = core
        self.register_buffer("x_loc", torch.as_tensor(x_loc, dtype=torch.float32))
        self.register_buffer("x_scale", torch.as_tensor(x_scale, dtype=torch.float32))
        self.y_loc, self.y_scale = y_loc, y_scale

    def forward(self, x):
        return self.y_loc + self.y_scale * self.core((x - self.x_loc) / self.x_scale)


@pytest.fixture(scope="module")
def diabetes_teacher():
    """A tanh MLP trained on raw diabetes data (targets around 150)."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)
    torch.manual_seed(0)
    core = make_torch_teacher(X.shape[1], hidden=64)
    teacher = RawScale(
        core, X_tr.mean(0), X_tr.std(0), float(y_tr.mean()), float(y_tr.std())
    )
    opt = torch.optim.Adam(teacher.parameters(), lr=3e-3)
    Xt = torch.as_tensor(X_tr, dtype=torch.float32)
    yt = torch.as_tensor(y_tr, dtype=torch.float32).view(-1, 1)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.mse_loss(teacher(Xt), yt).backward()
        opt.step()
    teacher.eval()
    return teacher, X_tr, X_te


def teacher_predict(teacher, X):
    with torch.no_grad():
        return teacher(torch.as_tensor(X, dtype=torch.float32)).numpy().ravel()


@pytest.fixture(scope="module")
def fitted(diabetes_teacher):
    teacher, X_tr, _ = diabetes_teacher
    est = DataFreeDistillRegressor(teacher, student=(16,), random_state=0, **FAST)
    return est.fit(X_tr)


# ----------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("sampler", ["random", "direct"])
def test_student_is_closer_to_teacher_than_baselines(diabetes_teacher, sampler):
    teacher, X_tr, X_te = diabetes_teacher
    est = DataFreeDistillRegressor(
        teacher, student=(16,), sampler=sampler, max_epochs=150, random_state=0
    )
    est.fit(X_tr)  # an unlabeled sample only describes the input distribution
    t_te = teacher_predict(teacher, X_te)
    student = rmse(est.predict(X_te), t_te)
    mean_predictor = rmse(np.full_like(t_te, t_te.mean()), t_te)
    untrained = DataFreeDistillRegressor(
        teacher, student=(16,), max_epochs=1, lr=1e-12, random_state=0
    ).fit(X_tr)
    assert student < 0.5 * mean_predictor
    assert student < 0.5 * rmse(untrained.predict(X_te), t_te)


def test_raw_scale_teacher_distils_as_well_as_standardized():
    """Inputs in the thousands and targets around 150 need no help from the user."""
    core = make_torch_teacher(3, hidden=32, seed=1)
    x_loc, x_scale = np.array([3000.0, 0.5, -20.0]), np.array([800.0, 0.1, 5.0])
    raw = RawScale(core, x_loc, x_scale, 150.0, 40.0)
    params = dict(student=(16,), max_epochs=100, random_state=0)
    est_std = DataFreeDistillRegressor(core, **params).fit(
        input_spec=InputSpec(mean=np.zeros(3), std=np.ones(3))
    )
    est_raw = DataFreeDistillRegressor(raw, **params).fit(
        input_spec=InputSpec(mean=x_loc, std=x_scale)
    )
    Z = np.random.default_rng(0).normal(size=(2000, 3))
    X = x_loc + x_scale * Z
    rel_std = rmse(est_std.predict(Z), teacher_predict(core, Z))
    rel_raw = rmse(est_raw.predict(X), teacher_predict(raw, X)) / 40.0
    assert rel_raw == pytest.approx(rel_std, rel=0.05)
    assert rel_std < 0.5 * teacher_predict(core, Z).std()


# -------------------------------------------------------------- reproducibility
def test_same_random_state_same_predictions(torch_teacher):
    X = np.random.default_rng(0).normal(size=(50, 4))
    a = DataFreeDistillRegressor(torch_teacher, random_state=3, **FAST).fit().predict(X)
    b = DataFreeDistillRegressor(torch_teacher, random_state=3, **FAST).fit().predict(X)
    c = DataFreeDistillRegressor(torch_teacher, random_state=4, **FAST).fit().predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_joblib_round_trip(fitted, diabetes_teacher, tmp_path):
    _, _, X_te = diabetes_teacher
    joblib.dump(fitted, tmp_path / "est.joblib")
    loaded = joblib.load(tmp_path / "est.joblib")
    np.testing.assert_array_equal(loaded.predict(X_te), fitted.predict(X_te))


# ------------------------------------------------------------- fitted attributes
def test_fitted_attributes(fitted):
    assert isinstance(fitted.student_, ScaledStudent)
    assert fitted.teacher_.differentiable
    assert fitted.n_features_in_ == 10
    assert fitted.n_iter_ == FAST["max_epochs"]
    assert 0 <= fitted.best_epoch_ < fitted.n_iter_
    assert fitted.best_score_ == min(fitted.history_["val_rmse"])
    for key in (
        "loss_generated",
        "loss_random",
        "val_rmse",
        "elapsed",
        "n_teacher_queries",
        "alpha",
    ):
        assert len(fitted.history_[key]) == FAST["max_epochs"]
    assert np.all(np.diff(fitted.history_["elapsed"]) >= 0)
    assert fitted.history_["alpha"][0] == 1.0  # decreasing: 1 - epoch / epochs
    assert fitted.n_teacher_queries_ == fitted.history_["n_teacher_queries"][-1]


def test_student_module_speaks_raw_units(fitted, diabetes_teacher):
    _, _, X_te = diabetes_teacher
    with torch.no_grad():
        out = fitted.student_(torch.as_tensor(X_te, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, fitted.predict(X_te), rtol=1e-6)


@pytest.mark.parametrize(
    "alpha, gen, rand", [(0.0, False, True), (1.0, True, False), (0.5, True, True)]
)
def test_alpha_edges_spend_whole_budget(torch_teacher, alpha, gen, rand):
    est = DataFreeDistillRegressor(torch_teacher, alpha=alpha, random_state=0, **FAST)
    est.fit()
    h = est.history_
    assert np.isfinite(h["loss_generated"]).all() == gen
    assert np.isfinite(h["loss_random"]).all() == rand


def test_alpha_schedules_and_callable(torch_teacher):
    inc = DataFreeDistillRegressor(
        torch_teacher, alpha="increasing", random_state=0, **FAST
    ).fit()
    assert inc.history_["alpha"][0] == 0.0 and inc.history_["alpha"][-1] > 0.9
    cal = DataFreeDistillRegressor(
        torch_teacher, alpha=lambda p: 0.25, random_state=0, **FAST
    ).fit()
    assert set(cal.history_["alpha"]) == {0.25}


def test_random_sampler_ignores_alpha(torch_teacher):
    est = DataFreeDistillRegressor(
        torch_teacher, sampler="random", random_state=0, **FAST
    ).fit()
    assert set(est.history_["alpha"]) == {0.0}
    assert np.isnan(est.history_["loss_generated"]).all()


def test_regenerate_per_batch_follows_algorithm_1(torch_teacher):
    est = DataFreeDistillRegressor(
        torch_teacher, regenerate="batch", random_state=0, **FAST
    ).fit()
    epoch = DataFreeDistillRegressor(torch_teacher, random_state=0, **FAST).fit()
    X = np.random.default_rng(0).normal(size=(20, 4))
    assert not np.array_equal(est.predict(X), epoch.predict(X))
    assert est.best_score_ < 2 * epoch.best_score_ + 1e-3


def test_real_validation_data(diabetes_teacher):
    teacher, X_tr, X_te = diabetes_teacher
    y_te = teacher_predict(teacher, X_te) + 1.0
    est = DataFreeDistillRegressor(teacher, random_state=0, **FAST)
    est.fit(X_tr, validation_data=(X_te, y_te))
    assert est.best_score_ == pytest.approx(rmse(est.predict(X_te), y_te), rel=1e-4)
    est.fit(X_tr, validation_data=X_te)
    assert est.best_score_ == pytest.approx(
        rmse(est.predict(X_te), teacher_predict(teacher, X_te)), rel=1e-4
    )


def test_verbose_shows_progress(torch_teacher, capsys):
    DataFreeDistillRegressor(torch_teacher, verbose=1, random_state=0, **FAST).fit()
    err = capsys.readouterr().err
    assert "val_rmse" in err and "epoch" in err


# --------------------------------------------------------------------- teachers
def test_torch_teacher_is_not_modified(torch_teacher):
    torch_teacher.train()
    before = {k: v.clone() for k, v in torch_teacher.state_dict().items()}
    DataFreeDistillRegressor(torch_teacher, random_state=0, **FAST).fit()
    assert torch_teacher.training
    for k, v in torch_teacher.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert all(p.requires_grad for p in torch_teacher.parameters())


def test_sklearn_and_callable_teachers_with_random_sampler():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 3))
    teacher = make_pipeline(StandardScaler(), SVR()).fit(X, sum_of_squares(X))
    est = DataFreeDistillRegressor(teacher, sampler="random", regime="stream",
                                   random_state=0, **FAST)
    est.fit(bounds=[(-1, 1)] * 3)
    assert not est.teacher_.differentiable
    assert "SklearnTeacher(Pipeline" in repr(est.teacher_)
    est2 = DataFreeDistillRegressor(
        sum_of_squares, sampler="random", regime="stream", random_state=0, **FAST
    ).fit(bounds=[(-1, 1)] * 3)
    Xt = rng.uniform(-1, 1, size=(300, 3))
    assert rmse(est2.predict(Xt), sum_of_squares(Xt)) < sum_of_squares(Xt).std()
    # every row sent to the teacher is counted: validation + one epoch call each
    assert (
        est2.n_teacher_queries_
        == FAST["n_validation"]
        + FAST["max_epochs"] * 2 * FAST["batch_size"] * FAST["batches_per_epoch"]
    )


def test_skorch_teacher_is_differentiable():
    from skorch import NeuralNetRegressor

    X = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    y = X.sum(axis=1, keepdims=True).astype(np.float32)
    net = NeuralNetRegressor(
        make_torch_teacher(4), max_epochs=2, verbose=0, train_split=None
    ).fit(X, y)
    est = DataFreeDistillRegressor(net, random_state=0, **FAST).fit()
    assert est.teacher_.differentiable and est.n_features_in_ == 4


# --------------------------------------------------------------------- students
def test_student_specs(torch_teacher):
    from skorch import NeuralNetRegressor

    class Custom(torch.nn.Module):
        def __init__(self, n_features, width=8):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(n_features, width),
                torch.nn.ReLU(),
                torch.nn.Linear(width, 1),
            )

        def forward(self, x):
            return self.net(x)

    instance = Custom(4)
    before = [p.clone() for p in instance.parameters()]
    for student in [
        (8, 8),
        8,
        Custom,
        instance,
        NeuralNetRegressor(Custom, module__n_features=4, module__width=6),
    ]:
        est = DataFreeDistillRegressor(
            torch_teacher, student=student, random_state=0, **FAST
        ).fit()
        assert est.predict(np.zeros((3, 4))).shape == (3,)
    for p, q in zip(instance.parameters(), before):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


# ----------------------------------------------------------------------- errors
def test_errors_name_the_problem(torch_teacher):
    est = DataFreeDistillRegressor(torch_teacher, **FAST)
    with pytest.raises(ValueError, match="feature 1 are reversed"):
        est.fit(bounds=[(0, 1), (3, 2), (0, 1), (0, 1)])
    with pytest.raises(ValueError, match="feature 0 contain NaN"):
        est.fit(bounds=[(np.nan, 1)] * 4)
    with pytest.raises(ValueError, match="pairs"):
        est.fit(bounds=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="has 2 features but the teacher expects 4"):
        est.fit(bounds=[(0, 1)] * 2)
    with pytest.raises(ValueError, match="Give the input distribution once"):
        est.fit(np.zeros((5, 4)), bounds=[(0, 1)] * 4)
    with pytest.raises(
        ValueError,
        match=r"Unknown sampler 'magic'. Valid names: \[.*'direct'.*'random'",
    ):
        DataFreeDistillRegressor(torch_teacher, sampler="magic", **FAST).fit()
    with pytest.raises(ValueError, match="max_epochs"):
        DataFreeDistillRegressor(torch_teacher, max_epochs=0).fit()
    with pytest.raises(ValueError, match="alpha"):
        DataFreeDistillRegressor(torch_teacher, alpha=1.5).fit()
    with pytest.raises(ValueError, match="Unknown student spec 'big'"):
        DataFreeDistillRegressor(torch_teacher, student="big", **FAST).fit()
    with pytest.raises(TypeError, match="student must be"):
        DataFreeDistillRegressor(torch_teacher, student=2.5, **FAST).fit()
    assert not hasattr(est, "student_")


def test_unfitted_teachers():
    with pytest.raises(NotFittedError, match="Ridge is not fitted"):
        DataFreeDistillRegressor(Ridge(), sampler="random", **FAST).fit(bounds=[(0, 1)])
    from skorch import NeuralNetRegressor

    with pytest.raises(NotFittedError, match="not initialized"):
        DataFreeDistillRegressor(
            NeuralNetRegressor(
                torch.nn.Linear, module__in_features=2, module__out_features=1
            )
        ).fit()


def test_black_box_gradient_says_what_to_do():
    with pytest.raises(ValueError, match="black box. Use optimizer='de'"):
        DataFreeDistillRegressor(
            sum_of_squares, sampler="direct", optimizer="gradient", **FAST
        ).fit(bounds=[(0, 1)] * 2)


def test_no_spec_and_no_feature_count():
    with pytest.raises(ValueError, match="does not tell its number of features"):
        DataFreeDistillRegressor(sum_of_squares, sampler="random", **FAST).fit()


@pytest.mark.parametrize(
    "output, message",
    [
        (lambda X: np.zeros((len(X), 2, 2)), r"shape \(200, 2, 2\) for 200 rows"),
        (lambda X: np.full(len(X), np.nan), "200 non-finite values"),
        (lambda X: np.zeros(3), r"shape \(3,\) for 200 rows"),
        (lambda X: 1 / 0, "raised ZeroDivisionError while predicting 200 rows"),
    ],
)
def test_bad_teacher_outputs(output, message):
    est = DataFreeDistillRegressor(output, sampler="random", **FAST)
    with pytest.raises(Exception, match=message):
        est.fit(bounds=[(0, 1)] * 2)
    assert not hasattr(est, "student_") and not hasattr(est, "n_features_in_")


def test_failed_refit_leaves_nothing_half_fitted(fitted, diabetes_teacher):
    import copy

    est = copy.deepcopy(fitted)
    with pytest.raises(ValueError):
        est.fit(bounds=[(0, 1)] * 3)
    assert not hasattr(est, "student_") and not hasattr(est, "history_")
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((1, 10)))


def test_predict_checks(fitted, torch_teacher):
    with pytest.raises(ValueError, match="10 features"):
        fitted.predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        DataFreeDistillRegressor(torch_teacher).predict(np.zeros((2, 4)))

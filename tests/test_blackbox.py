"""Black-box teachers: differential evolution, query accounting, budgets, faults."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import KNeighborsRegressor

from skdistill import DataFreeDistillRegressor, InputSpec, RBFNet
from skdistill.objectives import TargetDiversity
from skdistill.teachers import TeacherError

from .conftest import make_torch_teacher, sum_of_squares

FAST = dict(regime="stream", sampler="direct",  # the paper's loop, DE on black boxes
            max_epochs=6, batches_per_epoch=3, batch_size=10, n_validation=100,
            de_maxiter=4)


class CountingTeacher:
    """A callable black box that records every call."""

    def __init__(self, func=sum_of_squares, fail_after=None, nan_after=None):
        self.func, self.calls, self.rows = func, 0, 0
        self.fail_after, self.nan_after = fail_after, nan_after

    def __call__(self, X):
        self.calls += 1
        self.rows += len(X)
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("service down")
        y = self.func(X)
        if self.nan_after is not None and self.calls > self.nan_after:
            y = y.copy()
            y[0] = np.nan
        return y


def test_auto_picks_de_for_black_boxes_and_gradients_otherwise():
    box = DataFreeDistillRegressor(sum_of_squares, random_state=0, **FAST)
    box.fit(bounds=[(-1, 1)] * 3)
    assert box.sampler_.optimizer_ == "de"
    grad = DataFreeDistillRegressor(make_torch_teacher(3), random_state=0, **FAST).fit()
    assert grad.sampler_.optimizer_ == "gradient"
    forced = DataFreeDistillRegressor(make_torch_teacher(3), optimizer="de",
                                      random_state=0, **FAST).fit()
    assert forced.sampler_.optimizer_ == "de"


def test_de_sends_one_call_per_generation_and_counts_every_row():
    teacher = CountingTeacher()
    est = DataFreeDistillRegressor(teacher, alpha=0.5, random_state=0, **FAST)
    est.fit(bounds=[(-1, 1)] * 3)
    # validation (1 call) + per epoch: initial population and de_maxiter generations
    # (one call each) and one call for the random samples
    assert teacher.calls == 1 + FAST["max_epochs"] * (FAST["de_maxiter"] + 2)
    per_epoch = (FAST["de_maxiter"] + 1) * 30 + 30
    assert teacher.rows == est.n_teacher_queries_ == 100 + 6 * per_epoch
    assert est.history_["n_teacher_queries"][-1] == est.n_teacher_queries_


def test_every_labelled_row_trains_the_student(monkeypatch):
    from skdistill import _trainer

    seen = []
    original = _trainer.MLPTrainer.step

    def spy(self, z, t, weights):
        seen.append(len(z))
        assert len(weights) == len(z)
        torch.testing.assert_close(weights.sum(), torch.tensor(1.0))
        return original(self, z, t, weights)

    monkeypatch.setattr(_trainer.MLPTrainer, "step", spy)
    est = DataFreeDistillRegressor(sum_of_squares, alpha=0.3, random_state=0, **FAST)
    est.fit(bounds=[(-1, 1)] * 3)
    assert sum(seen) == est.n_teacher_queries_ - FAST["n_validation"]


@pytest.mark.parametrize("regenerate", ["epoch", "batch"])
def test_de_distils_a_knn_teacher(regenerate):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    knn = KNeighborsRegressor(5).fit(X, sum_of_squares(X))
    est = DataFreeDistillRegressor(knn, student=(16,), regenerate=regenerate,
                                   max_epochs=40, batches_per_epoch=5, batch_size=10,
                                   de_maxiter=5, n_validation=300, lr=1e-2,
                                   random_state=0)
    est.fit(bounds=[(-1, 1)] * 2)
    X_te = rng.uniform(-1, 1, size=(500, 2))
    t = knn.predict(X_te)
    assert np.sqrt(np.mean((est.predict(X_te) - t) ** 2)) < 0.5 * t.std()


def test_target_range_switches_to_eq9():
    est = DataFreeDistillRegressor(sum_of_squares, target_range=(0, 3), epsilon=0.1,
                                   random_state=0, **FAST).fit(bounds=[(-1, 1)] * 2)
    terms = est.sampler_._objective.terms
    assert [type(t).__name__ for t in terms] == ["Disagreement", "TargetDiversity"]
    assert terms[0].weight == pytest.approx(0.1) and terms[1].weight == pytest.approx(0.9)


def test_target_diversity_pushes_teacher_outputs_towards_targets():
    term = TargetDiversity(1.0, (2.0, 2.0))
    term.begin(4, torch.Generator().manual_seed(0))
    t = torch.tensor([0.0, 1.0, 2.0, 3.0])
    torch.testing.assert_close(term(t, t, None), torch.tensor([4.0, 1.0, 0.0, 1.0]))


# ------------------------------------------------------------------------ budget
def test_query_budget_stops_cleanly_and_keeps_best_student():
    teacher = CountingTeacher()
    est = DataFreeDistillRegressor(teacher, alpha=0.5, random_state=0,
                                   max_teacher_queries=2000,
                                   **{**FAST, "max_epochs": 1000})
    est.fit(bounds=[(-1, 1)] * 3)
    assert est.stop_reason_ == "max_teacher_queries"
    assert teacher.rows == est.n_teacher_queries_ <= 2000
    assert 0 < est.n_iter_ < 1000 and len(est.history_["epoch"]) == est.n_iter_
    assert est.predict(np.zeros((2, 3))).shape == (2,)
    unlimited = DataFreeDistillRegressor(teacher, random_state=0, **FAST)
    assert unlimited.fit(bounds=[(-1, 1)] * 3).stop_reason_ == "max_epochs"


def test_budget_too_small_for_one_epoch():
    est = DataFreeDistillRegressor(sum_of_squares, max_teacher_queries=150,
                                   random_state=0, **FAST)
    with pytest.raises(ValueError, match="max_teacher_queries=150 is too small"):
        est.fit(bounds=[(-1, 1)] * 3)
    assert not hasattr(est, "student_")


# ------------------------------------------------------------------------ faults
def test_teacher_exception_says_what_was_being_done():
    est = DataFreeDistillRegressor(CountingTeacher(fail_after=3), random_state=0,
                                   **FAST)
    with pytest.raises(TeacherError, match="Epoch 0: The teacher raised RuntimeError "
                                           "while predicting .* rows: service down"):
        est.fit(bounds=[(-1, 1)] * 3)
    assert not hasattr(est, "student_")
    with pytest.raises(TeacherError, match="Labelling the synthetic validation set"):
        DataFreeDistillRegressor(CountingTeacher(fail_after=0), **FAST).fit(
            bounds=[(-1, 1)] * 3)


def test_nan_during_training_is_rejected():
    est = DataFreeDistillRegressor(CountingTeacher(nan_after=5), random_state=0,
                                   **FAST)
    with pytest.raises(TeacherError, match="non-finite values"):
        est.fit(bounds=[(-1, 1)] * 3)
    assert not hasattr(est, "history_")


# ------------------------------------------------------------------- constraints
@st.composite
def specs(draw):
    d = draw(st.integers(2, 6))
    kind = draw(
        st.sampled_from(["box", "gaussian", "simplex", "simplex_gaussian", "image"])
    )
    if kind == "box":
        low = np.array(draw(st.lists(st.floats(-1e3, 1e3), min_size=d, max_size=d)))
        width = np.array(draw(st.lists(st.floats(1e-3, 1e3), min_size=d, max_size=d)))
        return InputSpec(bounds=np.column_stack([low, low + width]))
    if kind == "gaussian":
        mean = np.array(draw(st.lists(st.floats(-100, 100), min_size=d, max_size=d)))
        std = np.array(draw(st.lists(st.floats(0.01, 50), min_size=d, max_size=d)))
        return InputSpec(mean=mean, std=std,
                         bounds=np.column_stack([mean - std, mean + 2 * std]))
    if kind == "simplex":
        return InputSpec(n_features=d, simplex=True)
    if kind == "image":
        low = draw(st.floats(-10, 10))
        high = low + draw(st.floats(0.1, 255))
        return InputSpec.image(
            (d, 3), mean=draw(st.floats(low, high)), std=draw(st.floats(0.01, 50)),
            value_range=(low, high),
        )
    mean = np.full(d, 1.0 / d)
    return InputSpec(mean=mean, std=np.full(d, 0.5 / d), simplex=True)


def _check_constraints(spec, X, tol=1e-5):
    scale = np.maximum(1.0, np.abs(spec.bounds[np.isfinite(spec.bounds)]).max())
    assert np.isfinite(X).all()
    assert (X >= spec.low - tol * scale).all() and (X <= spec.high + tol * scale).all()
    if spec.simplex:
        np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-5)
        assert (X >= -1e-6).all()


@settings(max_examples=30, deadline=None)
@given(spec=specs(), seed=st.integers(0, 2**16))
def test_every_draw_satisfies_the_spec(spec, seed):
    _check_constraints(spec, spec.draw(200, random_state=seed))


@settings(max_examples=8, deadline=None)
@given(spec=specs(), seed=st.integers(0, 2**16))
def test_every_optimised_sample_satisfies_the_spec(spec, seed):
    """Samples sent to the teacher, by DE, by gradient steps or by the generator,
    respect the spec."""
    sent = []

    def teacher(X):
        sent.append(np.array(X))
        return np.tanh(X / (1 + np.abs(X).max(axis=0))).sum(axis=1)

    for optimizer in ("de", "gradient", "generator"):
        sent.clear()
        if optimizer != "de":
            torch_teacher = make_torch_teacher(spec.n_features, hidden=8)

            def t_module(x, _m=torch_teacher):
                sent.append(x.detach().double().numpy())
                return _m(x)

            class Wrapped(torch.nn.Module):
                def forward(self, x):
                    return t_module(x)

            model = Wrapped()
        else:
            model = teacher
        kind = dict(sampler="generator") if optimizer == "generator" else dict(
            optimizer=optimizer
        )
        est = DataFreeDistillRegressor(model, **kind, max_epochs=2,
                                       batches_per_epoch=2, batch_size=5,
                                       n_validation=20, de_maxiter=3,
                                       random_state=seed)
        est.fit(input_spec=spec)
        _check_constraints(spec, np.vstack(sent), tol=1e-4)


# ---------------------------------------------------------------------- students
def test_rbf_student_short_spec():
    est = DataFreeDistillRegressor(sum_of_squares, student="rbf:12",
                                   random_state=0, **{**FAST, "sampler": "random"}
                                   ).fit(bounds=[(-1, 1)] * 2)
    assert isinstance(est.student_.core, RBFNet) and est.student_.core.n_units == 12
    assert DataFreeDistillRegressor(sum_of_squares, student="rbf", random_state=0,
                                    **{**FAST, "sampler": "random"}).fit(
        bounds=[(-1, 1)] * 2).student_.core.n_units == 100
    with pytest.raises(ValueError, match="Unknown student spec 'mlp'"):
        DataFreeDistillRegressor(sum_of_squares, student="mlp", **FAST).fit(
            bounds=[(-1, 1)] * 2)
    with pytest.raises(ValueError, match="positive integer"):
        DataFreeDistillRegressor(sum_of_squares, student="rbf:x", **FAST).fit(
            bounds=[(-1, 1)] * 2)


def test_rbf_network_matches_its_definition():
    net = RBFNet(3, 4)
    x = torch.randn(5, 3)
    gamma = torch.exp(net.log_gamma)
    phi = torch.exp(-gamma * ((x[:, None, :] - net.centers[None]) ** 2).sum(-1))
    torch.testing.assert_close(net(x), net.output(phi), rtol=1e-5, atol=1e-6)


def test_keyboard_interrupt_keeps_the_best_student_so_far():
    calls = {"n": 0}

    def impatient(X):
        calls["n"] += 1
        if calls["n"] > 12:
            raise KeyboardInterrupt
        return sum_of_squares(X)

    est = DataFreeDistillRegressor(impatient, random_state=0,
                                   **{**FAST, "max_epochs": 100})
    est.fit(bounds=[(-1, 1)] * 2)
    assert est.stop_reason_ == "interrupted"
    assert 0 < est.n_iter_ < 100 and len(est.history_["val_rmse"]) == est.n_iter_
    assert est.predict(np.zeros((1, 2))).shape == (1,)


def test_de_trust_region_keeps_members_near_their_start():
    from skdistill.inputs import StandardizedSpace
    from skdistill.objectives import direct_objective
    from skdistill.samplers import DifferentialEvolution, DistillProblem
    from skdistill.students import MLP
    from skdistill.teachers import CallableTeacher, StandardizedTeacher

    space = StandardizedSpace(InputSpec(n_features=3))
    teacher = CallableTeacher(sum_of_squares)

    problem = DistillProblem(space, StandardizedTeacher(teacher, space, 0.0, 1.0),
                             MLP(3, (4,)), torch.Generator().manual_seed(0))
    x0 = space.draw(20, torch.Generator().manual_seed(1))
    out = DifferentialEvolution(maxiter=6, radius=0.3).run(x0, problem,
                                                            direct_objective())
    assert out.x.shape == x0.shape and out.t.shape == (20,)
    # every point is within the radius of a start point (scipy moves its best member
    # to slot 0, so slots and start points may trade places)
    gaps = (out.x[:, None, :] - x0[None]).abs().amax(-1).amin(-1)
    assert gaps.max() <= 0.3 + 1e-5
    assert teacher.n_queries == 7 * 20 == len(out.x) + len(out.extra_x)
    torch.testing.assert_close(out.t, problem.teacher.label(out.x))

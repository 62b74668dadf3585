"""Objective terms (eq. 3, 5, 8, 9), user-defined terms and the log-cosh student loss."""

import math

import numpy as np
import pytest
import torch

from skdistill import DataFreeDistillRegressor
from skdistill._trainer import AutogradTrainer, make_trainer
from skdistill.inputs import InputSpec, StandardizedSpace
from skdistill.objectives import (
    CallableTerm,
    Disagreement,
    DiscreteTargetDiversity,
    InputL1Penalty,
    InputPenalty,
    LogCoshDisagreement,
    StudentOutputPenalty,
    TargetDiversity,
    as_objective,
    eq8_objective,
    logcosh,
    make_term,
    standardize_objective,
)
from skdistill.samplers import DirectSampler, DistillProblem
from skdistill.teachers import StandardizedTeacher, TorchTeacher

from .conftest import make_torch_teacher

T = torch.tensor([0.5, -1.0, 2.0, 3.0], dtype=torch.float64)
S = torch.tensor([0.0, 1.0, 2.5, -0.5], dtype=torch.float64)
X = torch.tensor(
    [[1.0, -2.0], [0.0, 0.5], [-3.0, 1.0], [0.25, 0.0]], dtype=torch.float64
)


def _begun(term):
    term.begin(len(T), torch.Generator().manual_seed(0))
    return term


def test_terms_match_hand_computation():
    t, s, x = T.tolist(), S.tolist(), X.tolist()
    w = 0.3
    expected = {
        Disagreement(w): [-w * (a - b) ** 2 for a, b in zip(t, s)],
        LogCoshDisagreement(w): [-w * math.log(math.cosh(a - b)) for a, b in zip(t, s)],
        InputPenalty(w): [w * (r[0] ** 2 + r[1] ** 2) for r in x],
        InputL1Penalty(w): [w * (abs(r[0]) + abs(r[1])) for r in x],
        StudentOutputPenalty(w): [w * b**2 for b in s],
    }
    for term, want in expected.items():
        np.testing.assert_allclose(term(T, S, X), want, rtol=1e-12, err_msg=repr(term))
    div = _begun(DiscreteTargetDiversity(w, values=[0, 4]))
    y = div.y_rand.tolist()
    np.testing.assert_allclose(
        div(T, S, X), [w * (a - r) ** 2 for a, r in zip(t, y)], rtol=1e-6
    )


TERMS_WITH_GRAD = [
    Disagreement(0.7),
    LogCoshDisagreement(0.7),
    InputPenalty(0.7),
    InputL1Penalty(0.7),
    StudentOutputPenalty(0.7),
    TargetDiversity(0.7, (-1.0, 2.0)),
    DiscreteTargetDiversity(0.7, values=range(5)),
]


@pytest.mark.parametrize("term", TERMS_WITH_GRAD, ids=repr)
def test_closed_form_grad_matches_autograd(term):
    _begun(term)
    t, s, x = (v.clone().requires_grad_(True) for v in (T, S, X))
    scale = 0.25
    (term(t, s, x).sum() * scale).backward()
    closed = term.grad(T.clone(), S.clone(), X.clone(), scale)
    for got, auto in zip(closed, (t.grad, s.grad, x.grad)):
        if got is None:
            assert auto is None or torch.count_nonzero(auto) == 0
        else:
            torch.testing.assert_close(got, auto)


def test_logcosh_is_stable_for_large_errors():
    u = torch.tensor([0.0, 1e-4, 30.0, -1000.0], dtype=torch.float64)
    np.testing.assert_allclose(
        logcosh(u), [0.0, 0.5e-8, 30 - math.log(2), 1000 - math.log(2)], rtol=1e-6
    )


def test_discrete_targets_drawn_only_from_the_set():
    term = DiscreteTargetDiversity(1.0, values=[0, 2.5, 9])
    term.begin(3000, torch.Generator().manual_seed(1))
    drawn, counts = np.unique(term.y_rand.numpy(), return_counts=True)
    np.testing.assert_array_equal(drawn, [0.0, 2.5, 9.0])
    assert counts.min() > 900  # uniform over the set


def test_eq8_from_terms_equals_the_formula():
    eps, beta, gamma = 1e-3, 1e-2, 0.5
    obj = eq8_objective(eps, beta, gamma, values=range(10))
    obj.begin(len(T), torch.Generator().manual_seed(0))
    y_rand = obj.terms[-1].y_rand.double()
    assert set(y_rand.tolist()) <= set(range(10))
    formula = (
        -eps * torch.log(torch.cosh(T - S))
        + beta * X.abs().sum(1)
        + gamma * (T - y_rand) ** 2
    )
    torch.testing.assert_close(obj(T, S, X), formula)
    assert obj.has_grad  # the closed-form fast path applies to eq. 8 too


def test_terms_by_name_and_callables_compose():
    def sparse_far(t, s, x):
        return -(t - s).abs()

    obj = as_objective([("logcosh", 2.0), "l1", sparse_far])
    assert [type(t) for t in obj.terms] == [
        LogCoshDisagreement,
        InputL1Penalty,
        CallableTerm,
    ]
    want = -2.0 * logcosh(T - S) + X.abs().sum(1) - (T - S).abs()
    torch.testing.assert_close(obj(T, S, X), want)
    assert not obj.has_grad  # callables go through autograd
    assert isinstance(make_term("target", 1.0, target_range=(0, 1)), TargetDiversity)
    with pytest.raises(ValueError, match="Unknown objective term"):
        make_term("l3")
    with pytest.raises(ValueError, match="per-sample"):
        as_objective(lambda t, s, x: (t - s).sum())(T, S, X)


def test_callable_term_drives_direct_optimisation():
    """A user term rewarding large first features moves only those features."""
    teacher = TorchTeacher(make_torch_teacher(3, 8))
    space = StandardizedSpace(InputSpec(n_features=3))
    problem = DistillProblem(
        space,
        StandardizedTeacher(teacher, space, 0.0, 1.0),
        make_torch_teacher(3, 4, seed=1),
        torch.Generator().manual_seed(0),
    )
    sampler = DirectSampler(objective=as_objective(lambda t, s, x: -x[:, 0]), steps=5)
    x = sampler.setup(problem).generate(torch.zeros(50, 3))
    assert (x[:, 0] > 0.1).all()
    assert (x[:, 1:] == 0).all()


def test_estimator_objective_values_in_teacher_units():
    """Target values given in the teacher's units are standardized by the estimator."""
    teacher = make_torch_teacher(3, 8)
    est = DataFreeDistillRegressor(
        teacher,
        student=(4,),
        objective=[("squared", 0.1), ("target", 1.0, {"values": [0.0, 1.0]})],
        max_epochs=2,
        batches_per_epoch=2,
        batch_size=10,
        n_validation=50,
        random_state=0,
    ).fit()
    y_loc, y_scale = float(est.student_.y_loc), float(est.student_.y_scale)
    term = est.sampler_._objective.terms[1]
    np.testing.assert_allclose(
        term.values.numpy(), [(0 - y_loc) / y_scale, (1 - y_loc) / y_scale], rtol=1e-6
    )
    user = est.objective[1][2]
    assert user == {"values": [0.0, 1.0]}  # the parameter is left alone
    obj = standardize_objective([TargetDiversity(1.0, (2.0, 4.0))], 1.0, 2.0)
    assert obj.terms[0].target_range == (0.5, 1.5)


@pytest.mark.parametrize("loss", ["squared", "logcosh"])
def test_mlp_fast_path_is_exact_for_each_student_loss(loss):
    torch.manual_seed(0)
    fast_student = make_torch_teacher(4, 16)
    slow_student = make_torch_teacher(4, 16)
    fast = make_trainer(fast_student, 1e-2, 1e-5, loss)
    slow = AutogradTrainer(slow_student, 1e-2, 1e-5, loss)
    assert type(fast).__name__ == "MLPTrainer"
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        z = torch.randn(30, 4, generator=gen)
        t = 3.0 * torch.randn(30, generator=gen)
        w = torch.full((30,), 1 / 30)
        torch.testing.assert_close(fast.step(z, t, w), slow.step(z, t, w))
    for p, q in zip(fast_student.parameters(), slow_student.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_logcosh_student_loss_trains():
    teacher = make_torch_teacher(3, 16)
    kwargs = dict(
        student=(16,),
        sampler="random",
        max_epochs=40,
        batches_per_epoch=5,
        batch_size=20,
        lr=1e-2,
        n_validation=200,
        random_state=0,
    )
    est = DataFreeDistillRegressor(teacher, loss="logcosh", **kwargs).fit()
    rmse = est.history_["val_rmse"]
    assert est.best_score_ < 0.5 * rmse[0]
    with pytest.raises(ValueError, match="loss"):
        DataFreeDistillRegressor(teacher, loss="huber", **kwargs).fit()

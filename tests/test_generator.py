"""The adversarial generator sampler (paper section 3.2.2, eq. 3)."""

import copy

import numpy as np
import pytest
import torch

from skdistill import DataFreeDistillRegressor
from skdistill.objectives import direct_objective
from skdistill.samplers import SAMPLERS, GeneratorSampler, resolve_sampler

from .conftest import make_torch_teacher, sum_of_squares

FAST = dict(max_epochs=20, batches_per_epoch=3, batch_size=20, n_validation=100)
SMALL = dict(hidden=32, noise_dim=8)


class Recording(GeneratorSampler):
    """Keeps what it was given and what it returned."""

    def setup(self, problem):
        self.calls = []
        return super().setup(problem)

    def generate(self, x0):
        out = super().generate(x0)
        self.calls.append((tuple(x0.shape), out.clone()))
        return out


class CheckingGradients(GeneratorSampler):
    """Compares each explicit-backpropagation step with autograd on a copy."""

    def setup(self, problem):
        self.errors = []
        return super().setup(problem)

    def step(self, n):
        state = self._noise.get_state()
        noise = self._draw_noise(n)
        self._noise.set_state(state)  # the real step draws the same noise
        net = copy.deepcopy(self.generator_).requires_grad_(True)
        x = self.problem.space.project(net(noise))
        t = self.problem.teacher.forward(x)
        s = self.problem.student(x).reshape(-1)
        loss = direct_objective(self.beta, self.gamma)(t, s, x).mean()
        expected = torch.autograd.grad(loss, list(net.parameters()))
        out = super().step(n)
        for want, got in zip(expected, self._grads):
            scale = float(want.abs().max()) + 1e-12
            self.errors.append(float((want - got).abs().max()) / scale)
        return out


class TinyStudent(torch.nn.Module):
    """Not an nn.Sequential: the student takes the autograd path."""

    def __init__(self, n_features=4):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, 8)
        self.out = torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def test_registered_and_selectable_by_name(torch_teacher):
    assert SAMPLERS["generator"] is GeneratorSampler
    est = DataFreeDistillRegressor(
        torch_teacher,
        student=(8,),
        sampler="generator",
        beta=1e-3,
        gamma=1e-4,
        random_state=0,
        **FAST,
    ).fit()
    sampler = est.sampler_
    assert isinstance(sampler, GeneratorSampler)
    # the estimator's beta and gamma reach eq. 3; direct_lr/steps do not apply
    assert (sampler.beta, sampler.gamma) == (1e-3, 1e-4)
    assert sampler.generator_lr == 1e-3
    assert sampler.n_steps_ == FAST["max_epochs"]  # one step per epoch
    assert np.isfinite(est.predict(np.zeros((3, 4)))).all()
    assert np.isfinite(est.history_["loss_generated"]).all()


def test_resolve_passes_only_accepted_defaults():
    params = dict(lr=0.5, steps=7, beta=0.1, gamma=0.2)
    sampler = resolve_sampler("generator", params)
    assert (sampler.beta, sampler.gamma, sampler.generator_lr) == (0.1, 0.2, 1e-3)
    assert sampler.generator_steps == 1


def test_same_random_state_same_student_and_generator(torch_teacher):
    X = np.random.default_rng(0).normal(size=(50, 4))

    def fit(seed):
        return DataFreeDistillRegressor(
            torch_teacher,
            student=(8,),
            sampler=GeneratorSampler(**SMALL),
            random_state=seed,
            **FAST,
        ).fit()

    a, b, c = fit(3), fit(3), fit(4)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for p, q in zip(
        a.sampler_.generator_.parameters(), b.sampler_.generator_.parameters()
    ):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_generated_samples_are_harder_than_random_draws(torch_teacher):
    """After a few steps, the generator finds inputs where the student is wrong."""
    est = DataFreeDistillRegressor(
        torch_teacher,
        student=(8,),
        sampler="generator",
        alpha=0.5,
        random_state=0,
        **FAST,
    ).fit()
    h = est.history_
    generated = np.mean(h["loss_generated"][-10:])
    random = np.mean(h["loss_random"][-10:])
    assert generated > 2 * random


@pytest.mark.parametrize("regenerate, per_epoch", [("epoch", 1), ("batch", 3)])
def test_regenerate_epoch_and_batch(torch_teacher, regenerate, per_epoch):
    est = DataFreeDistillRegressor(
        torch_teacher,
        student=(8,),
        sampler=Recording(**SMALL),
        regenerate=regenerate,
        random_state=0,
        **FAST,
    ).fit()
    sampler = est.sampler_
    # one generator step per call of generate: per epoch, or per batch
    assert len(sampler.calls) == sampler.n_steps_ == per_epoch * FAST["max_epochs"]
    m, nb = FAST["batch_size"], FAST["batches_per_epoch"]
    rows = 2 * m if regenerate == "batch" else 2 * m * nb  # alpha = 1 at epoch 0
    assert sampler.calls[0][0] == (rows, 4)
    for shape, out in sampler.calls:
        assert out.shape == shape
        assert torch.isfinite(out).all()
    assert np.isfinite(est.predict(np.zeros((3, 4)))).all()


def test_generated_samples_respect_bounds(torch_teacher):
    est = DataFreeDistillRegressor(
        torch_teacher,
        student=(8,),
        sampler=Recording(**SMALL, generator_lr=0.05),  # pushed hard to the edges
        alpha=1.0,
        random_state=0,
        **FAST,
    ).fit(bounds=[(-0.5, 0.5), (0, 1), (-2, 2), (1, 3)])
    low = torch.tensor([-0.5, 0.0, -2.0, 1.0])
    high = torch.tensor([0.5, 1.0, 2.0, 3.0])
    space = est.input_spec_
    loc, scale = (
        torch.as_tensor(a, dtype=torch.float32) for a in space.standardization()
    )
    for _, z in est.sampler_.calls:
        x = loc + scale * z
        assert (x >= low - 1e-5).all() and (x <= high + 1e-5).all()
    on_edge = torch.cat(
        [((loc + scale * z - low).abs() < 1e-4) for _, z in est.sampler_.calls]
    )
    assert on_edge.any()  # the bounds were actually reached, and held


@pytest.mark.parametrize("student", [(8,), TinyStudent], ids=["mlp", "autograd"])
def test_explicit_backpropagation_matches_autograd(student):
    teacher = make_torch_teacher(4, hidden=16)
    est = DataFreeDistillRegressor(
        teacher,
        student=student,
        sampler=CheckingGradients(**SMALL, beta=0.1, gamma=0.05),
        random_state=0,
        max_epochs=5,
        batches_per_epoch=2,
        batch_size=10,
        n_validation=50,
    ).fit()
    errors = est.sampler_.errors
    assert len(errors) == 5 * 4  # 4 parameter tensors per step
    assert max(errors) < 1e-4


def test_black_box_teacher_is_a_clear_error():
    est = DataFreeDistillRegressor(
        sum_of_squares, student=(4,), sampler="generator", **FAST
    )
    with pytest.raises(ValueError, match="black box.*sampler='random'"):
        est.fit(bounds=[(-1, 1)] * 3)
    assert not hasattr(est, "student_")


def test_unknown_sampler_lists_generator(torch_teacher):
    est = DataFreeDistillRegressor(torch_teacher, sampler="gan", **FAST)
    with pytest.raises(ValueError, match="Unknown sampler 'gan'.*'generator'"):
        est.fit()


@pytest.mark.parametrize("param, value", [("noise_dim", 0), ("hidden", 2.5)])
def test_bad_generator_sizes(torch_teacher, param, value):
    est = DataFreeDistillRegressor(
        torch_teacher, sampler=GeneratorSampler(**{param: value}), **FAST
    )
    with pytest.raises(ValueError, match=param):
        est.fit()


def test_fitted_estimator_pickles(torch_teacher, tmp_path):
    import joblib

    est = DataFreeDistillRegressor(
        torch_teacher,
        student=(8,),
        sampler=GeneratorSampler(**SMALL),
        random_state=0,
        **FAST,
    ).fit()
    joblib.dump(est, tmp_path / "est.joblib")
    again = joblib.load(tmp_path / "est.joblib")
    X = np.zeros((2, 4))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_teacher_query_budget_is_kept(torch_teacher):
    """Each call spends one gradient evaluation per generator step plus the labels."""
    assert GeneratorSampler(generator_steps=2).query_cost(10) == 30
    budget = 2_000
    est = DataFreeDistillRegressor(
        torch_teacher,
        student=(8,),
        sampler=GeneratorSampler(**SMALL),
        max_teacher_queries=budget,
        random_state=0,
        **FAST,
    ).fit()
    assert est.stop_reason_ == "max_teacher_queries"
    assert 0 < est.n_iter_ < FAST["max_epochs"]
    assert est.n_teacher_queries_ <= budget

"""The autograd-free MLP path computes what autograd computes."""

import numpy as np
import pytest
import torch
from torch import nn

from skdistill import InputSpec
from skdistill._mlp import FunctionalMLP
from skdistill._trainer import AutogradTrainer, MLPTrainer, make_trainer
from skdistill.inputs import StandardizedSpace
from skdistill.objectives import direct_objective
from skdistill.samplers import DirectSampler, DistillProblem
from skdistill.students import MLP
from skdistill.teachers import StandardizedTeacher, TorchTeacher

ACTIVATIONS = [nn.Tanh, nn.ReLU, nn.Sigmoid, nn.Softplus]


def net(d, widths, act):
    layers, w = [], d
    for h in widths:
        layers += [nn.Linear(w, h), act()]
        w = h
    return nn.Sequential(*layers, nn.Linear(w, 1))


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("widths", [(7,), (6, 5)])
def test_input_gradient_matches_autograd(act, widths):
    torch.manual_seed(0)
    module = net(3, widths, act).eval()
    loc, scale = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([2.0, 0.5, 3.0])
    mlp = FunctionalMLP.from_module(module, loc, scale, 0.3, 1.7, fold_tanh=True)
    z = torch.randn(11, 3, requires_grad=True)
    ref = (module(loc + scale * z).view(-1) - 0.3) / 1.7
    g_out = torch.randn(11)
    (ref_grad,) = torch.autograd.grad((ref * g_out).sum(), z)
    out, inputs = mlp.forward(z.detach())
    torch.testing.assert_close(out, ref.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        mlp.backward_input(inputs, g_out), ref_grad, rtol=1e-4, atol=1e-5
    )


def test_unsupported_modules_take_the_autograd_path():
    assert (
        FunctionalMLP.from_module(
            nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1))
        )
        is None
    )
    # several outputs are a plain MLP too (multi-output teachers and students)
    assert FunctionalMLP.from_module(nn.Linear(2, 2)).n_outputs == 2
    student = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1))
    assert isinstance(make_trainer(student, 1e-3, 0.0), AutogradTrainer)


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU, nn.Sigmoid])
def test_mlp_trainer_matches_torch_rmsprop(act):
    torch.manual_seed(0)
    a = net(4, (9, 5), act)
    b = net(4, (9, 5), act)
    b.load_state_dict(a.state_dict())
    fast, slow = make_trainer(a, 1e-2, 1e-3), AutogradTrainer(b, 1e-2, 1e-3)
    assert isinstance(fast, MLPTrainer)
    w = torch.rand(30)
    for _ in range(5):
        z, t = torch.randn(30, 4), torch.randn(30)
        torch.testing.assert_close(
            fast.step(z, t, w), slow.step(z, t, w), rtol=1e-4, atol=1e-5
        )
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    snap = fast.snapshot()
    fast.step(z, t, w)
    fast.restore(snap)
    torch.testing.assert_close(
        list(a.parameters())[0], list(b.parameters())[0], rtol=1e-4, atol=1e-5
    )


def test_direct_sampler_fast_and_autograd_agree():
    torch.manual_seed(0)
    teacher = TorchTeacher(net(3, (20,), nn.Tanh))
    space = StandardizedSpace(InputSpec(bounds=[(-1, 1), (0, 10), (5, 6)]))
    student = MLP(3, (6,))
    view = StandardizedTeacher(teacher, space, 0.0, 1.0)
    kwargs = dict(
        space=space,
        teacher=view,
        student=student,
        generator=torch.Generator().manual_seed(0),
    )
    # the fast path needs MLP views of both teacher and student; without the
    # student's, the same sampler runs on autograd
    assert view.mlp is not None
    fast_problem = DistillProblem(
        **kwargs, student_mlp=FunctionalMLP.from_module(student)
    )
    x0 = space.draw(64, torch.Generator().manual_seed(1))
    fast = DirectSampler(lr=0.05, steps=3, beta=0.1, gamma=0.2).setup(fast_problem)
    slow = DirectSampler(lr=0.05, steps=3, beta=0.1, gamma=0.2).setup(
        DistillProblem(**kwargs)
    )
    out_fast, out_slow = fast.generate(x0), slow.generate(x0)
    torch.testing.assert_close(out_fast, out_slow, rtol=1e-4, atol=1e-4)
    # the generated samples stay inside the bounds and moved away from the start
    assert (space.to_raw(out_fast) >= torch.tensor([-1, 0, 5]) - 1e-4).all()
    assert (space.to_raw(out_fast) <= torch.tensor([1, 10, 6]) + 1e-4).all()
    assert not torch.allclose(out_fast, x0)


def test_direct_steps_raise_student_loss():
    """Algorithm 2's purpose: generated samples have a larger student loss (eq. 1)."""
    torch.manual_seed(0)
    teacher = TorchTeacher(net(5, (50,), nn.Tanh))
    space = StandardizedSpace(InputSpec(n_features=5))
    student = MLP(5, (8,))
    view = StandardizedTeacher(teacher, space, 0.0, 1.0)
    label = view.forward
    problem = DistillProblem(
        space, view, student, torch.Generator().manual_seed(0)
    )
    sampler = DirectSampler().setup(problem)
    x0 = space.draw(500, problem.generator)
    with torch.no_grad():
        before = ((label(x0) - student(x0).view(-1)) ** 2).mean()
        x = sampler.generate(x0)
        after = ((label(x) - student(x).view(-1)) ** 2).mean()
    assert after > 1.5 * before
    assert np.isfinite(float(after))


def test_direct_objective_grad_matches_autograd():
    obj = direct_objective(beta=0.3, gamma=0.7)
    t, s = torch.randn(8, requires_grad=True), torch.randn(8, requires_grad=True)
    x = torch.randn(8, 3, requires_grad=True)
    refs = torch.autograd.grad(obj(t, s, x).sum() * 0.5, (t, s, x))
    for got, ref in zip(obj.grad(t.detach(), s.detach(), x.detach(), 0.5), refs):
        torch.testing.assert_close(got, ref)

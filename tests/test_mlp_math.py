"""One copy of the MLP math: one activation table, one reading of "plain MLP", one
RMSprop; every path (autograd, the torch fast path, the NumPy trainer, the compact
model, translated teachers) agrees on them."""

import numpy as np
import pytest
import torch
from torch import nn

from skdistill import DataFreeDistillRegressor
from skdistill._activations import (
    ACTIVATIONS,
    from_module,
    numpy_backward,
    numpy_forward,
    to_module,
)
from skdistill._mlp import Adam, FunctionalMLP, RMSprop, mlp_layers, torch_kernels
from skdistill._trainer import AutogradTrainer, MLPTrainer, make_trainer

SPECS = ["identity", "tanh", "relu", "logistic", ("softplus", 2.0, 5.0)]


def _spec_name(spec):
    return spec if isinstance(spec, str) else "softplus"


@pytest.mark.parametrize("spec", SPECS, ids=_spec_name)
def test_every_kernel_computes_the_torch_module(spec):
    module = to_module(spec)
    assert from_module(module) == spec
    h = torch.linspace(-4, 4, 41, dtype=torch.float64, requires_grad=True)
    ref = module(h)
    g = torch.rand(41, dtype=torch.float64)
    (ref_grad,) = torch.autograd.grad((ref * g).sum(), h)
    y = ref.detach()

    out = numpy_forward(spec)(h.detach().numpy().copy())
    np.testing.assert_allclose(out, y.numpy(), rtol=1e-12, atol=1e-12)
    backward = numpy_backward(spec)
    g_np = g.numpy().copy()
    if backward is not None:
        backward(g_np, y.numpy())
    np.testing.assert_allclose(g_np, ref_grad.numpy(), rtol=1e-7, atol=1e-8)

    kernels = torch_kernels(spec)
    if kernels is None:
        assert spec == "identity"
        return
    forward_, backward_ = kernels
    out_t = h.detach().clone()
    forward_(out_t)
    torch.testing.assert_close(out_t, y, rtol=1e-12, atol=1e-12)
    g_t = g.clone()
    backward_(g_t, y)
    torch.testing.assert_close(g_t, ref_grad, rtol=1e-7, atol=1e-8)


def test_the_table_names_every_activation_once():
    assert set(ACTIVATIONS) == {_spec_name(spec) for spec in SPECS}
    assert from_module(nn.GELU()) is None
    with pytest.raises(ValueError, match="Unknown activation 'gelu'"):
        to_module("gelu")


def test_plain_mlp_is_read_one_way():
    good = nn.Sequential(
        nn.Linear(3, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 2), nn.Identity()),
        nn.Softplus(beta=2.0), nn.Dropout(0.1), nn.Linear(2, 1),
    ).eval()
    layers = mlp_layers(good)
    assert [spec for _, spec in layers] == ["tanh", ("softplus", 2.0, 20.0), "identity"]
    assert mlp_layers(good.train()) is None  # dropout noise: not a plain function
    assert [spec for _, spec in mlp_layers(nn.Linear(3, 2))] == ["identity"]  # 2 outputs
    for bad in [
        nn.Sequential(nn.Tanh(), nn.Linear(3, 1)),  # activation first
        nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.ReLU(), nn.Linear(4, 1)),
        nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1)),
    ]:
        assert mlp_layers(bad) is None
        assert FunctionalMLP.from_module(bad) is None


def test_softplus_of_any_beta_takes_every_fast_path():
    """Softplus was fast in some paths only (beta=1); now it is in all of them."""
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(4, 6), nn.Softplus(beta=3.0), nn.Linear(6, 1))
    b = nn.Sequential(nn.Linear(4, 6), nn.Softplus(beta=3.0), nn.Linear(6, 1))
    b.load_state_dict(a.state_dict())
    fast, slow = make_trainer(a, 1e-2, 1e-3), AutogradTrainer(b, 1e-2, 1e-3)
    assert isinstance(fast, MLPTrainer) and fast._numpy is not None
    w = torch.rand(20)
    for _ in range(4):
        z, t = torch.randn(20, 4), torch.randn(20)
        torch.testing.assert_close(fast.step(z, t, w), slow.step(z, t, w),
                                   rtol=1e-4, atol=1e-5)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_softplus_student_compacts_to_numpy():
    student = nn.Sequential(nn.Linear(2, 8), nn.Softplus(beta=0.5), nn.Linear(8, 1))
    est = DataFreeDistillRegressor(
        lambda X: X[:, 0] * X[:, 1], student=student, sampler="random",
        max_epochs=3, batches_per_epoch=5, n_validation=50, random_state=0,
    ).fit(bounds=[(-1, 1)] * 2)
    compact = est.to_compact()
    assert compact.module_ is None  # NumPy weights, not a pickled torch module
    X = np.random.RandomState(0).uniform(-1, 1, (200, 2))
    np.testing.assert_allclose(compact.predict(X), est.predict(X), rtol=1e-6, atol=1e-9)
    again = compact.to_torch(dtype="float64")
    np.testing.assert_allclose(
        again(torch.as_tensor(X)).numpy().reshape(-1), est.predict(X), rtol=1e-6,
        atol=1e-9,
    )


OPTIMIZERS = {
    # ours, torch's, keyword arguments, tolerance
    "rmsprop": (RMSprop, torch.optim.RMSprop, {"alpha": 0.9}, 1e-12),
    "adam": (Adam, torch.optim.Adam, {}, 1e-10),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_optimizer_is_torchs(name, weight_decay):
    ours, theirs, kwargs, rtol = OPTIMIZERS[name]
    torch.manual_seed(0)
    ref = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    torch_opt = theirs([ref], lr=0.05, weight_decay=weight_decay, **kwargs)
    ours_t, ours_np = ref.detach().clone(), ref.detach().clone()
    opt_t = ours(ours_t, 0.05, weight_decay=weight_decay, **kwargs)
    opt_np = ours(ours_np, 0.05, weight_decay=weight_decay, **kwargs)
    opt_np.numpy_moments()
    work = (np.empty((7, 3)), np.empty((7, 3)))
    for _ in range(5):
        grad = torch.randn(7, 3, dtype=torch.float64)
        ref.grad = grad.clone()
        torch_opt.step()
        opt_t.step(ours_t, grad)
        opt_np.numpy_step(ours_np.numpy(), grad.numpy(), work)
    torch.testing.assert_close(ours_t, ref.detach(), rtol=rtol, atol=1e-12)
    torch.testing.assert_close(ours_np, ref.detach(), rtol=rtol, atol=1e-12)


def test_mlp_trainer_with_adam_matches_torch():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
    b = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
    b.load_state_dict(a.state_dict())
    fast = make_trainer(a, 1e-2, 1e-3, optimizer="adam")
    slow = AutogradTrainer(b, 1e-2, 1e-3, optimizer="adam")
    assert isinstance(fast, MLPTrainer)
    w = torch.rand(20)
    for _ in range(4):
        z, t = torch.randn(20, 4), torch.randn(20)
        fast.step(z, t, w), slow.step(z, t, w)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)

"""``device``: teacher, student and sampling where the user asks, or a clear error.

Every test runs on the CPU, and again on ``"cuda"`` when torch sees a GPU: the CPU
run checks the test itself and an explicit ``device="cpu"``.
"""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdistill import DataFreeDistillRegressor

from .conftest import make_torch_teacher, sum_of_squares

CUDA = torch.cuda.is_available()
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(
            not CUDA, reason="torch sees no CUDA GPU (torch.cuda.is_available())"
        ),
    ),
]
FAST = dict(
    student=(8,),
    max_epochs=3,
    batches_per_epoch=2,
    batch_size=10,
    n_validation=50,
    random_state=0,
)
BOUNDS = [(-1, 1)] * 4
X = np.random.default_rng(0).uniform(-1, 1, (30, 4))


class DeviceSpy(torch.nn.Module):
    """A torch teacher recording the device of every input it is asked about."""

    def __init__(self):
        super().__init__()
        self.net = make_torch_teacher(n_features=4)
        self.devices = set()

    def forward(self, x):
        self.devices.add(x.device.type)
        return self.net(x)


def devices_of(module):
    return {p.device.type for p in module.parameters()}


def check_fitted_on(est, device):
    assert devices_of(est.student_) == {device}
    pred = est.predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == (30,)
    assert np.isfinite(pred).all()
    compact = est.to_compact()  # ships on the CPU, predicts what predict does
    np.testing.assert_allclose(compact.predict(X), pred, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sampler", ["random", "direct", "generator"])
def test_torch_teacher_student_and_sampling_on_device(device, sampler):
    spy = DeviceSpy()
    est = DataFreeDistillRegressor(spy, sampler=sampler, device=device, **FAST)
    est.fit(bounds=BOUNDS)
    assert devices_of(est.teacher_.module) == {device}
    # every query (labels, gradients) went to the device, to the fit's own copy
    assert est.teacher_.module.devices == {device} and not spy.devices
    if sampler == "direct":
        assert est.sampler_.optimizer_ == "gradient"
    if sampler == "generator":
        assert devices_of(est.sampler_.generator_) == {device}
    check_fitted_on(est, device)


@pytest.mark.parametrize("device", DEVICES)
def test_plain_mlp_teacher_fast_path_on_device(device):
    teacher = make_torch_teacher(n_features=4)
    est = DataFreeDistillRegressor(teacher, sampler="direct", device=device, **FAST)
    est.fit(bounds=BOUNDS)
    assert devices_of(est.teacher_.module) == {device}
    assert devices_of(teacher) == {"cpu"}  # the user's module is not moved
    check_fitted_on(est, device)


@pytest.mark.parametrize("device", DEVICES)
def test_black_box_teacher_with_de_on_device(device):
    est = DataFreeDistillRegressor(
        sum_of_squares, sampler="direct", de_maxiter=2, device=device, **FAST
    )
    est.fit(bounds=BOUNDS)
    assert est.sampler_.optimizer_ == "de"
    check_fitted_on(est, device)


def test_explicit_cpu_device_object():
    est = DataFreeDistillRegressor(
        make_torch_teacher(n_features=4), device=torch.device("cpu"), **FAST
    )
    check_fitted_on(est.fit(bounds=BOUNDS), "cpu")


@pytest.mark.skipif(CUDA, reason="torch sees a CUDA GPU here")
def test_cuda_without_a_gpu_is_a_clear_error_at_fit():
    est = DataFreeDistillRegressor(
        make_torch_teacher(n_features=4), device="cuda", **FAST
    )
    with pytest.raises(ValueError, match=r"device='cuda'.*no CUDA GPU.*device='cpu'"):
        est.fit(bounds=BOUNDS)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_unknown_device_is_a_clear_error_at_fit():
    est = DataFreeDistillRegressor(make_torch_teacher(n_features=4), device="gpu")
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        est.fit(bounds=BOUNDS)

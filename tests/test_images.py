"""Image inputs: image specs, convolutional students and teachers (section 3.5)."""

import numpy as np
import pytest
import torch
from torch import nn

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.objectives import eq8_objective
from skdistill.students_cnn import ImageInput, PaperCNN, build_image_student


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # tiny convolutions: a second thread only adds contention on a shared machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small_cnn_teacher(seed=0):
    """A CNN taking (n, 1, 8, 8) images only, with outputs spread over 0..9."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 16),
        nn.Tanh(),
        nn.Linear(16, 1),
    )


def test_image_spec_draws_per_pixel_moments_and_range():
    rng = np.random.default_rng(0)
    mean = rng.uniform(-1, 1, size=(2, 3, 4))
    std = rng.uniform(0.1, 0.5, size=(2, 3, 4))
    spec = InputSpec.image((2, 3, 4), mean, std, value_range=(-10, 10))
    assert spec.shape == (2, 3, 4) and spec.n_features == 24
    X = spec.draw(4000, random_state=0)
    assert X.shape == (4000, 24)
    np.testing.assert_allclose(X.mean(0), mean.ravel(), atol=0.03)
    np.testing.assert_allclose(X.std(0), std.ravel(), rtol=0.06)
    assert spec.to_images(X).shape == (4000, 2, 3, 4)

    pixels = InputSpec.image((8, 8), mean=0.1, std=0.5)  # clipped to [0, 1]
    X = pixels.draw(2000, random_state=1)
    assert X.min() == 0.0 and X.max() == 1.0
    assert 0.3 < (X == 0).mean() < 0.5  # P(N(0.1, 0.5) < 0) = 0.42
    # internally pixels are rescaled to [0, 1]: one scale, zero at the low end
    loc, scale = pixels.standardization()
    np.testing.assert_array_equal(loc, 0.0)
    np.testing.assert_array_equal(scale, 1.0)


@pytest.mark.parametrize("shape", [(5, 6), (3, 5, 6)])
def test_from_data_on_image_arrays(shape):
    rng = np.random.default_rng(0)
    images = rng.uniform(0.2, 0.9, size=(50, *shape))
    spec = InputSpec.from_data(images)
    assert spec.shape == (shape if len(shape) == 3 else (1, *shape))
    flat = images.reshape(50, -1)
    np.testing.assert_allclose(spec.mean, flat.mean(0))
    np.testing.assert_allclose(spec.std, flat.std(0))
    # one range for every pixel: the whole sample's
    np.testing.assert_allclose(spec.bounds, [[flat.min(), flat.max()]] * flat.shape[1])
    same = InputSpec.from_data(flat, shape=shape, value_range=(0, 1))
    assert same.shape == spec.shape and same.bounds.tolist() == [[0, 1]] * flat.shape[1]
    with pytest.raises(ValueError, match="shape"):
        InputSpec.from_data(images, shape=(7, 7))


def test_paper_cnn_builds_for_digits_and_takes_flat_or_images():
    net = build_image_student("cnn:5", 64, seed=0, shape=(1, 8, 8))
    assert isinstance(net, PaperCNN) and net.filters == 5
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [5, 10, 20]
    x = torch.rand(3, 64)
    torch.testing.assert_close(net.eval()(x), net(x.view(3, 1, 8, 8)))
    # the same seed gives the same weights
    again = build_image_student("cnn:5", 64, seed=0, shape=(8, 8))
    torch.testing.assert_close(again.eval()(x), net(x))
    with pytest.raises(ValueError, match="image"):
        build_image_student("cnn:5", 64, seed=0)
    with pytest.raises(ValueError, match="too small"):
        PaperCNN((1, 8, 8), padding=0)
    # a convolutional module instance is put behind a reshaping layer
    wrapped = build_image_student(small_cnn_teacher(), 64, seed=0, shape=(1, 8, 8))
    assert isinstance(wrapped[0], ImageInput) and wrapped(x).shape == (3, 1)


@pytest.fixture(scope="module")
def fitted():
    """A CNN student distilled from a CNN teacher on 8x8 images, direct eq. 8."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, size=(100, 1, 8, 8)) * (rng.uniform(size=(100, 1, 1, 1)))
    teacher = small_cnn_teacher()
    est = DataFreeDistillRegressor(
        teacher,
        student="cnn:2",
        sampler="direct",
        objective=eq8_objective(values=[-1.0, 0.0, 1.0]),
        loss="logcosh",
        direct_lr=0.01,
        direct_steps=2,
        max_epochs=3,
        batches_per_epoch=2,
        batch_size=10,
        lr=3e-3,
        n_validation=50,
        random_state=0,
        label_rows=False,  # the paper's stream, data-free: the images describe only
    )
    return est.fit(images), teacher, images


def test_cnn_student_distils_cnn_teacher_end_to_end(fitted):
    est, teacher, images = fitted
    assert est.input_spec_.shape == (1, 8, 8) and est.n_features_in_ == 64
    assert isinstance(est.student_.core, PaperCNN)
    assert est.sampler_.optimizer_ == "gradient"  # through the CNN teacher
    assert est.n_iter_ == 3 and np.isfinite(est.history_["loss_generated"]).all()
    assert np.isfinite(est.predict(images)).all()


def test_predict_accepts_images_and_flat_rows(fitted):
    est, teacher, images = fitted
    flat = images.reshape(len(images), -1)
    pred = est.predict(images)
    assert pred.shape == (100,)
    np.testing.assert_array_equal(est.predict(images[:, 0]), pred)  # (n, H, W)
    np.testing.assert_array_equal(est.predict(flat), pred)
    with pytest.raises(ValueError, match="images of shape"):
        est.predict(np.zeros((2, 1, 7, 7)))
    # the CNN teacher received images: its adapter answers like the module
    with torch.no_grad():
        want = teacher(torch.as_tensor(images[:5], dtype=torch.float32))[:, 0]
    np.testing.assert_allclose(est.teacher_.predict(flat[:5]), want.numpy(), rtol=1e-5)

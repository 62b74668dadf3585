"""Convolutional students and teachers for image inputs (paper section 3.5, Table 2).

The estimator keeps every input as a flat row of ``C * H * W`` features (pixels in
``C, H, W`` order, as ``images.reshape(n, -1)`` gives them), so that input specs,
samplers and objectives work unchanged. Convolutional networks see images: the
:class:`PaperCNN` reshapes flat rows itself, and other convolutional modules are
put behind an :class:`ImageInput` layer by :func:`build_image_student` (students)
and :func:`image_teacher` (torch teachers).
"""

from __future__ import annotations

import inspect
import numbers

import torch
from torch import nn

from .students import _instantiate, build_student

__all__ = [
    "ImageInput",
    "PaperCNN",
    "build_image_student",
    "image_teacher",
    "is_convolutional",
]


def _check_shape(shape):
    try:
        shape = tuple(int(v) for v in shape)
    except TypeError:
        raise ValueError(f"shape must be (C, H, W) or (H, W), got {shape!r}.") from None
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (C, H, W) or (H, W), got {shape!r}.")
    return shape


class ImageInput(nn.Module):
    """Reshape flat rows ``(n, C*H*W)`` to images ``(n, C, H, W)``.

    Batches that already are images pass through unchanged.
    """

    def __init__(self, shape):
        super().__init__()
        self.shape = _check_shape(shape)

    def forward(self, x):
        if x.ndim == 2:
            return x.reshape(x.shape[0], *self.shape)
        return x

    def extra_repr(self):
        return f"shape={self.shape}"


class PaperCNN(nn.Module):
    """The convolutional regressor of the paper's Table 2 (after Wang et al., 2020).

    ========================  =================  ==========
    layer                     filters / units    activation
    ========================  =================  ==========
    Conv2d 3x3                ``f``              ReLU
    Conv2d 3x3                ``2f``             softplus
    MaxPool 2x2
    Conv2d 3x3                ``4f``             softplus
    MaxPool 2x2
    Flatten, Linear           500                softplus
    Dropout 0.5 (optional)
    Linear                    100                softplus
    Dropout 0.25 (optional)
    Linear                    20                 softplus
    Linear                    1                  ``out_activation``
    ========================  =================  ==========

    The paper uses ``f = 10`` for the teacher and ``f = 5`` for the student
    (``student="cnn:5"`` in :class:`~skdistill.DataFreeDistillRegressor`).

    Parameters
    ----------
    shape : (C, H, W) or (H, W), default=(1, 28, 28)
        Image shape. Inputs may be images ``(n, C, H, W)`` or flat rows
        ``(n, C*H*W)``, reshaped on the way in.
    filters : int, default=5
        ``f``, the width of the first convolution.
    padding : int, default=1
        Zero padding of every convolution. With 1 ("same" padding) the convolutions
        keep the image size and only the two poolings halve it, so images from 4x4
        up work, 8x8 scikit-learn digits included (they end as 2x2 maps). The paper,
        on 28x28 MNIST, does not say; ``padding=0`` gives the unpadded layout
        (28 -> 26 -> 24 -> 12 -> 10 -> 5), which needs images of at least 10x10.
    out_activation : {"linear", "softplus"}, default="linear"
        Activation of the output unit. Table 2 ends in softplus, which keeps a
        teacher's predictions of digit values non-negative; use ``"softplus"`` for
        such a teacher. The default is linear because students learn *standardized*
        targets inside the estimator, negative for half of the data, which a final
        softplus could not reach.
    dropout : bool, default=True
        Keep Table 2's dropout layers. Without them a student learns several times
        faster in short runs: with dropout, the paper's student can sit for hundreds
        of RMSprop steps at a constant output before it starts to follow the
        teacher (the paper trains for 10,000 steps).

    Examples
    --------
    >>> import torch
    >>> net = PaperCNN((1, 8, 8), filters=5)
    >>> net(torch.zeros(3, 64)).shape, net(torch.zeros(3, 1, 8, 8)).shape
    (torch.Size([3, 1]), torch.Size([3, 1]))
    """

    def __init__(
        self,
        shape=(1, 28, 28),
        filters=5,
        padding=1,
        out_activation="linear",
        dropout=True,
    ):
        super().__init__()
        self.shape = _check_shape(shape)
        if not isinstance(filters, numbers.Integral) or filters < 1:
            raise ValueError(f"filters must be a positive integer, got {filters!r}.")
        if out_activation not in ("linear", "softplus"):
            raise ValueError(
                f"out_activation must be 'linear' or 'softplus', got {out_activation!r}."
            )
        f, c = int(filters), self.shape[0]
        self.filters, self.padding = f, int(padding)
        self.features = nn.Sequential(
            nn.Conv2d(c, f, 3, padding=padding),
            nn.ReLU(),
            nn.Conv2d(f, 2 * f, 3, padding=padding),
            nn.Softplus(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * f, 4 * f, 3, padding=padding),
            nn.Softplus(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        try:
            with torch.no_grad():
                n_flat = self.features(torch.zeros(1, *self.shape)).shape[1]
        except RuntimeError:
            raise ValueError(
                f"Images of shape {self.shape} are too small for PaperCNN with "
                f"padding={padding}: the feature maps vanish. Use padding=1 or "
                "larger images."
            ) from None
        self.dropout = bool(dropout)
        self.head = nn.Sequential(
            nn.Linear(n_flat, 500),
            nn.Softplus(),
            nn.Dropout(0.5) if dropout else nn.Identity(),
            nn.Linear(500, 100),
            nn.Softplus(),
            nn.Dropout(0.25) if dropout else nn.Identity(),
            nn.Linear(100, 20),
            nn.Softplus(),
            nn.Linear(20, 1),
        )
        if out_activation == "softplus":
            self.head.append(nn.Softplus())
        self.out_activation = out_activation

    def forward(self, x):
        if x.ndim == 2:
            x = x.reshape(x.shape[0], *self.shape)
        return self.head(self.features(x))


def is_convolutional(module):
    """Whether the first layer with parameters of ``module`` is a convolution, i.e.
    whether it expects images rather than flat rows."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.conv._ConvNd):
            return True
        if isinstance(layer, (PaperCNN, ImageInput)):
            return False  # reshapes flat rows itself
        if next(layer.parameters(recurse=False), None) is not None:
            return False
    return False


def _parse_cnn(spec, shape):
    name, _, arg = spec.partition(":")
    if name != "cnn":
        return None
    try:
        filters = int(arg) if arg else 5
    except ValueError:
        filters = 0
    if filters < 1:
        raise ValueError(
            f"student {spec!r}: the number of filters must be a positive integer, "
            "e.g. 'cnn:5'."
        )
    return PaperCNN(shape, filters)


def build_image_student(spec, n_features, seed, shape=None, n_outputs=1):
    """Build a fresh student, for image inputs of ``shape`` when given.

    Accepts everything :func:`~skdistill.students.build_student` does (which it
    calls when ``shape`` is None), plus, for images:

    - ``"cnn"`` or ``"cnn:F"``: a :class:`PaperCNN` with ``F`` filters (5 by default,
      the paper's student) and a linear output;
    - a module class whose constructor takes ``shape``: instantiated with
      ``shape=(C, H, W)`` (and ``n_features=`` when it takes that too);
    - a convolutional module (class or instance) whose first layer is a
      convolution: put behind an :class:`ImageInput` reshaping flat rows.

    The student always takes flat rows ``(n, n_features)``; MLP students (tuples of
    hidden sizes) see them as they are.
    """
    is_cnn_spec = isinstance(spec, str) and spec.partition(":")[0] == "cnn"
    if shape is None:
        if is_cnn_spec:
            raise ValueError(
                f"student={spec!r} needs image inputs: give fit an image input spec, "
                "e.g. input_spec=InputSpec.from_data(images) or "
                "InputSpec.image((C, H, W), mean, std)."
            )
        return build_student(spec, n_features, seed, n_outputs)
    shape = _check_shape(shape)
    if is_cnn_spec:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _parse_cnn(spec, shape)
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        try:
            takes_shape = "shape" in inspect.signature(spec).parameters
        except (TypeError, ValueError):  # pragma: no cover
            takes_shape = False
        if takes_shape:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = _instantiate(spec, n_features, {"shape": shape})
            return _behind_image_input(module, shape)
    module = build_student(spec, n_features, seed, n_outputs)
    return _behind_image_input(module, shape)


def _behind_image_input(module, shape):
    if is_convolutional(module):
        return nn.Sequential(ImageInput(shape), module)
    return module


def image_teacher(module, shape):
    """``module`` behind an :class:`ImageInput` when it is convolutional, else as is.

    The estimator applies this to torch teachers when the input spec has a shape,
    so a CNN trained on ``(n, C, H, W)`` images receives images although samplers
    work on flat rows. The module is not copied.
    """
    if is_convolutional(module):
        return nn.Sequential(ImageInput(shape), module)
    return module

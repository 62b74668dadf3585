"""Differentiable teachers: torch modules and fitted skorch nets."""

from __future__ import annotations

import copy

import torch
from sklearn.exceptions import NotFittedError

from ._base import Teacher, reject_classifier

__all__ = ["TorchTeacher", "SkorchTeacher"]


def infer_n_features(module):
    """Input width of the first ``Linear``/``LazyLinear``-free layer, or None."""
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            return int(layer.in_features)
        if isinstance(layer, torch.nn.modules.conv._ConvNd):
            return None
    return None


class TorchTeacher(Teacher):
    """A ``torch.nn.Module`` teacher, used through autograd.

    The module is copied, frozen and put in eval mode: the user's teacher is never
    modified. Outputs of shape (n, 1) are flattened to (n,).
    """

    differentiable = True

    def __init__(self, module, device="cpu"):
        super().__init__()
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module)}.")
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.n_features_in_ = infer_n_features(self.module)
        self.to(device)

    def to(self, device):
        self.module.to(device)
        first = next(self.module.parameters(), None)
        self.dtype = first.dtype if first is not None else torch.float32
        self.device = torch.device(device)
        return self

    def forward(self, x):
        out = self.module(x.to(self.dtype))
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        return out.to(x.dtype)

    def _predict_numpy(self, X):
        with torch.no_grad():
            x = torch.as_tensor(X, dtype=self.dtype, device=self.device)
            return self.forward(x).cpu().numpy()

    def for_image_shape(self, shape):
        """Reshape flat rows to images of ``shape`` (C, H, W) before the module."""
        from ..students_cnn import image_teacher

        self.module = image_teacher(self.module, shape)
        return self

    def _describe(self):
        return type(self.module).__name__


class SkorchTeacher(TorchTeacher):
    """A fitted skorch ``NeuralNetRegressor``: differentiable through ``module_``."""

    def __init__(self, net, device="cpu"):
        reject_classifier(net)  # a NeuralNetClassifier
        if not getattr(net, "initialized_", False) or not hasattr(net, "module_"):
            raise NotFittedError(
                f"The skorch teacher {type(net).__name__} is not initialized/fitted. "
                "Fit it first; skdistill distils an already trained model."
            )
        super().__init__(net.module_, device=device)

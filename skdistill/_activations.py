"""The activations of MLP students and teachers: the project's one table.

An activation is named by a *spec*: one of the names of :data:`ACTIVATIONS`
(``"identity"``, ``"tanh"``, ``"relu"``, ``"logistic"``, scikit-learn's
``MLPRegressor`` names), or ``("softplus", beta, threshold)``. Every module that
needs activations reads them here: the autograd-free MLP path and the NumPy trainer
(:mod:`skdistill._mlp`, :mod:`skdistill._trainer`), the compact model
(:mod:`skdistill.compact`, which loads without torch: this module imports torch only
inside the functions that build or read torch modules) and the translation of
scikit-learn teachers (:mod:`skdistill.teachers._translate`).

Softplus is supported everywhere with any ``beta`` and ``threshold``, as
``torch.nn.Softplus`` defines it: ``log(1 + exp(beta x)) / beta``, and ``x`` where
``beta x > threshold``.

>>> import numpy as np
>>> from skdistill._activations import numpy_forward
>>> numpy_forward("relu")(np.array([-1.0, 2.0]))
array([0., 2.])
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = [
    "ACTIVATIONS",
    "name_of",
    "check_spec",
    "from_module",
    "to_module",
    "numpy_forward",
    "numpy_backward",
]

# name -> the torch.nn class that computes it
ACTIVATIONS = {
    "identity": "Identity",
    "tanh": "Tanh",
    "relu": "ReLU",
    "logistic": "Sigmoid",
    "softplus": "Softplus",
}


def name_of(spec):
    """The table's name of ``spec`` (``"softplus"`` for a softplus tuple)."""
    return spec[0] if isinstance(spec, tuple) else spec


def check_spec(spec):
    """Return ``spec`` if it names an activation of the table, else raise."""
    name = name_of(spec)
    if name not in ACTIVATIONS or (name == "softplus") != isinstance(spec, tuple):
        raise ValueError(
            f"Unknown activation {spec!r}: one of {sorted(set(ACTIVATIONS) - {'softplus'})}"
            " or ('softplus', beta, threshold)."
        )
    return spec


def from_module(layer):
    """The spec of an elementwise activation module, or None for any other module.

    ``Identity`` and ``Dropout`` (the identity in eval mode) are ``"identity"``.
    """
    from torch import nn

    if isinstance(layer, nn.Softplus):
        return ("softplus", float(layer.beta), float(layer.threshold))
    if isinstance(layer, nn.Dropout):
        return "identity"
    for name, cls in ACTIVATIONS.items():
        if type(layer) is getattr(nn, cls):
            return name
    return None


def to_module(spec):
    """A fresh ``torch.nn`` module computing ``spec``."""
    from torch import nn

    name = name_of(check_spec(spec))
    if name == "softplus":
        return nn.Softplus(beta=spec[1], threshold=spec[2])
    return getattr(nn, ACTIVATIONS[name])()


# --------------------------------------------------------------- NumPy kernels
# forward(h) overwrites h with act(h) and returns it; backward(g, y) overwrites g,
# the gradient with respect to the output y = act(h), with the gradient w.r.t. h.


def _identity(h):
    return h


def _tanh(h):
    return np.tanh(h, out=h)


def _relu(h):
    return np.maximum(h, 0.0, out=h)


def _logistic(h):
    return expit(h, out=h)


def _softplus(beta, threshold):
    def forward(h):
        bh = beta * h
        h[...] = np.where(bh > threshold, h, np.logaddexp(0.0, bh) / beta)
        return h

    return forward


def _tanh_backward(g, y):
    g *= 1.0 - y * y


def _relu_backward(g, y):
    g *= y > 0


def _logistic_backward(g, y):
    g *= y * (1.0 - y)


def _softplus_backward(beta, threshold):
    # d softplus(x)/dx = sigmoid(beta x) = 1 - exp(-beta softplus(x)), and 1 where
    # beta x > threshold (there the output is x itself)
    def backward(g, y):
        by = beta * y
        g *= np.where(by > threshold, 1.0, -np.expm1(-by))

    return backward


_NUMPY = {
    "identity": (_identity, None),
    "tanh": (_tanh, _tanh_backward),
    "relu": (_relu, _relu_backward),
    "logistic": (_logistic, _logistic_backward),
}


def numpy_forward(spec):
    """``forward(h)``: ``spec`` applied to the NumPy array ``h`` in place."""
    name = name_of(check_spec(spec))
    if name == "softplus":
        return _softplus(spec[1], spec[2])
    return _NUMPY[name][0]


def numpy_backward(spec):
    """``backward(g, y)`` in place, or None for the identity."""
    name = name_of(check_spec(spec))
    if name == "softplus":
        return _softplus_backward(spec[1], spec[2])
    return _NUMPY[name][1]

"""A lean, autograd-free path for multilayer perceptrons.

At the paper's sizes (batches of 50 rows, students of 25 units) a training step is a
few microseconds of arithmetic buried under Python, ``nn.Module`` and autograd
dispatch. When teacher and student are plain stacks of ``Linear`` layers and
elementwise activations, this module runs their forward passes and input/parameter
gradients as raw tensor operations instead. It computes exactly what autograd would
(tests compare the two); anything it does not recognise takes the autograd path.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._activations import check_spec, from_module, name_of

__all__ = ["FunctionalMLP", "RMSprop", "Adam", "flatten_parameters", "mlp_layers"]


# Torch kernels of the activations of :mod:`skdistill._activations` (the one
# table): each is (forward_, backward_), both in place on preallocated buffers,
# ``backward_(g, y)`` turning d/d(output) into d/d(input) given the output y.
_aten = torch.ops.aten


def _tanh_backward_(g, y):
    return _aten.tanh_backward.grad_input(g, y, grad_input=g)


def _sigmoid_backward_(g, y):
    return _aten.sigmoid_backward.grad_input(g, y, grad_input=g)


def _relu_backward_(g, y):
    return g.masked_fill_(y <= 0, 0.0)


_TORCH_KERNELS = {
    "identity": None,
    "tanh": (lambda h: torch.tanh(h, out=h), _tanh_backward_),
    "logistic": (lambda h: torch.sigmoid(h, out=h), _sigmoid_backward_),
    "relu": (torch.relu_, _relu_backward_),
}


def torch_kernels(spec):
    """(forward_, backward_) of an activation spec, or None for the identity."""
    name = name_of(check_spec(spec))
    if name == "softplus":
        _, beta, threshold = spec
        return (
            lambda h: h.copy_(nn.functional.softplus(h, beta, threshold)),
            # d softplus(x)/dx = sigmoid(beta x) = 1 - exp(-beta softplus(x)), and 1
            # where beta x > threshold (the output is x itself)
            lambda g, y: g.mul_(
                torch.where(beta * y > threshold, 1.0, -torch.expm1(-beta * y))
            ),
        )
    return _TORCH_KERNELS[name]


def _leaves(module):
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def mlp_layers(module):
    """``[(linear, spec), ...]`` of a plain MLP, else None.

    The one reading of "plain MLP" (the fast paths and the compact model use it):
    ``Linear`` layers, each followed by at most one activation of
    :data:`~skdistill._activations.ACTIVATIONS`, nested in ``nn.Sequential``
    containers; ``Identity`` and eval-mode ``Dropout`` are skipped; the first layer
    is ``Linear``; the last has any number of outputs. ``spec`` is the activation
    after ``linear`` (``"identity"`` when none).
    """
    layers = []
    for layer in _leaves(module):
        if isinstance(layer, nn.Linear):
            layers.append([layer, "identity"])
            continue
        spec = from_module(layer)
        if spec is None or (isinstance(layer, nn.Dropout) and layer.training):
            return None
        if spec == "identity":
            continue
        if not layers or layers[-1][1] != "identity":
            return None  # an activation first, or two in a row
        layers[-1][1] = spec
    if not layers:
        return None
    return [tuple(layer) for layer in layers]


class FunctionalMLP:
    """Forward and backward of an ``nn.Sequential`` of ``Linear`` and activations.

    Parameters
    ----------
    weights : list of (W, b)
        ``W`` of shape (out, in), ``b`` of shape (out,) or None; used by reference,
        so in-place updates of the module's parameters are seen.
    specs : list of activation specs, one per layer (applied after it; see
        :mod:`skdistill._activations`)
    """

    def __init__(self, weights, specs, params=None):
        self.weights = weights
        self.specs = list(specs)
        self.activations = [torch_kernels(spec) for spec in self.specs]
        self.params = params
        self._workspace = {}
        self._tail = None
        #: outputs of the last layer: ``forward`` returns shape (n,) when 1,
        #: (n, n_outputs) otherwise
        self.n_outputs = int(weights[-1][0].shape[0])

    @classmethod
    def from_module(
        cls, module, x_loc=None, x_scale=None, y_loc=0.0, y_scale=1.0, fold_tanh=False,
        output=None,
    ):
        """Build from ``module`` or return None if it is not a plain MLP.

        With ``x_loc``/``x_scale``/``y_loc``/``y_scale`` the affine maps
        ``x = x_loc + x_scale * z`` and ``(y - y_loc) / y_scale`` are folded into the
        first and last layers (new tensors, the module is untouched). With
        ``output`` (an index) only that output of the last layer is kept.

        With ``fold_tanh`` (for frozen networks), each hidden ``tanh`` followed by a
        linear layer is rewritten through ``tanh(a) = 2 sigmoid(2a) - 1``, the
        constants going into the weights: the same function, about twice as fast
        on CPU, where ``tanh`` is the costliest kernel of the teacher.
        """
        layers = mlp_layers(module)
        if layers is None:
            return None
        params = [(linear.weight, linear.bias) for linear, _ in layers]
        weights = [
            [W.detach(), None if b is None else b.detach()] for W, b in params
        ]
        specs = [spec for _, spec in layers]
        if output is not None:
            W, b = weights[-1]
            weights[-1] = [W[output : output + 1], None if b is None else b[output : output + 1]]
        if x_loc is not None:
            W, b = weights[0]
            dtype = W.dtype
            x_loc, x_scale = x_loc.to(dtype), x_scale.to(dtype)
            bias = b if b is not None else torch.zeros(W.shape[0], dtype=dtype)
            weights[0] = [(W * x_scale).detach(), (bias + W @ x_loc).detach()]
        if np.any(np.asarray(y_loc) != 0.0) or np.any(np.asarray(y_scale) != 1.0):
            # scalars, or one (loc, scale) per output
            W, b = weights[-1]
            bias = b if b is not None else torch.zeros(W.shape[0], dtype=W.dtype)
            loc = torch.as_tensor(y_loc, dtype=W.dtype, device=W.device)
            scale = torch.as_tensor(y_scale, dtype=W.dtype, device=W.device)
            weights[-1] = [
                (W / scale.reshape(-1, 1)).detach(), ((bias - loc) / scale).detach()
            ]
        if fold_tanh:
            for i in range(len(weights) - 1):
                if specs[i] == "tanh":
                    W, b = weights[i]
                    weights[i] = [2.0 * W.detach(), None if b is None else 2.0 * b]
                    W2, b2 = weights[i + 1]
                    base = (
                        b2
                        if b2 is not None
                        else torch.zeros(W2.shape[0], dtype=W2.dtype)
                    )
                    weights[i + 1] = [2.0 * W2.detach(), base - W2.sum(dim=1)]
                    specs[i] = "logistic"
        mlp = cls([tuple(w) for w in weights], specs, params)
        if (
            fold_tanh
            and mlp.n_outputs == 1
            and len(weights) > 1
            and specs[-1] == "identity"
            and specs[-2] == "logistic"
        ):
            mlp._tail = (weights[-1][0].reshape(-1, 1) * weights[-2][0]).contiguous()
        return mlp

    def _buffer(self, key, shape, like):
        """A reusable workspace tensor: large temporaries are not reallocated per call
        (fresh multi-megabyte allocations page-fault on every call on Linux)."""
        buf = self._workspace.get((key, shape))
        if buf is None:
            if len(self._workspace) > 64:
                self._workspace.clear()
            buf = torch.empty(shape, dtype=like.dtype, device=like.device)
            self._workspace[(key, shape)] = buf
        return buf

    def forward(self, x):
        """Return the output, of shape (n,) for one output and (n, k) for k, and
        the inputs of every layer.

        Hidden activations live in workspace buffers: they stay valid until the next
        call of ``forward`` on the same number of rows.
        """
        inputs = []
        h = x
        n, last = x.shape[0], len(self.weights) - 1
        for i, ((W, b), act) in enumerate(zip(self.weights, self.activations)):
            inputs.append(h)
            if i < last:
                out = self._buffer(("f", i), (n, W.shape[0]), x)
                if b is not None:
                    torch.addmm(b, h, W.t(), out=out)
                else:
                    torch.mm(h, W.t(), out=out)
            else:
                out = torch.addmm(b, h, W.t()) if b is not None else h @ W.t()
            if act is not None:
                act[0](out)
            h = out
        inputs.append(h)
        return (h.view(-1) if self.n_outputs == 1 else h), inputs

    def _backward(self, inputs, grad_out, grads=None):
        g = grad_out.view(-1, self.n_outputs)
        n = g.shape[0]
        start = len(self.weights) - 1
        if grads is None and self._tail is not None:
            # Scalar output after a sigmoid layer: d/d(input of that layer) is
            # g * (sigmoid'(y) @ (w_out^T * W)), skipping the (n, hidden) outer product.
            y = inputs[start]
            deriv = torch.addcmul(
                y, y, y, value=-1.0, out=self._buffer("tail", tuple(y.shape), y)
            )
            if start == 1:
                return torch.mm(deriv, self._tail).mul_(g)
            g = torch.mm(
                deriv,
                self._tail,
                out=self._buffer(("b", start - 1), (n, self._tail.shape[1]), y),
            )
            g.mul_(grad_out.view(-1, 1))
            start -= 2
        for i in range(start, -1, -1):
            act = self.activations[i]
            if act is not None:
                if i == len(self.weights) - 1:
                    g = g.clone()
                act[1](g, inputs[i + 1])
            W = self.weights[i][0]
            if grads is not None:
                gW, gb = grads[i]
                torch.mm(g.t(), inputs[i], out=gW)
                if gb is not None:
                    torch.sum(g, dim=0, out=gb)
                if i == 0:
                    return None
            if i == 0:
                return g @ W
            g = torch.mm(g, W, out=self._buffer(("b", i), (n, W.shape[1]), g))
        return None

    def backward_input(self, inputs, grad_out):
        """Gradient with respect to ``x`` given d(loss)/d(output), of the shape of
        :meth:`forward`'s output."""
        return self._backward(inputs, grad_out)

    def backward_params(self, inputs, grad_out, grads):
        """Write parameter gradients into ``grads`` (list of (gW, gb) views)."""
        self._backward(inputs, grad_out, grads)


def flatten_parameters(module):
    """Make the module's parameters views of one flat tensor; return (params, grads).

    ``grads`` is a flat buffer of the same size with one view per parameter, laid out
    like the parameters; the module keeps working as an ordinary ``nn.Module``.
    """
    params = list(module.parameters())
    total = sum(p.numel() for p in params)
    ref = params[0]
    flat = torch.empty(total, dtype=ref.dtype, device=ref.device)
    grad = torch.zeros_like(flat)
    offset, grad_views = 0, {}
    for p in params:
        n = p.numel()
        flat[offset : offset + n].copy_(p.data.reshape(-1))
        p.data = flat[offset : offset + n].view_as(p)
        grad_views[p] = grad[offset : offset + n].view_as(p)
        offset += n
    return flat, grad, grad_views


class RMSprop:
    """``torch.optim.RMSprop`` (no momentum, not centered) on one tensor: the
    project's one copy of the update, for the flat parameters of MLP students and
    generators and for the inputs of the direct sampler.

    ``square_avg <- alpha square_avg + (1 - alpha) g^2``, then
    ``param <- param - lr g / (sqrt(square_avg) + eps)``, with
    ``g = grad + weight_decay param``. :meth:`step` runs it in torch,
    :meth:`numpy_step` in NumPy on the same memory (the CPU trainer's fast path).

    Parameters
    ----------
    param : Tensor
        Shape of the moments (``square_avg``), zero at the start.
    lr, weight_decay, alpha, eps : float
        As in ``torch.optim.RMSprop``.
    """

    def __init__(self, param, lr, weight_decay=0.0, alpha=0.99, eps=1e-8):
        self.lr, self.weight_decay, self.alpha, self.eps = lr, weight_decay, alpha, eps
        self.square_avg = torch.zeros_like(param)

    def step(self, param, grad):
        """Update ``param`` in place from ``grad``."""
        if self.weight_decay:
            grad = grad.add(param, alpha=self.weight_decay)
        self.square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1.0 - self.alpha)
        avg = self.square_avg.sqrt().add_(self.eps)
        param.addcdiv_(grad, avg, value=-self.lr)

    def numpy_step(self, param, grad, work):
        """:meth:`step` on NumPy views (``param``, ``grad``, and ``square_avg``
        through :meth:`numpy_moments`), with ``work`` two preallocated buffers of
        the same shape: no allocation per step."""
        tmp, tmp2 = work
        square_avg = self._square_avg_np
        if self.weight_decay:
            np.multiply(param, self.weight_decay, out=tmp)
            tmp += grad
        else:
            tmp[:] = grad
        square_avg *= self.alpha
        np.multiply(tmp, tmp, out=tmp2)
        tmp2 *= 1.0 - self.alpha
        square_avg += tmp2
        np.sqrt(square_avg, out=tmp2)
        tmp2 += self.eps
        tmp /= tmp2
        tmp *= self.lr
        param -= tmp

    def numpy_moments(self):
        """Bind :meth:`numpy_step` to a NumPy view of ``square_avg`` (CPU only)."""
        self._square_avg_np = self.square_avg.numpy()
        return self._square_avg_np

    def state_dict(self):
        return {"square_avg": self.square_avg.clone(), "lr": self.lr}

    def load_state_dict(self, state):
        # in place: the NumPy step works on a view of this buffer
        self.square_avg.copy_(state["square_avg"])
        self.lr = state.get("lr", self.lr)


class Adam:
    """``torch.optim.Adam`` (L2 ``weight_decay``, no amsgrad) on one tensor: the
    project's one copy, used by the pool regime's student updates.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, then
    ``param <- param - lr / (1 - b1^k) m / (sqrt(v) / sqrt(1 - b2^k) + eps)`` at
    step ``k``, with ``g = grad + weight_decay param``. Same interface as
    :class:`RMSprop`: :meth:`step` in torch, :meth:`numpy_step` in NumPy.
    """

    def __init__(self, param, lr, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.weight_decay, self.eps = lr, weight_decay, eps
        self.beta1, self.beta2 = betas
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.k = 0

    def _scales(self):
        self.k += 1
        bias1 = 1.0 - self.beta1**self.k
        bias2 = 1.0 - self.beta2**self.k
        return self.lr / bias1, bias2**0.5

    def step(self, param, grad):
        """Update ``param`` in place from ``grad``."""
        if self.weight_decay:
            grad = grad.add(param, alpha=self.weight_decay)
        step_size, root2 = self._scales()
        self.exp_avg.lerp_(grad, 1.0 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1.0 - self.beta2)
        denom = (self.exp_avg_sq.sqrt() / root2).add_(self.eps)
        param.addcdiv_(self.exp_avg, denom, value=-step_size)

    def numpy_step(self, param, grad, work):
        """:meth:`step` on NumPy views, no allocation per step (see
        :meth:`RMSprop.numpy_step`)."""
        tmp, tmp2 = work
        m, v = self._np
        if self.weight_decay:
            np.multiply(param, self.weight_decay, out=tmp)
            tmp += grad
        else:
            tmp[:] = grad
        step_size, root2 = self._scales()
        m *= self.beta1
        np.multiply(tmp, 1.0 - self.beta1, out=tmp2)
        m += tmp2
        v *= self.beta2
        np.multiply(tmp, tmp, out=tmp2)
        tmp2 *= 1.0 - self.beta2
        v += tmp2
        np.sqrt(v, out=tmp2)
        tmp2 /= root2
        tmp2 += self.eps
        np.divide(m, tmp2, out=tmp)
        tmp *= step_size
        param -= tmp

    def numpy_moments(self):
        """Bind :meth:`numpy_step` to NumPy views of the moments (CPU only)."""
        self._np = (self.exp_avg.numpy(), self.exp_avg_sq.numpy())
        return self._np

    def state_dict(self):
        return {"exp_avg": self.exp_avg.clone(), "exp_avg_sq": self.exp_avg_sq.clone(),
                "k": self.k, "lr": self.lr}

    def load_state_dict(self, state):
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
        self.k, self.lr = state["k"], state["lr"]

"""Student updates (eq. 1 and 7): one RMSprop step on a weighted batch.

Two interchangeable trainers: :class:`AutogradTrainer` for any ``nn.Module`` and
:class:`MLPTrainer`, the same computation without autograd or optimizer overhead for
plain MLP students (see :mod:`skdistill._mlp`). :func:`make_trainer` picks one.

The per-sample loss is squared (eq. 1) or log-cosh (``loss="logcosh"``, the paper's
choice for its CNN on MNIST, section 3.5); either way ``step`` returns the squared
errors, so training histories stay comparable. With k outputs, targets have shape
(n, k) and the per-sample loss is the mean over outputs weighted by
``output_weights`` (:func:`~skdistill.objectives.output_mean`).
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ._activations import numpy_backward, numpy_forward
from ._mlp import Adam, FunctionalMLP, RMSprop, flatten_parameters
from .objectives import (
    STUDENT_LOSSES,
    output_mean,
    resolve_output_weights,
    student_loss,
)
from .students import as_outputs

__all__ = ["make_trainer", "AutogradTrainer", "MLPTrainer"]


def _check_loss(loss):
    if loss not in STUDENT_LOSSES:
        raise ValueError(f"loss must be one of {sorted(STUDENT_LOSSES)}, got {loss!r}.")
    return loss


OPTIMIZERS = {"rmsprop": RMSprop, "adam": Adam}


def _check_optimizer(optimizer):
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}."
        )
    return optimizer


class AutogradTrainer:
    """RMSprop (the paper's) or Adam through autograd; works for any student."""

    mlp = None

    def __init__(self, student, lr, weight_decay, loss="squared", optimizer="rmsprop",
                 n_outputs=1, output_weights=None):
        self.student = student
        self.loss = _check_loss(loss)
        self.n_outputs, self.output_weights = n_outputs, output_weights
        torch_optimizer = {"rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}[
            _check_optimizer(optimizer)
        ]
        self.optimizer = torch_optimizer(
            student.parameters(), lr=lr, weight_decay=weight_decay
        )

    @property
    def lr(self):
        return self.optimizer.param_groups[0]["lr"]

    def set_lr(self, lr):
        """Change the learning rate (kept in the optimizer state)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def predict(self, z):
        # eval mode: no dropout noise (and no batch-norm update) when validating
        training = self.student.training
        self.student.eval()
        try:
            with torch.no_grad():
                return as_outputs(self.student(z), self.n_outputs)
        finally:
            self.student.train(training)

    def step(self, z, t, weights):
        """Minimise ``sum(weights * loss(t, S(z)))``; return the squared errors."""
        s = as_outputs(self.student(z), self.n_outputs)
        w = self.output_weights
        sq = student_loss(t, s, w)
        per_sample = (
            sq if self.loss == "squared"
            else output_mean(STUDENT_LOSSES[self.loss](t, s), w)
        )
        loss = (weights * per_sample).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return sq.detach()

    def snapshot(self):
        return {k: v.detach().clone() for k, v in self.student.state_dict().items()}

    def restore(self, snapshot):
        self.student.load_state_dict(snapshot)

    def state_dict(self):
        """Weights and optimizer state, copied: what resuming training needs."""
        return {
            "student": self.snapshot(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def load_state_dict(self, state):
        self.student.load_state_dict(state["student"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))


class MLPTrainer:
    """Same update as :class:`AutogradTrainer` for plain MLPs, by explicit gradients.

    On CPU the step runs in NumPy on the same memory as the module's parameters:
    at student sizes NumPy's per-operation overhead is a few times lower than
    torch's, and the step is nothing but small operations.
    """

    def __init__(self, student, mlp, lr, weight_decay, loss="squared",
                 optimizer="rmsprop", n_outputs=1, output_weights=None):
        self.student = student
        self.loss = _check_loss(loss)
        self.n_outputs = n_outputs
        self.output_weights = output_weights
        flat, grad, views = flatten_parameters(student)
        # d/ds of the mean over outputs: one weight per output column, on the
        # parameters' device once (not at every step)
        self._w = None
        if n_outputs > 1:
            self._w = resolve_output_weights(output_weights, n_outputs).to(
                device=flat.device, dtype=flat.dtype
            )
        # rebuild after flattening so the functional view reads the flat storage
        self.mlp = FunctionalMLP.from_module(student)
        self.grads = [
            (views[W], views[b] if b is not None else None) for W, b in self.mlp.params
        ]
        self.flat, self.grad = flat, grad
        self.optimizer = OPTIMIZERS[_check_optimizer(optimizer)](flat, lr, weight_decay)
        self._numpy = _NumpyMLPStep.build(self) if flat.device.type == "cpu" else None

    @property
    def lr(self):
        return self.optimizer.lr

    def set_lr(self, lr):
        """Change the learning rate."""
        self.optimizer.lr = lr

    def predict(self, z):
        if self._numpy is not None:
            out = self._numpy.forward(z.numpy())[-1]
            return torch.from_numpy(out.reshape(-1) if self.n_outputs == 1 else out)
        return self.mlp.forward(z)[0]

    def step(self, z, t, weights):
        if self._numpy is not None:
            return torch.from_numpy(
                self._numpy.step(z.numpy(), t.numpy(), weights.numpy())
            )
        s, inputs = self.mlp.forward(z)
        diff = s - t
        if self._w is not None:  # k outputs: per-sample weights times output weights
            weights = weights.reshape(-1, 1) * self._w
        if self.loss == "squared":  # d/ds of sum(w * (s - t)^2)
            g = (2.0 * weights) * diff
        else:  # d/ds of sum(w * log cosh(s - t))
            g = weights * torch.tanh(diff)
        self.mlp.backward_params(inputs, g, self.grads)
        self.optimizer.step(self.flat, self.grad)
        return output_mean(diff * diff, self.output_weights)

    def snapshot(self):
        return self.flat.clone()

    def restore(self, snapshot):
        self.flat.copy_(snapshot)

    def state_dict(self):
        """Weights and optimizer moments, copied (small clones)."""
        return {"flat": self.flat.clone(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state):
        # in place: the NumPy step works on views of these buffers
        self.flat.copy_(state["flat"])
        self.optimizer.load_state_dict(state["optimizer"])


class _NumpyMLPStep:
    """The :class:`MLPTrainer` step (forward, backward, RMSprop) in NumPy."""

    @classmethod
    def build(cls, trainer):
        acts = [
            (None, None)
            if spec == "identity"
            else (numpy_forward(spec), numpy_backward(spec))
            for spec in trainer.mlp.specs
        ]
        return cls(trainer, acts)

    def __init__(self, trainer, acts):
        self.acts = acts
        self.layers = [
            (W.numpy(), None if b is None else b.numpy())
            for W, b in trainer.mlp.weights
        ]
        self.grads = [
            (gW.numpy(), None if gb is None else gb.numpy()) for gW, gb in trainer.grads
        ]
        self.opt = trainer.optimizer
        self.opt.numpy_moments()
        self.flat, self.grad = trainer.flat.numpy(), trainer.grad.numpy()
        self.logcosh = trainer.loss == "logcosh"
        self.w = None if trainer._w is None else trainer._w.numpy()
        self._work = (np.empty_like(self.flat), np.empty_like(self.flat))

    def forward(self, z):
        """Inputs of every layer, then the output (n, k)."""
        inputs, h = [], z
        for (W, b), (fwd, _) in zip(self.layers, self.acts):
            inputs.append(h)
            h = h @ W.T
            if b is not None:
                h += b
            if fwd is not None:
                fwd(h)
        inputs.append(h)
        return inputs

    def step(self, z, t, weights):
        inputs = self.forward(z)
        if self.w is not None:  # k outputs: targets (n, k), output weights w
            diff = inputs[-1] - t
            weights = weights[:, None] * self.w
            g = weights * np.tanh(diff) if self.logcosh else 2.0 * weights * diff
        else:
            diff = inputs[-1].reshape(-1) - t
            if self.logcosh:  # d/ds of sum(w * log cosh(s - t))
                g = (weights * np.tanh(diff))[:, None]
            else:  # d/ds of sum(w * (s - t)^2)
                g = (2.0 * weights * diff)[:, None]
        for i in range(len(self.layers) - 1, -1, -1):
            bwd = self.acts[i][1]
            if bwd is not None:
                bwd(g, inputs[i + 1])
            gW, gb = self.grads[i]
            np.matmul(g.T, inputs[i], out=gW)
            if gb is not None:
                g.sum(axis=0, out=gb)
            if i:
                g = g @ self.layers[i][0]
        self.opt.numpy_step(self.flat, self.grad, self._work)
        sq = diff * diff
        return sq if self.w is None else sq @ self.w


def make_trainer(student, lr, weight_decay, loss="squared", optimizer="rmsprop",
                 n_outputs=1, output_weights=None):
    """The fastest trainer that computes the exact ``optimizer`` update
    (``"rmsprop"``, the paper's, or ``"adam"``) for ``student``, minimising the
    weighted ``loss`` (``"squared"`` or ``"logcosh"``), averaged over
    ``n_outputs`` outputs with ``output_weights`` (a tensor summing to 1; None:
    uniform)."""
    mlp = FunctionalMLP.from_module(student) if student.training else None
    if mlp is not None and all(p.dtype == torch.float32 for p in student.parameters()):
        return MLPTrainer(student, mlp, lr, weight_decay, loss, optimizer,
                          n_outputs, output_weights)
    return AutogradTrainer(student, lr, weight_decay, loss, optimizer,
                           n_outputs, output_weights)

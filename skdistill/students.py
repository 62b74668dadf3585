"""Building student networks from short specs, module classes or instances."""

from __future__ import annotations

import copy
import inspect
import numbers

import numpy as np
import torch
from torch import nn

from ._activations import to_module

__all__ = ["MLP", "RBFNet", "ScaledStudent", "OutputStack", "build_student",
           "stack_students", "as_outputs"]


def as_outputs(out, n_outputs):
    """A student's (or teacher's) output in the labels' shape: (n,) for one
    output, (n, n_outputs) for several (tensors and NumPy arrays alike)."""
    return out.reshape(-1) if n_outputs == 1 else out.reshape(-1, n_outputs)


class MLP(nn.Sequential):
    """Fully connected network with tanh hidden layers (the paper's student).

    Parameters
    ----------
    n_features : int
        Input width.
    hidden : tuple of int
        Sizes of the hidden layers.
    n_outputs : int, default=1
        Output width.
    activation : type of nn.Module, default=nn.Tanh
    """

    def __init__(self, n_features, hidden=(50,), n_outputs=1, activation=nn.Tanh):
        layers, width = [], n_features
        for h in hidden:
            layers += [nn.Linear(width, h), activation()]
            width = h
        layers.append(nn.Linear(width, n_outputs))
        super().__init__(*layers)


class RBFNet(nn.Module):
    """Radial basis function network: Gaussian units and a linear output.

    ``y = w . phi(x) + b`` with ``phi_j(x) = exp(-exp(log_gamma_j) ||x - c_j||^2)``;
    centres, widths and output weights are all trained. The paper's student for the
    black-box case study (section 3.6, 100 units). Inputs arrive standardized, so
    centres start as standard normal draws and widths at ``1 / n_features``.

    Parameters
    ----------
    n_features : int
    n_units : int, default=100
    n_outputs : int, default=1
    """

    def __init__(self, n_features, n_units=100, n_outputs=1):
        super().__init__()
        self.n_features, self.n_units = n_features, n_units
        self.centers = nn.Parameter(torch.empty(n_units, n_features))
        self.log_gamma = nn.Parameter(torch.empty(n_units))
        self.output = nn.Linear(n_units, n_outputs)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.centers)
        nn.init.constant_(self.log_gamma, -float(np.log(self.n_features)))
        self.output.reset_parameters()

    def forward(self, x):
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, without an (n, units, d) tensor
        sq = (x * x).sum(1, keepdim=True) + (self.centers * self.centers).sum(1)
        sq = torch.addmm(sq, x, self.centers.t(), alpha=-2.0).clamp_min_(0.0)
        return self.output(torch.exp(-torch.exp(self.log_gamma) * sq))


def _parse_short_spec(spec, n_features, n_outputs=1):
    """Students named by a short string: ``"rbf"`` or ``"rbf:N"`` (N Gaussian units)."""
    name, _, arg = spec.partition(":")
    if name == "rbf":
        try:
            units = int(arg) if arg else 100
        except ValueError:
            units = 0
        if units < 1:
            raise ValueError(f"student {spec!r}: the number of units must be a positive "
                             "integer, e.g. 'rbf:100'.")
        return RBFNet(n_features, units, n_outputs)
    raise ValueError(
        f"Unknown student spec {spec!r}. Short specs: 'rbf' or 'rbf:N' (RBF network); "
        "or pass a tuple of hidden-layer sizes for a tanh MLP."
    )


class ScaledStudent(nn.Module):
    """A student working in standardized units, wrapped to speak the teacher's units.

    ``forward(x) = y_loc + y_scale * core((x - x_loc) / x_scale)``; training uses
    ``core`` directly on standardized inputs. For k outputs ``y_loc`` and
    ``y_scale`` hold one value per output, and ``forward`` returns (n, k).
    """

    def __init__(self, core, x_loc, x_scale, y_loc, y_scale):
        super().__init__()
        self.core = core
        as_t = torch.as_tensor
        self.register_buffer("x_loc", as_t(x_loc, dtype=torch.float32))
        self.register_buffer("x_scale", as_t(x_scale, dtype=torch.float32))
        self.register_buffer("y_loc", as_t(y_loc, dtype=torch.float32))
        self.register_buffer("y_scale", as_t(y_scale, dtype=torch.float32))

    def forward(self, x):
        z = self.core((x - self.x_loc) / self.x_scale)
        if z.ndim == 2 and z.shape[1] == 1:
            z = z[:, 0]
        return self.y_loc + self.y_scale * z


class OutputStack(nn.Module):
    """One-output students side by side: ``forward(x)`` of shape (n, k), column
    ``j`` from student ``j`` (students of ``outputs="separate"`` that are not
    MLPs of one shape; see :func:`stack_students`)."""

    def __init__(self, students):
        super().__init__()
        self.students = nn.ModuleList(students)
        self.x_loc = students[0].x_loc  # for the device, as ScaledStudent has it

    def forward(self, x):
        return torch.stack([s(x).reshape(-1) for s in self.students], dim=1)


def stack_students(students):
    """One module with the outputs of the one-output :class:`ScaledStudent` s
    ``students`` (fitted on the same input spec).

    MLP students of the same depth and activations become one
    :class:`ScaledStudent` whose layers hold theirs side by side (the first
    layers stacked, the next ones block-diagonal): exactly the same function,
    one forward pass, and every export of a compact model. Other students give an
    :class:`OutputStack`.
    """
    from ._mlp import mlp_layers

    cores = [mlp_layers(s.core) for s in students]
    same = all(cores) and all(
        [a for _, a in c] == [a for _, a in cores[0]] for c in cores
    )
    if not same:
        return OutputStack(students)
    layers = []
    for i, (_, act) in enumerate(cores[0]):
        linears = [c[i][0] for c in cores]
        weights = [lin.weight.detach() for lin in linears]
        W = torch.cat(weights) if i == 0 else torch.block_diag(*weights)
        b = torch.cat([
            lin.bias.detach() if lin.bias is not None
            else torch.zeros(lin.out_features, dtype=W.dtype, device=W.device)
            for lin in linears
        ])
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype, device=W.device)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(b)
        layers.append(linear)
        if act != "identity":
            layers.append(to_module(act))
    first = students[0]
    y_loc = torch.cat([s.y_loc.reshape(-1) for s in students])
    y_scale = torch.cat([s.y_scale.reshape(-1) for s in students])
    core = nn.Sequential(*layers).eval()
    return ScaledStudent(core, first.x_loc, first.x_scale, y_loc, y_scale)


def _reset_parameters(module):
    for layer in module.modules():
        if layer is not module and hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()


def build_student(spec, n_features, seed, n_outputs=1):
    """Build a fresh, untrained student core from ``spec``, with ``n_outputs``
    outputs.

    Parameters
    ----------
    spec : tuple of int, int, str, nn.Module class or instance, or skorch NeuralNet
        - a tuple of hidden-layer sizes (or one int): a tanh :class:`MLP`;
        - ``"rbf"`` or ``"rbf:N"``: an :class:`RBFNet` with 100 (or N) Gaussian units;
        - a ``torch.nn.Module`` class: instantiated with ``n_features=`` (and
          ``n_outputs=``) when its constructor takes that argument;
        - a module instance: deep-copied and re-initialized (the user's object is
          never touched);
        - an unfitted skorch ``NeuralNetRegressor``: its ``module`` and
          ``module__*`` parameters are used.
    n_features : int
    seed : int
        Seed of the weight initialization, so that ``random_state`` decides it.
    n_outputs : int, default=1
        The teacher's outputs per row. Modules given as instances must already
        have as many (checked by :func:`check_student_outputs`).

    Returns
    -------
    torch.nn.Module mapping (n, n_features) to (n,) or (n, 1), or (n, n_outputs).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
            spec = (int(spec),)
        if isinstance(spec, str):
            return _parse_short_spec(spec, n_features, n_outputs)
        if isinstance(spec, (tuple, list)):
            if not all(isinstance(h, numbers.Integral) and h > 0 for h in spec):
                raise ValueError(
                    f"student as a tuple must hold positive hidden-layer sizes, got {spec!r}."
                )
            return MLP(n_features, tuple(int(h) for h in spec), n_outputs)
        if isinstance(spec, type) and issubclass(spec, nn.Module):
            return _instantiate(spec, n_features, {}, n_outputs)
        if isinstance(spec, nn.Module):
            module = copy.deepcopy(spec)
            _reset_parameters(module)
            return module
        try:
            from skorch import NeuralNet
        except ImportError:  # pragma: no cover
            NeuralNet = ()
        if isinstance(spec, NeuralNet):
            params = spec.get_params()
            kwargs = {
                k[len("module__") :]: v
                for k, v in params.items()
                if k.startswith("module__")
            }
            module = params["module"]
            if isinstance(module, nn.Module):
                module = copy.deepcopy(module)
                for k, v in kwargs.items():
                    setattr(module, k, v)
                _reset_parameters(module)
                return module
            return _instantiate(module, n_features, kwargs, n_outputs)
    raise TypeError(
        "student must be a tuple of hidden-layer sizes, a torch.nn.Module class or "
        f"instance, or a skorch NeuralNetRegressor; got {type(spec).__name__}."
    )


def _instantiate(cls, n_features, kwargs, n_outputs=1):
    try:
        sig = inspect.signature(cls)
        if "n_features" in sig.parameters and "n_features" not in kwargs:
            kwargs = {**kwargs, "n_features": n_features}
        if "n_outputs" in sig.parameters and "n_outputs" not in kwargs:
            kwargs = {**kwargs, "n_outputs": n_outputs}
    except (TypeError, ValueError):  # pragma: no cover - builtins without signature
        pass
    return cls(**kwargs)


def check_student_outputs(student, n_features, n_outputs):
    """Raise a ValueError when ``student`` does not give ``n_outputs`` outputs
    per row (checked on two rows of zeros, without gradients)."""
    training = student.training
    student.eval()
    try:
        param = next(student.parameters(), None)
        kwargs = {} if param is None else {"dtype": param.dtype, "device": param.device}
        with torch.no_grad():
            out = student(torch.zeros(2, n_features, **kwargs))
    finally:
        student.train(training)
    width = 1 if out.ndim == 1 else int(np.prod(out.shape[1:]))
    if out.shape[0] != 2 or width != n_outputs:
        what = "one output" if n_outputs == 1 else f"{n_outputs} outputs"
        raise ValueError(
            f"The student maps 2 rows to an output of shape {tuple(out.shape)}, but "
            f"the teacher gives {what} per row: the student's last layer must have "
            f"{n_outputs} unit{'s' if n_outputs > 1 else ''} (or give a tuple of "
            "hidden-layer sizes, or a module class taking n_outputs=)."
        )

"""The teacher interface: dispatch through an ordered registry, one standardized
view that counts every row, and no import cycle among the modules."""

import ast
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from skdistill import DataFreeDistillRegressor, InputSpec
from skdistill.inputs import StandardizedSpace
from skdistill.teachers import (
    CallableTeacher,
    StandardizedTeacher,
    TorchTeacher,
    _dispatch,
    as_teacher,
    register_teacher,
)

from .conftest import make_torch_teacher

PACKAGE = Path(__file__).parents[1] / "skdistill"


@pytest.fixture
def registry():
    saved = list(_dispatch._REGISTRY)
    yield
    _dispatch._REGISTRY[:] = saved


class Service:
    """A client with predict and __call__: which one answers depends on order."""

    def predict(self, X):
        return X.sum(axis=1)

    def __call__(self, X):
        return -X.sum(axis=1)

    def rows(self, X):
        return 2 * X.sum(axis=1)


def test_registered_teachers_are_tried_in_order(registry):
    X = np.ones((2, 3))
    assert as_teacher(Service()).predict(X).tolist() == [3.0, 3.0]  # predict first
    register_teacher("service", lambda o: isinstance(o, Service),
                     lambda o, device: CallableTeacher(o.rows))
    assert as_teacher(Service()).predict(X).tolist() == [3.0, 3.0]  # appended last
    register_teacher("service", lambda o: isinstance(o, Service),
                     lambda o, device: CallableTeacher(o.rows), before="sklearn")
    assert as_teacher(Service()).predict(X).tolist() == [6.0, 6.0]
    est = DataFreeDistillRegressor(Service(), sampler="random", max_epochs=2,
                                   batches_per_epoch=2, n_validation=20).fit(
        bounds=[(0, 1)] * 3)
    assert isinstance(est.teacher_, CallableTeacher)


def test_registry_errors(registry):
    with pytest.raises(ValueError, match="before='nope' is not a registered teacher"):
        register_teacher("x", bool, CallableTeacher, before="nope")
    with pytest.raises(TypeError, match="callable"):
        register_teacher("x", None, CallableTeacher)
    with pytest.raises(TypeError, match="teacher must be a torch.nn.Module"):
        as_teacher(42)


def _view(teacher, **kw):
    space = StandardizedSpace(InputSpec(bounds=[(-1, 1), (0, 10), (5, 6)]))
    return StandardizedTeacher(as_teacher(teacher), space, **kw)


@pytest.mark.parametrize("kind", ["fast mlp", "autograd", "black box"])
def test_every_path_of_the_view_counts_its_rows_once(kind):
    module = make_torch_teacher(3)
    if kind == "autograd":
        module = module.double()  # not float32: no fast path
    teacher = (lambda X: X.sum(axis=1)) if kind == "black box" else module
    view = _view(teacher, y_loc=1.0, y_scale=2.0)
    assert (view.mlp is not None) == (kind == "fast mlp")
    z = view.space.draw(17, torch.Generator().manual_seed(0))
    view.label(z)
    assert view.n_queries == 17
    if view.differentiable:
        view.forward(z)
        assert view.n_queries == 34
    view.label_chunked(z, map, 4)
    view.predict(view.space.to_raw(z).double().numpy())
    assert view.n_queries == (34 if view.differentiable else 17) + 34


def test_the_view_owns_the_units():
    view = _view(lambda X: 3.0 * X[:, 1] + 7.0)
    z = view.space.draw(500, torch.Generator().manual_seed(0))
    raw = view.predict(view.space.to_raw(z).double().numpy())
    view.set_target_scale(*view.target_scale(raw))
    t = view.label(z)
    assert abs(float(t.mean())) < 1e-5 and abs(float(t.std(unbiased=False)) - 1) < 1e-5
    torch.testing.assert_close(view.standardize(raw), t)
    torch.testing.assert_close(view.label_chunked(z, map, 3), t)
    assert view.target_scale(np.full(10, 4.0)) == (4.0, 1.0)  # constant teacher


def test_fast_path_and_autograd_give_the_same_labels():
    fast = _view(make_torch_teacher(3), y_loc=0.5, y_scale=3.0)
    slow = _view(make_torch_teacher(3).double(), y_loc=0.5, y_scale=3.0)
    z = fast.space.draw(64, torch.Generator().manual_seed(0))
    torch.testing.assert_close(fast.label(z), slow.label(z.double()).float(),
                               rtol=1e-5, atol=1e-5)


def test_counting_is_exact_under_threads():
    view = _view(lambda X: X.sum(axis=1))
    z = view.space.draw(10, torch.Generator().manual_seed(0))
    threads = [threading.Thread(target=lambda: [view.label(z) for _ in range(50)])
               for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert view.n_queries == 8 * 50 * 10


def test_teacher_state_round_trip():
    teacher = TorchTeacher(make_torch_teacher(3))
    teacher.count(12)
    state = teacher.state_dict()
    other = teacher.fresh_copy()
    assert other.n_queries == 0
    other.load_state_dict(state)
    assert other.n_queries == 12


def _imports(path, package):
    """Modules of ``package`` that the module at ``path`` imports (static)."""
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    base = list(here[:-1])  # the package the module is in
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base[: len(base) - node.level + 1]
                mod = ".".join(parts + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out.update(n for n in names if n.startswith(package))
    return out


def test_no_import_cycle_in_the_package():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        modules[name] = path
    edges = {
        m: {
            t for t in _imports(p, "skdistill")
            if t in modules and t != m
            # a package's __init__ imported by its own submodules is not a cycle
            and not (modules[t].name == "__init__.py" and m.startswith(t + "."))
        }
        for m, p in modules.items()
    }
    # depth-first search for a back edge
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for t in sorted(edges[m]):
            if state.get(t) == "open":
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])
    assert cycles == []
    # the base class and its errors import no adapter
    assert not {t for t in edges["skdistill.teachers._base"]
                if t.startswith("skdistill.teachers")}

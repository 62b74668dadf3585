"""Shared fixtures: small teachers and datasets that make tests fast."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

DATA_DIR = Path(
    os.environ.get(
        "SKDISTILL_DATA_DIR", Path(__file__).parents[1] / ".." / "shared" / "datasets"
    )
)


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    torch.manual_seed(0)


def make_torch_teacher(n_features=4, hidden=32, seed=0):
    """A small random tanh MLP, the shape of the paper's teacher."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
    )


def sum_of_squares(X):
    """A picklable black-box teacher that accepts any number of features."""
    X = np.asarray(X)
    return (X**2).sum(axis=1) + X[:, 0]


@pytest.fixture
def torch_teacher():
    return make_torch_teacher()


def requires_datasets():
    return pytest.mark.skipif(
        not DATA_DIR.is_dir(),
        reason=f"shared datasets folder not found at {DATA_DIR} (set SKDISTILL_DATA_DIR)",
    )


_NO_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "skorch"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
"""


def run_without_torch(body):
    """Run the Python ``body`` in a subprocess where torch and skorch cannot be
    imported, and check it did not import them."""
    import subprocess
    import sys
    import textwrap

    script = _NO_TORCH + textwrap.dedent(body) + (
        '\nassert "torch" not in sys.modules\n'
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


C_COMPILER = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def compile_header(folder, header="student.h", name="student"):
    """Compile ``run(X, n, Y)``, calling ``NAME_predict_batch`` of the header in
    ``folder``, into a shared library with warnings as errors; return it loaded
    with ctypes."""
    import ctypes
    import subprocess

    (folder / "driver.c").write_text(
        f'#include "{header}"\n'
        f"void run(const float *X, int n, float *Y) {{ {name}_predict_batch(X, n, Y); }}\n"
    )
    lib = folder / f"{name}.so"
    subprocess.run(
        [C_COMPILER, "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror",
         "-Wno-unused-function", "-shared", "-fPIC", "-o", str(lib),
         str(folder / "driver.c"), "-lm"],
        check=True, capture_output=True,
    )
    return ctypes.CDLL(str(lib))

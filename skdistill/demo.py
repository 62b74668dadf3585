"""``python -m skdistill.demo``: distil a teacher trained on raw data, no data needed.

On scikit-learn's embedded diabetes dataset (raw features, targets around 150):

1. train the paper's teacher, an MLP with 500 tanh units;
2. distil it into 25-unit students with ``random`` and ``direct`` sampling, giving
   skdistill only the per-feature mean, std and range of the inputs (no targets,
   no training rows);
3. print teacher and students on held-out real data (RMSE to the truth, fidelity to
   the teacher, wall time, size) and write a plot of the validation curves.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from . import DataFreeDistillRegressor, InputSpec


def train_teacher(X, y, hidden=500, epochs=150, seed=0):
    """The paper's teacher (500 tanh units, full-batch Adam stopped early: 309 rows
    overfit fast), returned as a plain ``nn.Sequential``
    taking raw inputs and giving raw targets: the standardization used for training
    is folded into its first and last layers."""
    torch.manual_seed(seed)
    x_loc, x_scale = X.mean(0), X.std(0)
    y_loc, y_scale = y.mean(), y.std()
    Xs = torch.as_tensor((X - x_loc) / x_scale, dtype=torch.float32)
    ys = torch.as_tensor((y - y_loc) / y_scale, dtype=torch.float32).view(-1, 1)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(Xs), ys).backward()
        opt.step()
    with torch.no_grad():
        first, last = net[0], net[2]
        scale = torch.as_tensor(x_scale, dtype=torch.float32)
        loc = torch.as_tensor(x_loc, dtype=torch.float32)
        first.weight /= scale
        first.bias -= first.weight @ loc
        last.weight *= float(y_scale)
        last.bias.mul_(float(y_scale)).add_(float(y_loc))
    return net.eval()


def _size_kb(obj):
    buf = io.BytesIO()
    torch.save(obj.state_dict(), buf)
    return buf.tell() / 1024


def _rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdistill.demo", description=__doc__
    )
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--student", type=int, default=25)
    parser.add_argument("--out", default="demo_output", help="folder for the plot")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_diabetes(return_X_y=True, scaled=False)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, random_state=args.seed
    )
    print(
        f"diabetes: {X.shape[1]} raw features, target mean {y.mean():.0f}, "
        f"{len(X_tr)} rows to train the teacher, {len(X_te)} held out"
    )

    t0 = time.perf_counter()
    teacher = train_teacher(X_tr, y_tr, seed=args.seed)
    t_teacher = time.perf_counter() - t0
    with torch.no_grad():
        t_te = teacher(torch.as_tensor(X_te, dtype=torch.float32)).numpy().ravel()

    # The only thing skdistill learns about the data: per-feature moments and range.
    spec = InputSpec.from_data(X_tr)
    rows = [("teacher (500 tanh)", t_te, t_teacher, _size_kb(teacher), None)]
    fitted = {}
    for sampler in ("random", "direct"):
        est = DataFreeDistillRegressor(
            teacher,
            student=(args.student,),
            sampler=sampler,
            max_epochs=args.epochs,
            random_state=args.seed,
        )
        t0 = time.perf_counter()
        est.fit(input_spec=spec)
        wall = time.perf_counter() - t0
        fitted[sampler] = est
        rows.append(
            (
                f"student {args.student} tanh, {sampler}",
                est.predict(X_te),
                wall,
                _size_kb(est.student_),
                est,
            )
        )
    mean_pred = np.full_like(t_te, y_tr.mean())

    print(
        "\n| model | test RMSE (truth) | fidelity RMSE (teacher) | fidelity R^2 "
        "| wall time (s) | size (KB) |"
    )
    print("|---|---|---|---|---|---|")
    var = np.mean((t_te - t_te.mean()) ** 2)
    for name, pred, wall, size, _ in rows:
        fid = _rmse(pred, t_te)
        print(
            f"| {name} | {_rmse(pred, y_te):.2f} | {fid:.2f} | "
            f"{1 - fid**2 / var:.3f} | {wall:.1f} | {size:.1f} |"
        )
    print(
        f"| mean of training targets | {_rmse(mean_pred, y_te):.2f} | "
        f"{_rmse(mean_pred, t_te):.2f} | {1 - _rmse(mean_pred, t_te) ** 2 / var:.3f} "
        f"| - | - |"
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "\nmatplotlib is not installed: no plot (pip install 'skdistill[bench]')."
        )
        return 0
    fig, ax = plt.subplots(figsize=(6, 4))
    for sampler, est in fitted.items():
        ax.plot(est.history_["epoch"], est.history_["val_rmse"], label=sampler, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMSE to teacher, synthetic validation set")
    ax.set_title("Data-free distillation on diabetes (paper's Figure 7)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "validation_curves.png", dpi=120)
    print(f"\nwrote {out / 'validation_curves.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

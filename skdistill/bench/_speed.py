"""``speed``: wall time of one paper-protocol distillation on cpusmall."""

from __future__ import annotations

import time

import numpy as np

from .. import DataFreeDistillRegressor, InputSpec
from ._data import load_dataset, machine_info, paper_split, rmse, train_mlp_teacher


def add_parser(sub):
    p = sub.add_parser("speed", help="time one paper-protocol distillation run")
    p.add_argument("--data-dir", default=None, help="folder with NAME.npz datasets")
    p.add_argument("--dataset", default="cpusmall")
    p.add_argument("--sampler", default="direct", choices=["direct", "random"])
    p.add_argument("--regenerate", default="epoch", choices=["epoch", "batch"])
    p.add_argument("--student", type=int, default=25)
    p.add_argument("--epochs", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--teacher-epochs", type=int, default=100)
    p.set_defaults(func=run)


def run(args):
    X, y = load_dataset(args.dataset, args.data_dir)
    (X_tr, y_tr), _, (X_te, y_te) = paper_split(X, y, seed=args.seed)
    t0 = time.perf_counter()
    teacher = train_mlp_teacher(X_tr, y_tr, epochs=args.teacher_epochs, seed=args.seed)
    t_teacher = time.perf_counter() - t0
    import torch

    with torch.no_grad():
        teacher_te = teacher(torch.as_tensor(X_te, dtype=torch.float32)).numpy().ravel()
    print(
        f"# speed: {args.dataset}, student {args.student} tanh, teacher 500 tanh, "
        f"sampler={args.sampler}, regenerate={args.regenerate}, "
        f"{args.epochs} epochs x 10 batches x 50"
    )
    print(f"# machine: {machine_info()}")
    print(
        f"# teacher trained in {t_teacher:.1f} s; teacher test RMSE "
        f"{rmse(teacher_te, y_te):.4f}"
    )
    print(
        "| run | wall time (s) | per epoch (ms) | student test RMSE | fidelity RMSE |"
    )
    print("|---|---|---|---|---|")
    times = []
    for r in range(args.repeats):
        est = DataFreeDistillRegressor(
            teacher,
            student=(args.student,),
            sampler=args.sampler,
            alpha="decreasing",
            max_epochs=args.epochs,
            regenerate=args.regenerate,
            random_state=args.seed + r,
        )
        t0 = time.perf_counter()
        # standard normal N(0, I): the paper's spec for standardized data
        est.fit(input_spec=InputSpec(n_features=X_tr.shape[1]))
        wall = time.perf_counter() - t0
        times.append(wall)
        pred = est.predict(X_te)
        print(
            f"| {r} | {wall:.2f} | {1000 * wall / args.epochs:.2f} | "
            f"{rmse(pred, y_te):.4f} | {rmse(pred, teacher_te):.4f} |"
        )
    print(
        f"\nmedian wall time: {np.median(times):.2f} s over {len(times)} runs "
        f"(min {min(times):.2f}, max {max(times):.2f})"
    )
    return 0

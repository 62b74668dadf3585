"""``compact``: what shipping the compact student instead of the teacher buys.

For several teachers trained on one dataset (paper protocol split), distil each into
a 50-unit student and compare the teacher with the student's
:class:`~skdistill.compact.CompactRegressor`: ``joblib`` file size, predict latency
(one row, and 10,000 rows), fidelity, and accuracy on the test split. A second
table compares every shipped form of each student side by side: the compact model
in float64 and float32, the ``MLPRegressor`` of ``to_sklearn()``, ONNX through
``skl2onnx`` and onnxruntime (when installed), and the C header of ``to_c()``
compiled with the system C compiler and called through ctypes (when there is one).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import joblib
import numpy as np

from .. import DataFreeDistillRegressor, InputSpec
from ..teachers import as_teacher
from ._data import load_dataset, machine_info, paper_split, rmse, train_mlp_teacher

TEACHERS = ["mlp500", "svr", "forest", "boosting", "hgb", "mlp256x2"]
TARGET = 10.0  # the goal: 10x smaller file and 10x faster predict


def add_parser(sub):
    p = sub.add_parser(
        "compact",
        help="teacher vs compact student: file size, latency, fidelity",
    )
    p.add_argument("--data-dir", default=None, help="folder with NAME.npz datasets")
    p.add_argument("--dataset", default="cpusmall")
    p.add_argument(
        "--teachers",
        default=",".join(TEACHERS),
        help=f"comma-separated subset of {','.join(TEACHERS)}",
    )
    p.add_argument("--student", type=int, default=50, help="hidden tanh units")
    p.add_argument(
        "--epochs",
        type=int,
        default=300,
        help="distillation epochs (the paper uses 2000; fewer keep the command short)",
    )
    p.add_argument(
        "--teacher-epochs", type=int, default=50, help="training epochs of mlp500"
    )
    p.add_argument("--rows", type=int, default=10_000, help="rows of the batch timing")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def _make_teachers(names, X, y, args):
    """``name -> (label, fitted teacher, predict function)``."""
    from sklearn.ensemble import (
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )
    from sklearn.neural_network import MLPRegressor
    from sklearn.svm import SVR

    out = {}
    for name in names:
        t0 = time.perf_counter()
        if name == "mlp500":
            import torch

            module = train_mlp_teacher(X, y, epochs=args.teacher_epochs, seed=args.seed)

            def predict(X, module=module):
                with torch.no_grad():
                    x = torch.as_tensor(X, dtype=torch.float32)
                    return module(x).numpy().ravel()

            out[name] = ("MLP 500 tanh (torch)", module, predict)
        else:
            model = {
                "svr": lambda: SVR(),
                "forest": lambda: RandomForestRegressor(
                    n_estimators=300, random_state=args.seed
                ),
                "boosting": lambda: GradientBoostingRegressor(random_state=args.seed),
                "hgb": lambda: HistGradientBoostingRegressor(random_state=args.seed),
                "mlp256x2": lambda: MLPRegressor(
                    hidden_layer_sizes=(256, 256), random_state=args.seed
                ),
            }[name]()
            model.fit(X, y)
            label = {
                "svr": "SVR (rbf)",
                "forest": "RandomForest 300",
                "boosting": "GradientBoosting 100",
                "hgb": "HistGradientBoosting",
                "mlp256x2": "MLPRegressor 256x256 relu",
            }[name]
            out[name] = (label, model, model.predict)
        print(f"# trained {name} in {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def _forms(compact, est, t_te, X_te, x_one, X_rows, folder, name):
    """Every shipped form of the student: size, latency, fidelity to the teacher's
    test predictions ``t_te``, agreement with the compact model."""
    ref = compact.predict(X_te)
    scale = float(np.max(np.abs(ref)))
    forms = {}

    def measure(predict, size):
        out = np.asarray(predict(X_te), dtype=np.float64).reshape(-1)
        return {
            "size": size,
            "one": _median_time(predict, x_one, 500, 2.0)[0],
            "many": _median_time(predict, X_rows, 7, 5.0)[0],
            "fidelity": rmse(out, t_te),
            "rel": float(np.max(np.abs(out - ref)) / scale),
        }

    forms["compact float64"] = measure(
        compact.predict, _file_size(compact, folder, f"{name}-c64"))
    c32 = est.to_compact("float32")
    forms["compact float32"] = measure(c32.predict, _file_size(c32, folder, f"{name}-c32"))
    sk = compact.to_sklearn()
    forms["to_sklearn() MLPRegressor"] = measure(
        sk.predict, _file_size(sk, folder, f"{name}-sk"))
    forms["ONNX (skl2onnx, onnxruntime)"] = _onnx_form(sk, X_te, measure)
    forms["C header (to_c, ctypes)"] = _c_form(c32, folder, name, measure)
    return forms


def _onnx_form(sk, X_te, measure):
    try:
        import onnxruntime as ort
        from skl2onnx import to_onnx
    except ImportError:
        return None
    model = to_onnx(sk, X_te[:1].astype(np.float32)).SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def predict(X):
        return session.run(None, {input_name: np.asarray(X, dtype=np.float32)})[0]

    return measure(predict, len(model))


def _c_form(c32, folder, name, measure):
    import ctypes
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    header = os.path.join(folder, f"{name}_student.h")
    c32.to_c(header, name="student")
    driver = os.path.join(folder, f"{name}_driver.c")
    with open(driver, "w") as f:
        f.write('#include "' + os.path.basename(header) + '"\n'
                "void run(const float *X, int n, float *y) "
                "{ student_predict_batch(X, n, y); }\n")
    lib_path = os.path.join(folder, f"{name}_student.so")
    subprocess.run([cc, "-std=c99", "-O2", "-shared", "-fPIC", "-o", lib_path, driver,
                    "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(lib_path)

    def predict(X):
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        y = np.empty(X32.shape[0], dtype=np.float32)
        lib.run(X32.ctypes.data_as(ctypes.c_void_p), X32.shape[0],
                y.ctypes.data_as(ctypes.c_void_p))
        return y

    return measure(predict, os.path.getsize(header))


def _file_size(obj, folder, name):
    path = os.path.join(folder, f"{name}.joblib")
    joblib.dump(obj, path)
    return os.path.getsize(path)


def _median_time(fn, X, max_calls, budget):
    """Median wall time of ``fn(X)`` over up to ``max_calls`` calls (``budget`` s)."""
    fn(X)  # warm up
    times, start = [], time.perf_counter()
    while len(times) < max_calls and (
        len(times) < 3 or time.perf_counter() - start < budget
    ):
        t0 = time.perf_counter()
        fn(X)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), len(times)


def _load():
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "unknown"


def _fmt_size(n):
    return f"{n / 1024:.1f} KiB" if n < 1024**2 else f"{n / 1024**2:.1f} MiB"


def _fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def run(args):
    t_start = time.perf_counter()
    names = [n.strip() for n in args.teachers.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TEACHERS))
    if unknown:
        raise SystemExit(f"unknown teachers {unknown}; choose from {TEACHERS}")
    X, y = load_dataset(args.dataset, args.data_dir)
    (X_tr, y_tr), _, (X_te, y_te) = paper_split(X, y, seed=args.seed)
    X_rows = np.resize(X_te, (args.rows, X_te.shape[1]))  # test rows, repeated
    x_one = X_te[:1]

    command = (
        f"python -m skdistill.bench compact --data-dir "
        f"{args.data_dir or '../shared/datasets'} --dataset {args.dataset} "
        f"--teachers {','.join(names)} --student {args.student} --epochs "
        f"{args.epochs} --teacher-epochs {args.teacher_epochs} --rows {args.rows} "
        f"--seed {args.seed}"
    )
    print(
        f"# compact: {args.dataset}, paper split (seed {args.seed}, {len(X_tr)} train / "
        f"{len(X_te)} test rows, standardized), student {args.student} tanh units, "
        f"{args.epochs} epochs x 10 batches x 50 (the paper uses 2000 epochs; fewer "
        "here to keep the whole command within minutes), input spec N(0, I)"
    )
    print(f"# machine: {machine_info()}")
    print(f"# load average at start: {_load()}")
    print(f"# command: {command}")
    teachers = _make_teachers(names, X_tr, y_tr, args)

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            label, teacher, teacher_predict = teachers[name]
            sampler = "direct" if as_teacher(teacher).differentiable else "random"
            t0 = time.perf_counter()
            est = DataFreeDistillRegressor(
                teacher,
                student=(args.student,),
                sampler=sampler,
                regime="stream",  # the same training for every teacher
                max_epochs=args.epochs,
                random_state=args.seed,
            ).fit(input_spec=InputSpec(n_features=X_tr.shape[1]))  # N(0, I)
            t_fit = time.perf_counter() - t0
            compact = est.to_compact()
            t_te = teacher_predict(X_te)
            c_te = compact.predict(X_te)
            size_t = _file_size(teacher, folder, f"{name}-teacher")
            size_c = _file_size(compact, folder, f"{name}-compact")
            one_t, _ = _median_time(teacher_predict, x_one, 500, 2.0)
            one_c, _ = _median_time(compact.predict, x_one, 500, 2.0)
            many_t, _ = _median_time(teacher_predict, X_rows, 7, 5.0)
            many_c, _ = _median_time(compact.predict, X_rows, 7, 5.0)
            row = dict(
                label=label,
                teacher_repr=repr(est.teacher_),
                sampler=sampler,
                t_fit=t_fit,
                size_t=size_t,
                size_c=size_c,
                one_t=one_t,
                one_c=one_c,
                many_t=many_t,
                many_c=many_c,
                fidelity=rmse(c_te, t_te),
                rmse_t=rmse(t_te, y_te),
                rmse_c=rmse(c_te, y_te),
                max_diff=float(np.max(np.abs(c_te - est.predict(X_te)))),
            )
            row["forms"] = _forms(compact, est, t_te, X_te, x_one, X_rows, folder,
                                  name)
            rows.append(row)
            print(
                f"# {name}: {row['teacher_repr']}, sampler={sampler}, distilled in "
                f"{t_fit:.1f} s",
                flush=True,
            )

    print()
    print(
        "| teacher | sampler | teacher file | compact file | size ratio | "
        "teacher 1 row | compact 1 row | "
        f"teacher {args.rows:,} rows | compact {args.rows:,} rows | speed-up | "
        "fidelity RMSE | teacher test RMSE | compact test RMSE | "
        "max abs(compact - estimator) | targets (10x size, 10x speed) |"
    )
    print("|---" * 15 + "|")
    for r in rows:
        size_ratio = r["size_t"] / r["size_c"]
        speedup = r["many_t"] / r["many_c"]
        notes = []
        if r["size_t"] <= r["size_c"]:
            notes.append("size: teacher already smaller")
        else:
            notes.append(
                f"size {'met' if size_ratio >= TARGET else 'MISSED'} ({size_ratio:.1f}x)"
            )
        if r["many_t"] <= r["many_c"]:
            notes.append("speed: teacher already faster")
        else:
            notes.append(
                f"speed {'met' if speedup >= TARGET else 'MISSED'} ({speedup:.1f}x)"
            )
        print(
            f"| {r['label']} | {r['sampler']} | {_fmt_size(r['size_t'])} | "
            f"{_fmt_size(r['size_c'])} | {size_ratio:.1f}x | {_fmt_time(r['one_t'])} | "
            f"{_fmt_time(r['one_c'])} | {_fmt_time(r['many_t'])} | "
            f"{_fmt_time(r['many_c'])} | {speedup:.1f}x | {r['fidelity']:.4f} | "
            f"{r['rmse_t']:.4f} | {r['rmse_c']:.4f} | {r['max_diff']:.1e} | "
            f"{'; '.join(notes)} |"
        )
    print()
    print(
        "| teacher | form | file | 1 row | "
        f"{args.rows:,} rows | speed-up on {args.rows:,} rows | size ratio | "
        "fidelity RMSE | max rel. diff to compact float64 |"
    )
    print("|---" * 9 + "|")
    for r in rows:
        for form, f in r["forms"].items():
            if f is None:
                continue
            print(
                f"| {r['label']} | {form} | {_fmt_size(f['size'])} | "
                f"{_fmt_time(f['one'])} | {_fmt_time(f['many'])} | "
                f"{r['many_t'] / f['many']:.1f}x | {r['size_t'] / f['size']:.1f}x | "
                f"{f['fidelity']:.4f} | {f['rel']:.1e} |"
            )
        missing = [k for k, f in r["forms"].items() if f is None]
        if missing:
            print(f"| {r['label']} | {', '.join(missing)}: not available here | | | "
                  "| | | | |")
    print(
        "\nForms: size is the joblib file (ONNX: the model file; C: the header, "
        "whose float32 weights are 4 bytes each); relative differences are "
        "max |form - compact float64| / max |compact float64| on the test rows."
    )
    print(
        f"\nLatency: median wall time of predict; 1 row over up to 500 calls, "
        f"{args.rows:,} rows (test rows repeated) over up to 7 calls. RMSEs in "
        "standardized target units on the test split; fidelity is compact vs teacher. "
        "Samplers: 'direct' for differentiable teachers (torch, translated "
        "scikit-learn models), 'random' for black boxes."
    )
    print(
        f"Total wall time: {time.perf_counter() - t_start:.0f} s; load average at "
        f"the end: {_load()} (other processes on the machine slow every timing)."
    )
    sys.stdout.flush()
    return 0

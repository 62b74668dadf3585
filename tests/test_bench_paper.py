"""The ``paper`` benchmark: quick mode end to end, resume, and the report's arithmetic."""

import csv

import numpy as np
import pytest

from skdistill.bench.__main__ import main
from skdistill.bench._paper_report import write_report

from .conftest import DATA_DIR, requires_datasets


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@requires_datasets()
def test_quick_mode_runs_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "paper"
    argv = ["paper", "--quick", "--data-dir", str(DATA_DIR), "--out", str(out)]
    assert main(argv + ["--n-jobs", "1"]) == 0
    printed = capsys.readouterr().out

    rows = read_rows(out / "runs.csv")
    methods = [
        "random",
        "generator_decreasing",
        "generator_alpha1",
        "direct_decreasing",
        "direct_alpha1",
        "oracle",
    ]
    assert sorted(r["method"] for r in rows) == sorted(methods)
    for r in rows:
        assert (r["dataset"], r["size"], r["seed"], r["epochs"]) == (
            "cpusmall",
            "25",
            "0",
            "30",
        )
        assert np.isfinite(float(r["rmse"])) and float(r["rmse"]) > 0
        assert 0 <= int(r["best_epoch"]) < 30
        history = np.load(
            out
            / "histories"
            / f"cpusmall_h25_{r['method']}_seed0_synthetic_e30_e3-authors.npz"
        )
        assert history["val_rmse"].shape == (30,)
    # even 30 epochs on the real inputs beat the untrained spread of the targets
    oracle = next(r for r in rows if r["method"] == "oracle")
    assert float(oracle["rmse"]) < 0.9

    table = (out / "table_synthetic.md").read_text()
    assert table in printed
    assert "| cpusmall |" in table and "gap closed" in table
    if (DATA_DIR / ".." / "reference" / "paper_results.json").exists():
        assert "[0.1817]" in table  # the paper's direct-optimizer figure beside ours
    assert (out / "fig7_val_rmse_synthetic_h25.png").exists()
    assert (out / "fig8_loss_generated_synthetic_h25.png").exists()

    # resume: a finished benchmark reruns nothing, a missing row is redone alone,
    # and the cached teacher is reused
    teacher = out / "teachers" / "cpusmall_seed0_e3-authors.pt"
    stamp = teacher.stat().st_mtime_ns
    with open(out / "runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["method"] != "oracle")
    assert main(argv + ["--n-jobs", "1"]) == 0
    assert "5 already in" in capsys.readouterr().out
    again = read_rows(out / "runs.csv")
    assert len(again) == 6
    redone = next(r for r in again if r["method"] == "oracle")
    assert float(redone["rmse"]) == pytest.approx(float(oracle["rmse"]), rel=1e-6)
    assert teacher.stat().st_mtime_ns == stamp


def test_report_counts_and_gap_closed(tmp_path):
    """The summary arithmetic on a hand-made CSV (no datasets needed)."""
    rmse = {"random": 0.30, "direct_decreasing": 0.25, "oracle": 0.20}
    fields = ["dataset", "size", "method", "seed", "select", "epochs", "teacher"]
    fields += ["rmse"]
    fields += ["fidelity", "teacher_rmse", "wall", "best_epoch", "best_score"]
    with open(tmp_path / "runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for method, value in rmse.items():
            for seed in (0, 1):
                writer.writerow(
                    dict(
                        dataset="toy",
                        size=25,
                        method=method,
                        seed=seed,
                        select="synthetic",
                        epochs=10,
                        teacher="e200-val",
                        rmse=value + 0.01 * seed,
                        fidelity=0.1,
                        teacher_rmse=0.15,
                        wall=1.0,
                        best_epoch=5,
                        best_score=0.1,
                    )
                )
    paper = {25: {"toy": [[0.15, 0.0], [0.29, 0.0], [], [], [0.26, 0.01], []]}}
    text = write_report(
        tmp_path,
        tmp_path / "runs.csv",
        datasets=["toy"],
        sizes=[25],
        methods=list(rmse),
        select="synthetic",
        epochs=10,
        teacher="e200-val",
        command="cmd",
        machine="here",
        elapsed=None,
        paper=paper,
    )
    assert "| toy | 25 | +0.1000 | 50% |" in text  # (0.305 - 0.255) / (0.305 - 0.205)
    assert "0.2550 ± 0.0071 [0.2600]" in text
    assert "At or below the paper's figure: **1/1**" in text
    assert "below our random sampling: **1/1**" in text
    assert (tmp_path / "table_synthetic.md").read_text() == text

"""The ``blackbox`` benchmark: quick mode end to end, and resuming from its cache."""

import json

from skdistill.bench.__main__ import main

from .conftest import DATA_DIR, requires_datasets


@requires_datasets()
def test_quick_mode_runs_and_resumes_from_its_cache(tmp_path, capsys):
    out = tmp_path / "bb.json"
    argv = ["blackbox", "--quick", "--data-dir", str(DATA_DIR), "--out", str(out),
            "--methods", "byhand,pool"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    cache = json.loads(out.read_text())
    assert sorted(cache) == sorted(
        f"cpusmall/{t}/5000/{m}/0" for t in ("hgb", "knn") for m in ("byhand", "pool")
    )
    for cell in cache.values():
        assert cell["rows"] == 5000  # the same teacher rows for both
        assert 0 < cell["fidelity"] < 1.5
        assert 0 < cell["spec_fidelity"] < 1.5  # on the spec's own draws
    rows = [line for line in printed.splitlines() if line.startswith("| cpusmall")]
    assert len(rows) == 4
    # a second run finds every cell in the cache: the same table, no new fit
    before = out.stat().st_mtime_ns
    assert main(argv) == 0
    assert out.stat().st_mtime_ns == before
    assert [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("| cpusmall")] == rows




@requires_datasets()
def test_oracle_and_the_figure_of_fidelity_against_rows(tmp_path):
    out, fig = tmp_path / "bb.json", tmp_path / "bb.png"
    argv = ["blackbox", "--quick", "--data-dir", str(DATA_DIR), "--out", str(out),
            "--methods", "oracle", "--plot", str(fig)]
    assert main(argv) == 0
    cache = json.loads(out.read_text())
    assert {cell["rows"] for cell in cache.values()} == {5000}  # the training inputs
    assert fig.stat().st_size > 1000


@requires_datasets()
def test_the_ceiling_gives_each_cell_its_target(tmp_path, capsys):
    out = tmp_path / "bb.json"
    argv = ["blackbox", "--quick", "--teachers", "knn", "--data-dir", str(DATA_DIR),
            "--out", str(out), "--methods", "byhand,ceiling", "--ceiling-rows", "6000"]
    assert main(argv) == 0
    cache = json.loads(out.read_text())
    ceiling, byhand = cache["cpusmall/knn/6000/ceiling/0"], cache["cpusmall/knn/5000/byhand/0"]
    assert ceiling["rows"] == 6000
    target = max(0.8 * byhand["fidelity"], 1.05 * ceiling["fidelity"])
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("| cpusmall | knn | 5000 | byhand"))
    cols = [c.strip() for c in row.strip("|").split("|")]
    assert float(cols[9]) == round(target, 4)
    # by hand is its own baseline: it meets max(0.8 x itself, ...) only via the ceiling
    assert cols[10] == ("yes" if byhand["fidelity"] <= target else "no")

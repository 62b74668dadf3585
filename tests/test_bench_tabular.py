"""The ``tabular`` benchmark: quick mode end to end, and resuming from its cache."""

import json

import pytest

from skdistill.bench.__main__ import main

from .conftest import DATA_DIR, requires_datasets


@pytest.mark.slow
@requires_datasets()
def test_tabular_quick_mode_runs_and_resumes(tmp_path, capsys):
    out = tmp_path / "tab.json"
    argv = ["tabular", "--quick", "--data-dir", str(DATA_DIR), "--out", str(out)]
    assert main(argv) == 0
    cache = json.loads(out.read_text())
    cells = {k: v for k, v in cache.items() if k.endswith(("byhand", "default"))}
    assert sorted(cells) == ["ohe-hgb/data/50/5000/byhand", "ohe-hgb/data/50/5000/default"]
    for cell in cells.values():
        assert cell["rows"] == 5000
    default = cells["ohe-hgb/data/50/5000/default"]
    assert default["compact_gap"] < 1e-6  # the compact model predicts what fit did
    assert 0 < default["compact_bytes"] < cache["ohe-hgb/teacher"]["teacher_bytes"]
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ohe-hgb")]
    assert len(rows) == 3  # two methods, one size row
    before = out.stat().st_mtime_ns
    assert main(argv) == 0
    assert out.stat().st_mtime_ns == before

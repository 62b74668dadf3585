"""The ``multioutput`` benchmark: quick mode end to end, and resuming from its cache."""

import json

import pytest

from skdistill.bench.__main__ import main

from .conftest import DATA_DIR, requires_datasets


@pytest.mark.slow
@requires_datasets()
def test_multioutput_quick_mode_runs_and_resumes(tmp_path, capsys):
    out = tmp_path / "mo.json"
    argv = ["multioutput", "--quick", "--data-dir", str(DATA_DIR), "--out", str(out)]
    assert main(argv) == 0
    cache = json.loads(out.read_text())
    for teacher in ("rf", "torch"):
        joint, separate, byhand = (
            cache[f"{teacher}/25/0/20000/{m}"] for m in ("joint", "separate", "byhand")
        )
        assert len(joint["fidelity"]) == 2 and len(joint["test"]) == 2
        # each separate student spends the joint one's budget
        assert separate["rows"] == 2 * joint["rows"] and byhand["rows"] == joint["rows"]
        assert joint["compact_bytes"] < separate["compact_bytes"]
    lines = capsys.readouterr().out.splitlines()
    # 4 methods, the separate-students target and the oracle target
    assert sum(line.startswith("| rf | 25 |") for line in lines) == 6
    oracle = cache["rf/25/0/20000/oracle"]
    assert oracle["rows"] == 1200  # the training rows of the quick mode's 1500
    before = out.stat().st_mtime_ns
    assert main(argv) == 0
    assert out.stat().st_mtime_ns == before

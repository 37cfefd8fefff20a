"""The data-parallel benchmark command: argument checks, and (slow) a tiny real run."""

from __future__ import annotations

import pytest

from kanpde.bench import distributed as bench


def test_process_counts_must_divide_the_points(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--n", "10", "--procs", "1", "3"])
    assert exc.value.code == 2
    assert "--procs: 3 must be >= 1 and divide --n=10" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_run_prints_both_process_counts(capsys):
    assert bench.main(["--n", "512", "--steps", "2", "--warmup", "0", "--dtype", "float64"]) == 0
    lines = [ln.split() for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    rows = {int(r[0]): r for r in lines[1:]}
    assert set(rows) == {1, 2} and rows[2][2] == "256" and float(rows[1][5]) == 1.0

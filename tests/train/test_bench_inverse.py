"""python -m kanpde.bench inverse: the table it prints (a few steps; figures, not timings)."""

from __future__ import annotations

import pytest

from kanpde.bench import inverse


def test_quick_run_prints_one_recovered_value_per_case_and_model(capsys):
    assert inverse.main(["--cases", "heat,darcy", "--models", "kan,mlp", "--quick"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].split()[:3] == ["case", "model", "seed"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [("heat", "kan"), ("heat", "mlp"),
                                            ("darcy", "kan"), ("darcy", "mlp")]
    for r in rows:
        true, initial, got, err = map(float, (r[4], r[5], r[6], r[7]))
        assert got > 0 and err == pytest.approx(abs(got - true) / true, rel=1e-2, abs=1e-8)
        assert abs(got - true) < abs(initial - true)  # a few steps already move towards it


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        inverse.main(["--cases", "poisson"])

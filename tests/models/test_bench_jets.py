"""The jets benchmark command and the Poisson benchmark's engine names (tiny smoke runs)."""

from __future__ import annotations

import pytest

from kanpde.bench import jets, poisson


def test_jets_bench_prints_every_case_with_its_ratios(capsys):
    argv = ["--n", "64", "--repeats", "1", "--grids", "5", "--dtypes", "float64",
            "--no-effkan"]
    assert jets.main(argv) == 0
    out = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    assert out[0].split()[:4] == ["case", "dtype", "jets", "ms"]
    kan = [ln for ln in out if ln.startswith("KAN [")]
    assert [ln.split()[1] for ln in kan] == ["[2,10,10,1]", "[2,32,32,1]"]
    for ln in kan:  # jets ms, autograd ms, jet/MLPeq, G/G5 (= 1 at the first grid)
        fields = ln.split()
        assert float(fields[4]) > 0 and float(fields[5]) > 0 and float(fields[6]) > 0
        assert float(fields[7]) == 1.0
    assert sum(ln.startswith("  MLP eq.") for ln in out) == 2


def test_poisson_bench_rejects_unknown_engines():
    allowed = r"allowed auto\|autograd\|jets\|func, optionally \+compile"
    with pytest.raises(ValueError, match=allowed):
        poisson.run_one("kan", "jets+fast", True, 0, None, 1e-3)


def test_gauss_newton_bench_prints_every_run(capsys):
    from kanpde.bench import gauss_newton

    argv = ["--problems", "heat", "--quick"]
    assert gauss_newton.main(argv) == 0
    out = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    assert out[0].split()[:3] == ["problem", "model", "optimizer"]
    rows = [ln.split() for ln in out[1:]]
    assert [(r[1], r[2]) for r in rows] == [("kan", "gauss_newton"), ("kan", "lbfgs"),
                                            ("mlp", "gauss_newton"), ("mlp", "lbfgs")]
    for r in rows:
        assert int(r[4]) > 0 and 0 < float(r[9]) < 10


def test_gauss_newton_bench_refuses_unknown_names():
    from kanpde.bench import gauss_newton

    with pytest.raises(SystemExit):
        gauss_newton.main(["--problems", "wave"])

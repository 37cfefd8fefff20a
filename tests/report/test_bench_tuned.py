"""``python -m kanpde.bench tuned --quick``: searches, retrains the best setting on a fresh
seed, and tables it beside the untuned study."""

from __future__ import annotations

import optuna

from kanpde.bench.tuned import main, table


def test_quick_tuned_study_searches_retrains_and_tables(tmp_path):
    out = tmp_path / "tuned"
    summary = tmp_path / "summary.csv"
    summary.write_text("problem,model,rel_l2_mean\nPoisson,SIREN,3.0e-05\n")
    assert main(["--quick", "--problems", "poisson", "--families", "siren", "--trials", "2",
                 "--seeds", "1", "--out", str(out), "--compare", str(summary)]) == 0
    url = f"sqlite:///{out / 'poisson-siren' / 'study.db'}"
    study = optuna.load_study(study_name=optuna.get_all_study_names(url)[0], storage=url)
    assert len(study.trials) == 2
    assert (out / "poisson-siren" / "best-s1" / "run.h5").is_file()
    text = (out / "table.md").read_text()
    assert "| Poisson |" in text and "/ 3.00e-05" in text
    # a second call that runs nothing tables the same folder, and the problems not searched
    (out / "table.md").unlink()
    assert main(["--table-only", "--problems", "poisson,darcy", "--families", "siren",
                 "--out", str(out), "--compare", str(summary)]) == 0
    again = (out / "table.md").read_text()
    assert "| Poisson |" in again and "[2] / 3.00e-05" in again and "| Darcy | not run |" in again


def test_a_search_short_of_its_trials_is_marked_partial():
    rows = {("heat", "kan"): (1e-6, [2e-6, 4e-6])}
    counts = {("heat", "kan"): (3, 5), ("heat", "mlp"): (1, 5)}
    text = table(rows, {("Heat", "KAN"): 7e-8}, counts, ["kan", "mlp"], ["heat"])
    assert "| Heat | 3.00e-06 (1.00e-06) [partial: 3 of 5] / 7.00e-08 | not run (1 of 5 " in text
    unretrained = table({("heat", "kan"): (1e-6, [])}, {}, {("heat", "kan"): (5, 5)}, ["kan"],
                        ["heat"])
    assert "| Heat | not retrained (1.00e-06) [5] / nan |" in unretrained

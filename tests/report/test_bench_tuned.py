"""``python -m kanpde.bench tuned --quick``: searches, retrains the best setting on a fresh
seed, and tables it beside the untuned study."""

from __future__ import annotations

import optuna

from kanpde.bench.tuned import main


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

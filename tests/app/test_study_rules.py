"""Study rules (kanpde.app.study_rules): grid ladders and parameter matching."""

from __future__ import annotations

import pytest

from kanpde.app.study_rules import apply_study_rules, ladder_schedule
from kanpde.core.errors import ConfigError
from kanpde.models import KAN, MLP, SIREN, FourierMLP, count_parameters
from kanpde.models.params import parameter_count


def _cfg(model: dict, steps: int = 100, grid=None, match=None) -> dict:
    return {
        "model": dict(model),
        "train": {"phases": [{"optimizer": "adam", "steps": steps}],
                  "grid": dict(grid or {"extend_at": [], "sizes": []})},
        "match": match,
    }


KAN_NODE = {"_target_": "kanpde.models.KAN", "widths": [2, 5, 1], "grid_size": 5,
            "spline_order": 3}
REF = {"widths": [2, 10, 1], "grid_size": 5, "spline_order": 5}


@pytest.mark.parametrize(
    ("ladder", "steps", "expected"),
    [
        ([7], 100, (7, [], [])),
        ([3, 5], 100, (3, [50], [5])),
        ([3, 5, 10], 100, (3, [33, 66], [5, 10])),
        ([3, 5, 10, 20, 50], 100, (3, [20, 40, 60, 80], [5, 10, 20, 50])),
        ([3, 5, 10], 7, (3, [2, 4], [5, 10])),
    ],
)
def test_ladder_splits_steps_evenly(ladder, steps, expected):
    assert ladder_schedule(ladder, steps) == expected


@pytest.mark.parametrize(
    ("ladder", "steps", "message"),
    [
        ([], 100, "empty"),
        ([5, 3], 100, "increase strictly"),
        ([3, 3], 100, "increase strictly"),
        ([0, 5], 100, "ladder[0]"),
        ([3, 5.5], 100, "ladder[1]"),
        ([3, 5, 10], 2, "need at least 3 steps"),
    ],
)
def test_bad_ladders_are_refused(ladder, steps, message):
    with pytest.raises(ConfigError, match="train.grid.ladder") as err:
        ladder_schedule(ladder, steps)
    assert message in str(err.value)


def test_ladder_replaces_the_schedule_and_sets_the_kan_grid():
    cfg = _cfg(KAN_NODE, grid={"extend_at": [10], "sizes": [40], "ladder": [3, 5, 10]})
    out = apply_study_rules(cfg, dim_in=2)
    assert out["model"]["grid_size"] == 3
    assert out["train"]["grid"] == {"extend_at": [33, 66], "sizes": [5, 10]}
    assert cfg["train"]["grid"]["ladder"] == [3, 5, 10]  # the input is not changed
    assert apply_study_rules(out, dim_in=2) == out  # idempotent
    mlp = _cfg({"_target_": "kanpde.models.MLP", "widths": [2, 8, 1]}, grid={"ladder": [3]})
    assert "grid_size" not in apply_study_rules(mlp, dim_in=2)["model"]


@pytest.mark.parametrize(
    ("node", "cls"),
    [
        ({"_target_": "kanpde.models.MLP", "widths": [2, 4, 1], "activation": "tanh"}, MLP),
        ({"_target_": "kanpde.models.SIREN", "widths": [2, 4, 1]}, SIREN),
        ({"_target_": "kanpde.models.FourierMLP", "widths": [2, 4, 1], "n_features": 8},
         FourierMLP),
    ],
)
@pytest.mark.parametrize("dim_in", [2, 3])
def test_match_sizes_every_baseline_to_the_final_kan(node, cls, dim_in):
    grid = {"extend_at": [20, 40, 200], "sizes": [10, 20, 40]}  # 200: beyond the 100 steps
    out = apply_study_rules(_cfg(node, grid=grid, match={"kan": REF, "depth": 3}), dim_in)
    widths = out["model"]["widths"]
    assert len(widths) == 5 and widths[0] == 2 and widths[-1] == 1
    kan = KAN([dim_in, 10, 1], grid_size=5, spline_order=5)
    kan.extend_grid(20)  # the last grid the schedule reaches
    target = count_parameters(kan)
    kw = {k: v for k, v in out["model"].items() if k not in ("_target_", "widths")}
    family = {MLP: "mlp", SIREN: "siren", FourierMLP: "fourier"}[cls]

    def count(w: int) -> int:
        return parameter_count(family, [dim_in, w, w, w, 1], **kw)

    w = widths[1]
    assert abs(count(w) - target) <= min(abs(count(w - 1) - target), abs(count(w + 1) - target))
    built = cls([dim_in, *widths[1:]], **kw)
    assert count_parameters(built) == count(w)


def test_match_gives_the_kan_its_reference_and_baselines_their_settings():
    match = {"kan": REF, "depth": 2, "baselines": {"siren": {"omega_0": 3.0}}}
    kan = apply_study_rules(_cfg(KAN_NODE, match=match), 2)["model"]
    assert kan["widths"] == [2, 10, 1] and kan["spline_order"] == 5
    siren = apply_study_rules(_cfg({"_target_": "kanpde.models.SIREN", "widths": [2, 3, 1]},
                                   match=match), 2)["model"]
    assert siren["omega_0"] == 3.0 and len(siren["widths"]) == 4


@pytest.mark.parametrize(
    ("node", "match", "key"),
    [
        (KAN_NODE, {"kan": {"widths": [2, 3, 1]}}, "match.kan"),
        (KAN_NODE, {"kan": REF, "width": 3}, "match"),
        (KAN_NODE, {"kan": REF, "baselines": {"resnet": {}}}, "match.baselines"),
        ({"_target_": "kanpde.models.MLP", "widths": [2, 3, 1]}, {"kan": REF, "depth": 0},
         "match.depth"),
        ({"_target_": "my.Net", "widths": [2, 3, 1]}, {"kan": REF}, "match"),
    ],
)
def test_bad_match_is_refused(node, match, key):
    with pytest.raises(ConfigError, match=rf"^{key}:"):
        apply_study_rules(_cfg(node, match=match), 2)

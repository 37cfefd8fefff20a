"""TrainConfig validation: every bad value names its key."""

import pytest

from kanpde.train.config import ConfigError, TrainConfig


def test_defaults_are_valid():
    cfg = TrainConfig.from_dict({})
    assert cfg == TrainConfig()  # the config tree's default schedule (tests/app/test_defaults)
    assert cfg.total_steps == 100
    assert cfg.phases[0].optimizer == "gauss_newton"
    assert (cfg.grid.extend_at, cfg.grid.sizes, cfg.grid.ladder) == ([20, 40, 80], [10, 20, 40],
                                                                     None)


def test_phases_and_grid_parse():
    cfg = TrainConfig.from_dict(
        {
            "phases": [{"optimizer": "adam", "steps": 10}, {"optimizer": "lbfgs", "steps": 5}],
            "grid": {"extend_at": [3, 8], "sizes": [10, 20]},
            "resample": {"policy": "rad", "every": 4},
        }
    )
    assert cfg.total_steps == 15
    assert cfg.grid.sizes == [10, 20]
    assert cfg.resample.policy == "rad"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"lr": -1.0}, "train.lr"),
        ({"lr": "fast"}, "train.lr"),
        ({"phases": []}, "train.phases"),
        ({"phases": [{"optimizer": "sgd"}]}, "train.phases[0].optimizer"),
        ({"phases": [{"steps": -3}]}, "train.phases[0].steps"),
        ({"phases": [{"stepz": 3}]}, "train.phases[0].stepz"),
        ({"phases": [{"schedule": "linear"}]}, "train.phases[0].schedule"),
        ({"grid": {"extend_at": [5], "sizes": []}}, "train.grid.extend_at"),
        ({"grid": {"extend_at": [5, 2], "sizes": [10, 20]}}, "train.grid.extend_at"),
        ({"grid": {"extend_at": [5], "sizes": [-10]}}, "train.grid.sizes[0]"),
        ({"resample": {"policy": "sometimes"}}, "train.resample.policy"),
        ({"n_interior": 0}, "train.n_interior"),
        ({"eval_every": 0}, "train.eval_every"),
        ({"rollback_lr_factor": 2.0}, "train.rollback_lr_factor"),
        ({"loss_weights": {"residual": -1.0}}, "train.loss_weights.residual"),
        ({"n_interiour": 10}, "train.n_interiour"),
    ],
)
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as err:
        TrainConfig.from_dict(data)
    assert key in str(err.value)


def test_typo_suggests_the_key():
    with pytest.raises(ConfigError, match="did you mean 'train.n_interior'"):
        TrainConfig.from_dict({"n_interiour": 10})

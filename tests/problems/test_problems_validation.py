"""Invalid settings fail at construction with a message naming the setting."""

import pytest
from kanpde.problems import AllenCahn, Darcy, Heat, Poisson


@pytest.mark.parametrize(
    "factory, match",
    [
        (
            lambda: Poisson("kan"),
            r"unknown Poisson variant 'kan'; allowed values: kan_paper, sinsin",
        ),
        (lambda: AllenCahn("neumann"), "allowed values: periodic, dirichlet"),
        (lambda: Darcy("rough"), "allowed values: smooth, random_field"),
        (lambda: Heat("3d"), "allowed values: 1d, diffusion2d"),
        (lambda: Heat(diffusion=-1.0), "diffusion must be finite and > 0"),
        (lambda: Heat("diffusion2d", diffusion=0.0), "diffusion must be finite and > 0"),
        (lambda: AllenCahn(diffusion=-1e-4), "diffusion must be finite and > 0"),
        (lambda: AllenCahn(reaction=-5.0), "reaction must be finite and >= 0"),
        (lambda: Heat(t_end=0.0), "t_end must be finite and > 0"),
        (lambda: AllenCahn(t_end=-1.0), "t_end must be finite and > 0"),
        (lambda: AllenCahn(reference_modes=511), "reference_modes"),
        (lambda: AllenCahn(reference_modes=768), "reference_modes must divide 512"),
        (lambda: AllenCahn(reference_dt=0.0), "reference_dt"),
        (lambda: AllenCahn("dirichlet", reference_intervals=1000), "reference_intervals"),
        (lambda: Darcy(length_scale=-0.2), "length_scale must be finite and > 0"),
        (lambda: Darcy(sigma=float("nan")), "sigma"),
        (lambda: Darcy(field_seed=-3), "field_seed"),
        (lambda: Darcy(reference_cells=100), "reference_cells"),
        (lambda: Poisson(loss_weights={"initial": 1.0}), "unknown term 'initial'"),
        (lambda: Heat(loss_weights={"boundary": -2.0}), "loss_weights"),
    ],
)
def test_invalid_setting_is_named(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()

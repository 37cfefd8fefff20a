"""What a training run checks and builds from its config and problem before the first step:
the loss weights (the problem's, overridden by ``train.loss_weights``), the loss balancer,
and the settings that depend on the problem or the model."""

from __future__ import annotations

from torch import nn

from kanpde.models.backbone import kan_backbone
from kanpde.train import distributed
from kanpde.train.config import ConfigError, TrainConfig
from kanpde.train.weighting import LossBalancer


def check_against_problem(config: TrainConfig, problem, model: nn.Module) -> None:
    """ConfigError naming the key when a setting does not fit the problem or the model:
    loss weights of unknown terms, causal training without a time coordinate, a B-spline
    order below the problem's derivative order, a grid ladder that does not start at the
    KAN's grid size, sparsity without a KAN, variable projection of a nonlinear problem."""
    unknown = set(config.loss_weights) - set(problem.terms)
    if unknown:
        raise ConfigError(
            f"train.loss_weights: unknown term(s) {sorted(unknown)}; "
            f"this problem's terms are {list(problem.terms)}"
        )
    name = type(problem).__name__
    if config.validation and not any(getattr(c, "kind", "") == "data"
                                     for c in problem.conditions):
        raise ConfigError(
            f"train.validation: holds out observations, and {name} has none (no data term); "
            "add observations (data.n, data.file) or set it to 0"
        )
    if config.causal.enabled and not getattr(problem.domain, "time_name", None):
        raise ConfigError(
            f"train.causal.enabled: causal training weights time slabs, and {name} has no "
            f"time coordinate (its coordinates: {', '.join(problem.names)}); set it to false"
        )
    try:
        kan, _ = kan_backbone(model)
    except ValueError:
        kan = None
    order = max([problem.residual_order]
                + [int(getattr(c, "order", 0) or 0) for c in problem.conditions])
    if kan is not None and kan.basis == "bspline" and kan.spline_order < order:
        raise ConfigError(
            f"model.spline_order: {kan.spline_order} is too low for {name}, whose residual "
            f"takes derivatives of order {order}: a B-spline of order k is piecewise of "
            f"degree k, so its derivatives of order above k vanish; allowed: "
            f"spline_order >= {order}"
        )
    g0 = config.grid.ladder[0] if config.grid.ladder else None
    grid = getattr(kan, "grid_size", None) if kan is not None else None
    if g0 is not None and grid is not None and grid != g0:
        raise ConfigError(
            f"train.grid.ladder: starts at G_0 = {g0} but the model's grid_size is {grid}; "
            f"build the KAN with grid_size={g0} (the command line sets it from the ladder)"
        )
    if config.sparsity.active:
        try:
            kan_backbone(model)
        except ValueError as exc:
            raise ConfigError(f"train.sparsity: {exc}") from exc
    for i, phase in enumerate(config.phases):
        if phase.optimizer == "gauss_newton" and phase.varpro and not problem.linear:
            raise ConfigError(
                f"train.phases[{i}].varpro: variable projection needs a problem whose "
                f"residuals are affine in the network output; {type(problem).__name__} "
                "is not (set varpro=false)"
            )


def term_weights(problem, config: TrainConfig) -> dict[str, float]:
    """``w_t``: the problem's loss weights, overridden by ``train.loss_weights``."""
    weights = {t: float(problem.loss_weights.get(t, 1.0)) for t in problem.terms}
    weights.update({k: float(v) for k, v in config.loss_weights.items()})
    return weights


def make_balancer(problem, config: TrainConfig, comm: distributed.Comm) -> LossBalancer:
    """The loss balancer of a run (time axis and range for causal training)."""
    domain = problem.domain
    t_name = getattr(domain, "time_name", None)
    t_axis = list(problem.names).index(t_name) if t_name else None
    t_range = None if t_axis is None else (float(domain.lo[t_axis]), float(domain.hi[t_axis]))
    return LossBalancer(term_weights(problem, config), config.weighting, config.rba,
                        config.causal, t_axis, t_range, comm)

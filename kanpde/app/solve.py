"""One solve: build from the config, train, write ``run.h5`` (atomically) and the figures."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from kanpde.app.assemble import Plan
from kanpde.core.version import __version__
from kanpde.figures import figures
from kanpde.models import count_parameters
from kanpde.models.backbone import backbone, grid_size_of
from kanpde.models.kan.edges import edge_functions
from kanpde.results import write_run
from kanpde.train import Monitor, Trainer, distributed

log = logging.getLogger("kanpde")


def model_description(node: dict[str, Any]) -> dict[str, Any]:
    """The model's config keys (JSON-able) for the run record."""
    return {k: v for k, v in node.items() if isinstance(v, int | float | str | list | bool)}


def inverse_record(problem, result) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
    """Final metrics, run attributes and extra groups with the learned coefficients and the
    data term: ``coef_<name>`` (learned) and ``coef_<name>_rel_error`` (against the true
    value) join the metrics, ``coef_<name>_true`` / ``_initial`` the attributes, and the
    group ``/coefficients`` holds ``<name>: [learned, true, initial]``."""
    final, attrs, extra = dict(result.final), {}, {}
    if result.coefficients:
        true = problem.true_coefficients()
        initial = problem.learned.initial
        group = {}
        for name, value in result.coefficients.items():
            final[f"coef_{name}"] = value
            final[f"coef_{name}_rel_error"] = abs(value - true[name]) / abs(true[name])
            attrs[f"coef_{name}_true"] = true[name]
            attrs[f"coef_{name}_initial"] = initial[name]
            group[name] = [value, true[name], initial[name]]
        extra["coefficients"] = group
    data = [c for c in problem.conditions if c.kind == "data"]
    if data:
        attrs["data_points"] = data[0].observations.n
        attrs["data_source"] = data[0].observations.source
    return final, attrs, extra


def solve(plan: Plan, run_dir: Path, config_yaml: str, monitor: Monitor | None = None) -> str:
    """Train the plan (:func:`kanpde.app.assemble.build`), write ``run_dir/run.h5`` (its
    config: ``config_yaml``, the plan's resolved config as YAML) and the figures; return the
    run status. ``monitor`` sees every history row and may stop the run ("pruned")."""
    cfg = plan.config
    problem, model, sampler, train_cfg = plan.problem, plan.model, plan.sampler, plan.train
    device, dtype = plan.device, plan.dtype
    comm = distributed.current()
    run_dir.mkdir(parents=True, exist_ok=True)
    n_params = count_parameters(model)
    if comm.distributed:
        log.info("data-parallel: %d processes, %s shards of the collocation points",
                 comm.world_size, train_cfg.shards or comm.world_size)
    fields = "".join(f" + {name}: {type(backbone(net)).__name__} {list(net.widths)}"
                     for name, net in getattr(model, "fields", {}).items())
    log.info(
        "%s | %s %s%s (%d parameters) | %s %s | derivatives=%s | %s",
        type(problem).__name__, type(backbone(model)).__name__, cfg["model"].get("widths"),
        fields, n_params, device, cfg["dtype"], cfg["derivatives"], run_dir,
    )
    trainer = Trainer(
        problem, model, sampler, train_cfg, seed=cfg["seed"], engine=cfg["derivatives"],
        device=device, dtype=dtype, run_dir=run_dir, monitor=monitor,
    )
    result = trainer.fit()
    if not comm.is_main:  # rank 0 writes the run
        return result.status
    coords = result.test.coords
    final, coef_attrs, extra = inverse_record(problem, result)
    edges = edge_functions(model, train_cfg.edge_samples)
    if edges is not None:
        extra["edges"] = edges
    path = write_run(
        run_dir / "run.h5",
        config_yaml=config_yaml,
        attrs={
            "kanpde_version": __version__,
            "device": str(device),
            "dtype": cfg["dtype"],
            "seed": cfg["seed"],
            "n_params": n_params,
            "n_params_final": count_parameters(model),
            "wall_time_s": result.wall_time_s,  # summed over a resumed run's segments
            "train_time_s": result.train_time_s,
            "steps": result.steps,
            "status": result.status,
            "message": result.message,
            "problem": type(problem).__name__,
            "variant": str(getattr(problem, "variant", "")),
            "model": type(backbone(model)).__name__,
            "embedding": json.dumps(cfg.get("embedding") or {}),
            "hard_constraint": bool(cfg.get("hard_constraint", False)),
            "grid_size": grid_size_of(model) or 0,
            "derivatives": cfg["derivatives"],
            "world_size": comm.world_size,
            "n_shards": trainer.n_shards,
            "output_names": ",".join(problem.output_names),
            **coef_attrs,
        },
        history=result.history,
        final=final,
        eval_fields={
            "coords": coords,
            "u_pred": result.u_pred,
            "u_ref": result.test.u_ref,
        },
        eval_axes=problem.test_axes(),
        coord_names=list(problem.names),
        model_state=model.state_dict(),
        model_info={"class": type(backbone(model)).__name__,
                    **model_description(cfg["model"])},
        extra=extra,
    )
    if cfg.get("figures", True):
        try:
            figures(path)
        except Exception as exc:  # a figure must never cost the result
            log.warning("figures failed: %s", exc)
    summary = "  ".join(f"{k}={v:.6g}" if k.startswith("coef_") and not k.endswith("error")
                        else f"{k}={v:.3e}" for k, v in final.items())
    log.info("%s after %d steps in %.1f s: %s -> %s", result.status, result.steps,
             result.wall_time_s, summary, path)
    if result.status != "completed":
        log.error(result.message)
    return result.status

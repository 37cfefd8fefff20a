"""Explain a finished run: importance, pruning, symbolic formula, figures, record.

:func:`load_run` rebuilds the problem and the trained model of a run directory from its
``run.h5`` (config and model state). :func:`explain_run` then

1. takes the activations of every edge over the run's training points (its sampler and
   seed; interior and boundary points), and the edge and node scores;
2. optionally prunes edges with score below ``prune`` (plus dead nodes), retrains the
   pruned model for ``retrain_steps`` L-BFGS steps on the PDE loss (pruned edges stay 0),
   and reports the test accuracy before pruning, after pruning and after retraining;
3. optionally fits every live edge with ``a * g(b x + c) + d`` over the library, locks
   the chosen edges to their best-ranked formula, fine-tunes the affine parameters on the
   PDE loss (``finetune_steps`` L-BFGS steps), and, when every live edge is locked, composes
   the network into one sympy expression of the physical coordinates, tidies it and
   evaluates its error against the run's reference values (``eval/u_ref``);
4. writes ``explain_network.png``, ``explain_layer<l>.png``, ``formula.txt``, ``formula.tex``
   and ``explain.json`` next to ``run.h5``, and the ``explain`` group into ``run.h5``
   (atomically).
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kanpde.app.explain_runs import LoadedRun, accuracy, load_run, training_points
from kanpde.core.atomic import write_text
from kanpde.explain.figures import LayerPlotData, layer_figure, network_figure
from kanpde.explain.finetune import finetune
from kanpde.explain.fit import EdgeFit, fit_edge, fit_function, rank_fits
from kanpde.explain.formula import Formula, tidy
from kanpde.explain.importance import edge_scores, node_scores
from kanpde.explain.library import get_functions
from kanpde.explain.pruning import apply_masks, current_masks, live_counts, prune_masks
from kanpde.explain.symbolic import Edge, SymbolicKAN, split_model
from kanpde.figures.style import save_figure
from kanpde.models.backbone import kan_backbone
from kanpde.models.kan.edges import LayerActivations, edge_activations, model_activations
from kanpde.results import add_group
from kanpde.train import TrainConfig, Trainer

EXACT_TOL = 1e-6  # max_abs below which a formula is called equivalent to the reference


@dataclass
class ExplainOptions:
    """Options of :func:`explain_run` (checked by :meth:`validate`, ValueError naming them)."""

    prune: float | None = None  # relative edge-score threshold in [0, 1)
    retrain_steps: int = 50
    symbolic: bool = True
    lock: str = "all"  # "all" | "none" | "l.i.j[=fn],..."
    functions: list[str] | None = None
    complexity_weight: float = 0.5
    r2_floor: float = 1e-6
    finetune_steps: int = 50
    n_points: int = 4000
    snap_tol: float = 1e-4
    figures: bool = True
    device: str | None = None

    def validate(self) -> None:
        if self.prune is not None and not 0.0 <= float(self.prune) < 1.0:
            raise ValueError(f"prune={self.prune!r} must lie in [0, 1) (relative edge score)")
        for name in ("retrain_steps", "finetune_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name}={v!r} must be an integer >= 0")
        if isinstance(self.n_points, bool) or not isinstance(self.n_points, int) \
                or self.n_points < 16:
            raise ValueError(f"n_points={self.n_points!r} must be an integer >= 16")
        if not float(self.complexity_weight) >= 0:
            raise ValueError(f"complexity_weight={self.complexity_weight!r} must be >= 0")
        if not 0 < float(self.r2_floor) < 1:
            raise ValueError(f"r2_floor={self.r2_floor!r} must lie in (0, 1)")
        if not 0 < float(self.snap_tol) < 1:
            raise ValueError(f"snap_tol={self.snap_tol!r} must lie in (0, 1)")
        get_functions(self.functions)
        parse_lock(self.lock)


_LOCK_ITEM = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:=(.+))?$")


def parse_lock(spec: str) -> str | dict[Edge, str | None]:
    """``"all"``, ``"none"`` or ``{(l, i, j): function or None}`` from ``"l.i.j[=fn],..."``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"lock={spec!r} must be 'all', 'none' or a list 'l.i.j[=fn],...'")
    spec = spec.strip()
    if spec in ("all", "none"):
        return spec
    out: dict[Edge, str | None] = {}
    for item in spec.split(","):
        m = _LOCK_ITEM.match(item.strip())
        if not m:
            raise ValueError(
                f"lock item {item!r} is invalid; allowed: 'all', 'none' or items 'l.i.j' or "
                "'l.i.j=fn' (layer.input.output, optional library function), comma separated"
            )
        fn = m.group(4)
        if fn is not None:
            get_functions([fn])
        out[(int(m.group(1)), int(m.group(2)), int(m.group(3)))] = fn
    return out


def _retrain(run: LoadedRun, model: torch.nn.Module, steps: int) -> dict[str, float]:

    raw = dict(run.cfg.get("train") or {})
    raw.update({
        "phases": [{"optimizer": "lbfgs", "steps": steps, "max_iter": 20, "history_size": 10}],
        "grid": {"extend_at": [], "sizes": [], "update_every": 0},
        "resume": False, "progress": False, "max_time_s": 0.0, "eval_every": max(steps, 1),
        "checkpoint_every": max(steps, 1), "sparsity": {"l1": 0.0, "entropy": 0.0},
    })
    tc = TrainConfig.from_dict(raw)
    result = Trainer(run.problem, model, run.sampler, tc, seed=int(run.cfg.get("seed", 0)),
                     engine=run.cfg.get("derivatives", "auto"), device=run.device,
                     dtype=run.dtype).fit()
    if result.status != "completed":
        raise RuntimeError(f"retraining after pruning ended {result.status}: {result.message}")
    return {"steps": result.steps, "final_loss": float(result.history["loss"][-1])}


def _plot_data(model: torch.nn.Module, acts: list[LayerActivations], scores, masks,
               fits: dict[Edge, EdgeFit], m: int = 101) -> list[LayerPlotData]:
    kan, _ = kan_backbone(model)
    out = []
    with torch.no_grad():
        for l, (layer, a) in enumerate(zip(kan.layers, acts, strict=True)):
            lo, hi = a.x.min(dim=0).values, a.x.max(dim=0).values
            t = torch.linspace(0, 1, m, dtype=a.x.dtype, device=a.x.device).unsqueeze(1)
            xs = lo + t * (hi - lo)
            phi = edge_activations(layer, xs)
            out.append(LayerPlotData(
                xs.double().cpu().numpy(), phi.double().cpu().numpy(),
                a.x.double().cpu().numpy(), scores[l].double().cpu().numpy(),
                masks[l].cpu().numpy(),
                {(i, j): f for (ll, i, j), f in fits.items() if ll == l}))
    return out




def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def _fit_all(acts, masks, options: ExplainOptions) -> dict[Edge, list[EdgeFit]]:
    """Ranked fits of every live edge."""
    ranked: dict[Edge, list[EdgeFit]] = {}
    for l, a in enumerate(acts):
        x = a.x.double().cpu().numpy()
        phi = a.phi.double().cpu().numpy()
        for i in range(phi.shape[1]):
            for j in range(phi.shape[2]):
                if masks[l][i, j]:
                    ranked[(l, i, j)] = rank_fits(
                        fit_edge(x[:, i], phi[:, i, j], options.functions),
                        options.complexity_weight, options.r2_floor)
    return ranked


def _choose_locks(acts, masks, ranked, spec) -> dict[Edge, EdgeFit]:
    if spec == "none":
        return {}
    if spec == "all":
        return {e: fits[0] for e, fits in ranked.items()}
    out = {}
    for edge, fn in spec.items():
        if edge not in ranked:
            raise ValueError(f"lock: edge {'.'.join(map(str, edge))} does not exist or is pruned")
        if fn is None:
            out[edge] = ranked[edge][0]
        else:
            l, i, j = edge
            out[edge] = fit_function(acts[l].x[:, i].double().cpu().numpy(),
                                     acts[l].phi[:, i, j].double().cpu().numpy(), fn)
    return out


def explain_run(run_dir: str | os.PathLike[str], options: ExplainOptions | None = None,
            log=print) -> dict[str, Any]:
    """Run the whole explanation (see the module docstring); return the report dict."""

    options = options or ExplainOptions()
    options.validate()
    lock_spec = parse_lock(options.lock)
    run = load_run(run_dir, options.device)
    model = run.model
    kan, _ = kan_backbone(model)
    if isinstance(lock_spec, dict):
        for l, i, j in lock_spec:
            if not (l < len(kan.layers) and i < kan.layers[l].in_features
                    and j < kan.layers[l].out_features):
                raise ValueError(f"lock: edge {l}.{i}.{j} does not exist in KAN {kan.widths}")
    coords = np.asarray(run.record.eval["coords"], dtype=np.float64)
    u_ref = np.asarray(run.record.eval["u_ref"], dtype=np.float64)
    points = training_points(run, options.n_points)
    all_points = torch.cat(list(points.values()))
    report: dict[str, Any] = {
        "run": run.run_dir.name, "problem": run.record.attrs.get("problem"),
        "variant": run.record.attrs.get("variant", ""), "widths": list(kan.widths),
        "coordinates": run.names, "options": dict(vars(options)),
        "run_final": dict(run.record.final),
    }
    base = accuracy(model, coords, u_ref)
    report["model_accuracy"] = base
    log(f"model: KAN {kan.widths}, rel_l2 {base['rel_l2']:.3e}, max_abs {base['max_abs']:.3e}")

    acts = model_activations(model, all_points)
    scores = edge_scores(acts)
    masks = current_masks(kan)
    if options.prune is not None:
        n_before, w_before = live_counts(masks)
        new = prune_masks(scores, options.prune, masks)
        apply_masks(kan, new)
        pruned_acc = accuracy(model, coords, u_ref)
        retrain = _retrain(run, model, options.retrain_steps) if options.retrain_steps else {}
        after = accuracy(model, coords, u_ref)
        n_after, w_after = live_counts(current_masks(kan))
        report["pruning"] = {
            "threshold": options.prune, "edges_before": n_before, "edges_after": n_after,
            "widths_before": w_before, "widths_after": w_after,
            "accuracy_before": base, "accuracy_pruned": pruned_acc,
            "accuracy_after_retraining": after, "retraining": retrain,
        }
        log(f"pruning at {options.prune:g}: edges {n_before} -> {n_after}, live widths "
            f"{w_before} -> {w_after}; rel_l2 {base['rel_l2']:.3e} -> {pruned_acc['rel_l2']:.3e}"
            f" (pruned) -> {after['rel_l2']:.3e} (after {options.retrain_steps} retraining "
            "steps)")
        acts = model_activations(model, all_points)
        scores = edge_scores(acts)
        masks = current_masks(kan)
    nodes = node_scores(scores)
    report["edges"] = [
        {"edge": f"{l}.{i}.{j}", "score": float(scores[l][i, j]), "live": bool(masks[l][i, j])}
        for l in range(len(scores)) for i in range(scores[l].shape[0])
        for j in range(scores[l].shape[1])
    ]
    report["node_scores"] = [n.double().cpu().tolist() for n in nodes]

    fits_for_plot: dict[Edge, EdgeFit] = {}
    formula: Formula | None = None
    symbolic_ok = options.symbolic
    if options.symbolic:
        try:
            split_model(model)
        except ValueError as exc:
            symbolic_ok = False
            report["formula"] = {"text": None, "note": f"no formula: {exc}"}
            log(f"no formula: {exc}")
    if symbolic_ok:
        ranked = _fit_all(acts, masks, options)
        report["symbolic_fits"] = {
            ".".join(map(str, e)): [f.as_dict() for f in fits[:3]] for e, fits in ranked.items()
        }
        locks = _choose_locks(acts, masks, ranked, lock_spec)
        fits_for_plot = {e: fits[0] for e, fits in ranked.items()}
        fits_for_plot.update(locks)
        sym = SymbolicKAN(copy.deepcopy(model), locks)
        sym_before = accuracy(sym, coords, u_ref)
        losses = finetune(sym, run.problem, points, options.finetune_steps)
        sym_after = accuracy(sym, coords, u_ref)
        tuned = sym.fits()
        report["symbolic"] = {
            "locked": {".".join(map(str, e)): f.as_dict() for e, f in tuned.items()},
            "fully_symbolic": sym.fully_symbolic,
            "accuracy_locked": sym_before, "accuracy_finetuned": sym_after,
            "finetune_loss": [losses[0], losses[-1]], "finetune_steps": len(losses) - 1,
        }
        names = ", ".join(sorted({f.name for f in locks.values()}))
        log(f"symbolic: {len(locks)} edges locked ({names}); "
            f"rel_l2 {sym_before['rel_l2']:.3e} -> {sym_after['rel_l2']:.3e} after fine-tuning")
        if sym.fully_symbolic and run.problem.dim_out == 1:
            expr = sym.expression(run.names)[0]
            formula = tidy(expr, run.names, coords, u_ref[:, 0], tol=options.snap_tol)
            exact = formula.error["max_abs"] < EXACT_TOL
            report["formula"] = {
                "text": formula.text, "latex": formula.latex, "stage": formula.stage,
                "error": formula.error, "raw_error": formula.raw_error,
                "equivalent_to_reference": exact,
                "note": (f"max |formula - reference| = {formula.error['max_abs']:.2e} on the "
                         "test set" + (f" (< {EXACT_TOL:g}): equivalent to the reference"
                                       if exact else ": an approximation, not the exact solution")),
            }
            log(f"formula: u = {formula.text}")
            log(f"formula error: max_abs {formula.error['max_abs']:.3e}, rel_l2 "
                f"{formula.error['rel_l2']:.3e} ({'equivalent' if exact else 'approximate'})")
        else:
            why = ("not every live edge is locked" if not sym.fully_symbolic
                   else "only single-output problems are composed")
            report["formula"] = {"text": None, "note": f"no formula: {why}"}
            log(f"no formula: {why}")

    out = run.run_dir
    files = []
    if options.figures:
        data = _plot_data(model, acts, scores, masks, fits_for_plot)
        fig = network_figure(data, run.names, f"{report['problem']} {report['variant']}: "
                             f"KAN {kan.widths}")
        files.append(save_figure(fig, out / "explain_network.png").name)
        for l, d in enumerate(data):
            fig = layer_figure(d, l, run.names if l == 0 else None)
            files.append(save_figure(fig, out / f"explain_layer{l}.png").name)
    if formula is not None:
        err = formula.error
        write_text(out / "formula.txt",
                    f"u({', '.join(run.names)}) = {formula.text}\n"
                    f"# max_abs error {err['max_abs']:.3e}, rel_l2 {err['rel_l2']:.3e} against the "
                    "reference on the test set\n")
        write_text(out / "formula.tex", f"u({', '.join(run.names)}) = {formula.latex}\n")
        files += ["formula.txt", "formula.tex"]
    files.append("explain.json")
    report["files"] = files
    text = json.dumps(_json_safe(report), indent=2)
    write_text(out / "explain.json", text + "\n")

    datasets: dict[str, np.ndarray] = {}
    for l in range(len(scores)):
        datasets[f"score_{l}"] = scores[l].double().cpu().numpy()
        datasets[f"mask_{l}"] = masks[l].cpu().numpy().astype(np.int8)
    attrs = {"report": text}
    if formula is not None:
        attrs.update({"formula": formula.text, "formula_latex": formula.latex,
                      "formula_max_abs": formula.error["max_abs"],
                      "formula_rel_l2": formula.error["rel_l2"]})
    add_group(out / "run.h5", "explain", datasets, attrs)
    return report

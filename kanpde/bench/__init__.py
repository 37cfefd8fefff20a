"""Benchmark suites: ``python -m kanpde.bench <suite> [options]`` prints timings.

Suites: ``models`` (training and physics-informed steps with nested autograd), ``jets``
(Poisson PINN steps with analytic derivative jets vs nested autograd), ``contraction``
(per-layer jet contraction strategies, the data behind ``contraction="auto"``), ``poisson``
(the KAN-paper Poisson solve: KAN with grid schedule vs matched MLP and SIREN, time to
accuracy with jets and with nested autograd), ``distributed`` (data-parallel step time and
speedup on 1 vs 2 gloo processes over a large collocation set), ``gauss_newton`` (Gauss-Newton
against L-BFGS, KAN against MLP, on the four benchmark problems at equal time budgets),
``inverse`` (PDE coefficients recovered from noisy observations), ``gn_scaling`` (seconds per
step and peak memory of every Gauss-Newton solver, Adam and L-BFGS against the parameter and
point counts, with fitted growth exponents), ``pinnacle`` (PINNacle benchmark tasks: KAN and a
matched MLP under the same optimizer and budget, beside PINNacle's published errors),
``tuned`` (every model family tuned by ``kanpde-tune`` with the same trial budget on the
compare study's problems, best settings retrained on fresh seeds, beside the untuned study).
Benchmarks print figures; tests never assert timings.
"""

SUITES = ("models", "jets", "contraction", "poisson", "distributed", "gauss_newton", "inverse",
          "gn_scaling", "pinnacle", "tuned")

__all__ = ["SUITES"]

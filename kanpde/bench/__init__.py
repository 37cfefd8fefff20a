"""Benchmark suites: ``python -m kanpde.bench <suite> [options]`` prints timings.

Suites: ``models`` (training and physics-informed steps with nested autograd), ``jets``
(Poisson PINN steps with analytic derivative jets vs nested autograd), ``contraction``
(per-layer jet contraction strategies, the data behind ``contraction="auto"``).
Benchmarks print figures; tests never assert timings.
"""

SUITES = ("models", "jets", "contraction")

__all__ = ["SUITES"]

"""Reference solvers for problems without a closed-form solution (finite volumes, method of
lines, spectral ETDRK4, finite elements, finite differences), and their disk cache."""

from kanpde.pde.reference.cache import cache_dir, cache_key, cache_path, cached, cached_at
from kanpde.pde.reference.darcy_fv import darcy_fv, darcy_richardson
from kanpde.pde.reference.fem import evaluate, plate_mesh, probes, screened_poisson
from kanpde.pde.reference.fem_heat import heat_robin
from kanpde.pde.reference.heat_fd import heat_variable_coefficient
from kanpde.pde.reference.mol import allen_cahn_dirichlet, allen_cahn_dirichlet_richardson
from kanpde.pde.reference.spectral import allen_cahn_periodic, etdrk4_coefficients

__all__ = [
    "allen_cahn_dirichlet",
    "allen_cahn_dirichlet_richardson",
    "allen_cahn_periodic",
    "cache_dir",
    "cache_key",
    "cache_path",
    "cached",
    "cached_at",
    "darcy_fv",
    "darcy_richardson",
    "etdrk4_coefficients",
    "evaluate",
    "heat_robin",
    "heat_variable_coefficient",
    "plate_mesh",
    "probes",
    "screened_poisson",
]

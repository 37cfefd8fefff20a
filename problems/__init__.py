"""The benchmark problems (see /work/shared/PROBLEMS.md); each subclasses kanpde.pde.Problem."""

from problems.allen_cahn import AllenCahn
from problems.darcy import Darcy
from problems.heat import Heat
from problems.poisson import Poisson

PROBLEMS = {"poisson": Poisson, "allen_cahn": AllenCahn, "darcy": Darcy, "heat": Heat}

__all__ = ["PROBLEMS", "AllenCahn", "Darcy", "Heat", "Poisson"]

"""The benchmark problems, ``kanpde.problems``: one module per PDE family, each a subclass of
:class:`kanpde.pde.Problem` stating its PDE in its docstring (installed from the top-level
``problems/`` folder)."""

from kanpde.problems.allen_cahn import AllenCahn
from kanpde.problems.darcy import Darcy
from kanpde.problems.heat import Heat
from kanpde.problems.helmholtz import Helmholtz
from kanpde.problems.kovasznay import Kovasznay
from kanpde.problems.lshape import LShape
from kanpde.problems.poisson import Poisson

PROBLEMS = {"poisson": Poisson, "allen_cahn": AllenCahn, "darcy": Darcy, "heat": Heat,
            "lshape": LShape, "kovasznay": Kovasznay, "helmholtz": Helmholtz}

__all__ = ["PROBLEMS", "AllenCahn", "Darcy", "Heat", "Helmholtz", "Kovasznay", "LShape",
           "Poisson"]

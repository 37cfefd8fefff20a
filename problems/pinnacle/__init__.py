"""Tasks of the PINNacle benchmark (Hao et al., NeurIPS 2024), as kanpde problems.

Each module holds one family; each task's definition follows PINNacle's paper and code
(deviations are stated in the task's docstring), and its reference is computed by kanpde
itself: the exact solution where one exists, else a finite-element solution
(:mod:`kanpde.pde.reference.fem`) cached on disk.
"""

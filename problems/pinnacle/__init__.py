"""Tasks of the PINNacle benchmark (Hao et al., NeurIPS 2024), as kanpde problems.

Each module holds one family; each task's definition follows PINNacle's paper and code
(deviations are stated in the task's docstring), and its reference is computed by kanpde
itself and cached on disk: the exact solution where one exists, else finite elements
(:mod:`kanpde.pde.reference.fem`, ``fem3d``, ``fem_heat``, ``fem_ns``), finite differences
(``heat_fd``) or a Fourier spectral solver (``spectral``, ``reaction_diffusion``).

    plates         Poisson2d-C, Poisson2d-CG        solid          Poisson3d-CG
    heat_field     Heat2d-VC                        evolution      Heat2d-MS, Wave1d-C, HNd
    heat_holes     Heat2d-CG                        navier_stokes  NS2d-C, NS2d-CG
    heat_inverse   HInv                             chaotic        KS, GS
"""

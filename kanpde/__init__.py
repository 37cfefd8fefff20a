"""kanpde: physics-informed Kolmogorov-Arnold Networks for partial differential equations."""

__version__ = "0.1.0"

__all__ = ["__version__"]

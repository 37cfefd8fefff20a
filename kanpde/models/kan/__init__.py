"""The Kolmogorov-Arnold network: the network (:mod:`.network`), its layer (:mod:`.layer`:
one contraction over precomputed bases), grid refits (:mod:`.grid`), the contractions
(:mod:`.contraction`) and the fused jet pass (:mod:`.fused_jet`), and the edge functions
(:mod:`.edges`: the one place a KAN edge ``phi_ij`` is evaluated outside the layer's
forward)."""

from kanpde.models.kan.layer import KANLayer
from kanpde.models.kan.network import KAN

__all__ = ["KAN", "KANLayer"]

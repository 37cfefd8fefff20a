"""The Hydra config tree of ``kanpde`` (``kanpde.conf``): ``solve.yaml`` and its groups.

Installed from the top-level ``conf/`` folder; the application loads it as
``pkg://kanpde.conf`` (``$KANPDE_CONF`` points it at another tree)."""

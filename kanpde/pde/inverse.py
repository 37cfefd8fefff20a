"""The inverse-problem side of a :class:`~kanpde.pde.Problem`: observations as a loss term and
learnable coefficients (a base class the Problem inherits; it holds no state of its own
beyond ``learned``, the coefficients made trainable, and the held-out observations of
:meth:`InverseProblem.hold_out`), and the outputs a separate field network may supply
(``field_inputs``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from torch import Tensor

from kanpde.pde.coefficients import Coefficients
from kanpde.pde.observations import DataCondition, Observations, check_components, check_inside


class InverseProblem:
    """Methods of :class:`~kanpde.pde.Problem` for data terms and learned coefficients.

    Expects the Problem's attributes ``learnable``, ``terms``, ``conditions``,
    ``loss_weights``, ``domain``, ``shape`` and ``dim_out``."""

    learnable: tuple[str, ...] = ()
    learned: Coefficients | None = None
    #: ``{output name: coordinate names}``: outputs that a separate network of those
    #: coordinates may supply (the config's ``fields``: a coefficient field ``a(x, y)``
    #: learned beside ``u(x, y, t)``, :mod:`kanpde.app.field_networks`)
    field_inputs: Mapping[str, tuple[str, ...]] = {}

    def coef(self, name: str) -> float | Tensor:
        """Coefficient ``name``: its learned value (a 0-dim tensor, see :meth:`learn`) or
        the fixed attribute of that name."""
        if self.learned is not None and name in self.learned.log:
            return self.learned[name]
        return getattr(self, name)

    def true_coefficients(self) -> dict[str, float]:
        """The fixed (constructor) values of :attr:`learnable`."""
        return {k: float(getattr(self, k)) for k in self.learnable}

    def learn(self, initial: Mapping[str, float]) -> Coefficients:
        """Make the coefficients ``initial`` (``{name: initial guess}``) trainable.

        The residual then uses the learned values (:meth:`coef`); forcing terms and the
        reference keep the constructor's values, the truth that data would come from.
        Returns the :class:`~kanpde.pde.coefficients.Coefficients` (also :attr:`learned`),
        whose parameters the trainer optimizes with the network's."""
        unknown = [k for k in initial if k not in self.learnable]
        if unknown:
            allowed = ", ".join(self.learnable) or "none"
            raise ValueError(
                f"unknown coefficient {unknown[0]!r} for {type(self).__name__}; learnable "
                f"coefficients: {allowed}"
            )
        self.learned = Coefficients(initial)
        return self.learned

    def hold_out(self, fraction: float, seed: int) -> dict[str, Observations]:
        """Move ``round(fraction * n)`` random rows (at least one, never all) of every data
        term out of its loss; returns ``{term: the held-out observations}``. A second call
        returns the first call's split (the problem is split once).

        Raises ValueError when the problem has no data term or a term has fewer than 2 rows."""
        if getattr(self, "_held_out", None) is not None:
            return self._held_out
        data = [c for c in self.conditions if isinstance(c, DataCondition)]
        if not data:
            raise ValueError(f"{type(self).__name__} has no observations (data term) to hold "
                             "some out of")
        rng = np.random.default_rng(seed)
        held = {}
        for cond in data:
            obs = cond.observations
            if obs.n < 2:
                raise ValueError(f"the data term {cond.name!r} has {obs.n} observation(s); "
                                 "holding some out needs at least 2")
            k = min(max(round(fraction * obs.n), 1), obs.n - 1)
            idx = rng.permutation(obs.n)
            out, keep = np.sort(idx[:k]), np.sort(idx[k:])
            held[cond.name] = Observations(obs.x[out], obs.u[out], obs.components,
                                           source=f"{obs.source} (held out: {k})")
            cond.observations = Observations(obs.x[keep], obs.u[keep], obs.components,
                                             source=f"{obs.source} (fitted: {obs.n - k})")
        self._held_out = held
        return held

    def add_observations(self, obs: Observations, name: str = "data",
                         weight: float = 1.0) -> DataCondition:
        """Add the observations ``obs`` as the loss term ``name`` (weight ``weight``).

        Raises ValueError when a point lies outside the domain, the components do not fit
        ``dim_out``, or the term name is taken."""
        if name in self.terms:
            raise ValueError(f"the data term name {name!r} is taken; terms: {self.terms}")
        check_components(obs.components, self.dim_out)
        check_inside(obs, self.domain, self.shape)
        w = float(weight)
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"the data term's weight must be finite and >= 0, got {weight!r}")
        cond = DataCondition(name, self.domain, obs)
        self.conditions.append(cond)
        self.loss_weights[name] = w
        return cond

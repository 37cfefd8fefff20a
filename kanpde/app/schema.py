"""The schema of a solve's config, registered in Hydra's ConfigStore: the structured config
that every composition of ``conf/solve.yaml`` is checked against.

    solve_schema    the top level (:class:`SolveSchema`): seed, device, dtype, derivatives,
                    figures, embedding, hard_constraint, data, learn, fields, match, the
                    groups, and ``train``: :class:`kanpde.train.TrainConfig` itself

``conf/solve.yaml`` lists the schema first in its defaults, so the defaults are the
dataclasses' (one set, in Python: ``conf/train/default.yaml`` sets nothing) and an unknown or
mistyped key fails at composition (``Key 'lrr' not in 'TrainConfig'``, ``Value 'abc' could
not be converted to Float``), in one line naming the key (:mod:`kanpde.app.precheck`). The
groups ``problem``, ``model`` and ``sampler`` are typed by schemas made from their
constructors (:mod:`kanpde.app.group_schemas`), listed first in each option's defaults. Values are
checked (ranges, choices, problem-dependent settings) when the solve is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

from kanpde.app import group_schemas
from kanpde.train.config import TrainConfig


@dataclass
class EmbeddingSchema:
    """Input embeddings in front of any backbone."""

    periodic: bool = False  # exact periodic embedding of the problem's periodic coordinates
    fourier_features: int = 0  # > 0: that many random Fourier features
    fourier_sigma: float = 1.0


@dataclass
class DataSchema:
    """Observations of the solution as the loss term ``data``."""

    file: str | None = None  # a .npz or .h5 file with arrays x (N, dim_in), u (N, n_comp)
    n: int = 0  # or n > 0 points of the problem's reference (test grid)
    noise: float = 0.0  # n > 0: Gaussian noise of std noise * RMS(values), per component
    components: list[int] | None = None  # the observed output components (None: all)
    seed: int = 0  # n > 0: seeds the points and the noise
    weight: float = 1.0  # loss weight of the data term


@dataclass
class BaselinesSchema:
    """A study's settings of the baseline families (``match.baselines``)."""

    mlp: Optional[dict[str, Any]] = None  # noqa: UP045 (OmegaConf)
    siren: Optional[dict[str, Any]] = None  # noqa: UP045
    fourier: Optional[dict[str, Any]] = None  # noqa: UP045


@dataclass
class MatchSchema:
    """Parameter matching of a study (:mod:`kanpde.app.study_rules`)."""

    kan: dict[str, Any] = field(default_factory=dict)  # the reference KAN's model keys
    depth: Optional[int] = None  # noqa: UP045 (hidden layers of a baseline; None: the KAN's)
    baselines: BaselinesSchema = field(default_factory=BaselinesSchema)


@dataclass
class SolveSchema:
    """The top level of ``conf/solve.yaml`` (the groups fill ``problem``, ``model``,
    ``sampler`` and ``train``)."""

    problem: Any = None
    model: Any = None
    sampler: Any = None
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:<n>
    dtype: str = "float64"  # float32 | float64
    derivatives: str = "auto"  # auto | jets | autograd | func
    figures: bool = True
    embedding: EmbeddingSchema = field(default_factory=EmbeddingSchema)
    hard_constraint: bool = False
    data: DataSchema = field(default_factory=DataSchema)
    learn: Any = None  # learnable PDE coefficients and initial guesses, {name: value}
    fields: Any = None  # separate networks for outputs, {output name: model node (+ inputs)}
    match: Optional[MatchSchema] = None  # noqa: UP045 (a study's parameter matching)


def register() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent): the top level and the groups'
    (:mod:`kanpde.app.group_schemas`)."""
    ConfigStore.instance().store(name="solve_schema", node=SolveSchema)
    group_schemas.register()


register()

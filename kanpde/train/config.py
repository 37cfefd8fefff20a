"""Training configuration: plain dataclasses, validated on construction.

Hydra and OmegaConf never reach this module: :func:`TrainConfig.from_dict` takes a plain
``dict`` (the CLI converts its config with ``OmegaConf.to_container``) and every bad value
raises :class:`ConfigError` naming the key (``train.phases[1].optimizer``) and what is
allowed.

Over 400 lines: one concept, the schema of a training schedule (each section's fields,
defaults and checks side by side); the defaults equal ``conf/train/default.yaml``.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields
from typing import Any

from kanpde.core.errors import ConfigError
from kanpde.train.gauss_newton.solvers import PRECONDITIONERS
from kanpde.train.gauss_newton.solvers import SOLVERS as GN_SOLVERS

OPTIMIZERS = ("adam", "lbfgs", "gauss_newton")
SCHEDULES = ("constant", "cosine", "exponential")
RESAMPLE_POLICIES = ("fixed", "every", "rad")
WEIGHTING_SCHEMES = ("fixed", "grad_norm")


def _check_keys(cls: type, data: dict[str, Any], prefix: str) -> None:
    allowed = [f.name for f in fields(cls)]
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{prefix}.{close[0]}'?)" if close else ""
            raise ConfigError(
                f"{prefix}.{key}: unknown key{hint}; allowed keys: {', '.join(allowed)}"
            )


def _positive(value: Any, key: str, *, allow_zero: bool = False, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ConfigError(f"{key}: expected {what}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{key}: must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key}: must be {bound}, got {value!r}")


def _choice(value: Any, key: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}: got {value!r}; allowed values: {', '.join(allowed)}")


@dataclass
class Phase:
    """One optimizer phase.

    ``steps`` optimizer steps with ``optimizer`` ("adam", "lbfgs" or "gauss_newton"). For
    L-BFGS one step is one ``optimizer.step(closure)`` call with up to ``max_iter`` inner
    iterations and a strong-Wolfe line search. For Gauss-Newton (Levenberg-Marquardt,
    :mod:`kanpde.train.gauss_newton`) one step is one linearization of the residuals with up
    to ``max_iter`` damped solves; ``damping`` is the initial damping (relative to the mean
    diagonal of ``J^T J``), ``solver`` "auto" | "cholesky" | "kernel" | "pcg" | "cg"
    (:mod:`kanpde.train.gauss_newton.solvers`: Cholesky up to ``dense_max_params``
    parameters when the explicit Jacobian is available, the kernel form for fewer rows than
    parameters, preconditioned conjugate gradients on the stored sparse Jacobian, or
    matrix-free; at most ``cg_max_iter`` iterations to a relative residual ``cg_rtol``,
    ``preconditioner`` "auto" | "none" | "jacobi" | "nystrom" of rank ``nystrom_rank``),
    ``memory_gb`` bounds
    the solver's matrices, ``subsample > 0`` linearizes each step on a fresh random subset of
    that many residual points (every term subsampled in proportion; the line search on the
    same subset), ``varpro`` solves the output layer's linear coefficients exactly before
    each step (linear problems).
    ``lr=None`` uses the base rate ``train.lr`` for Adam and 1.0 (the full step) for L-BFGS
    and Gauss-Newton. The learning rate follows ``schedule`` within the phase: constant,
    cosine (to ``lr * final_lr_factor``) or exponential (``lr * final_lr_factor**(s/steps)``).
    Keys of other optimizers are ignored.
    """

    optimizer: str = "gauss_newton"
    steps: int = 100
    lr: float | None = None
    schedule: str = "constant"
    final_lr_factor: float = 0.1
    max_iter: int = 20
    history_size: int = 50
    damping: float = 1e-3
    solver: str = "auto"
    cg_max_iter: int = 200
    dense_max_params: int = 5000
    varpro: bool = False
    preconditioner: str = "auto"
    nystrom_rank: int = 100
    cg_rtol: float = 1e-10
    memory_gb: float = 8.0
    subsample: int = 0

    def validate(self, key: str) -> None:
        _choice(self.optimizer, f"{key}.optimizer", OPTIMIZERS)
        _positive(self.steps, f"{key}.steps", allow_zero=True, integer=True)
        if self.lr is not None:
            _positive(self.lr, f"{key}.lr")
            if self.optimizer == "gauss_newton" and self.lr > 1:
                raise ConfigError(
                    f"{key}.lr: a Gauss-Newton step scale must lie in (0, 1], got {self.lr!r}"
                )
        _choice(self.schedule, f"{key}.schedule", SCHEDULES)
        _positive(self.final_lr_factor, f"{key}.final_lr_factor")
        if self.final_lr_factor > 1:
            raise ConfigError(
                f"{key}.final_lr_factor: the rate decays to lr * final_lr_factor, so it must "
                f"lie in (0, 1], got {self.final_lr_factor!r}"
            )
        _positive(self.max_iter, f"{key}.max_iter", integer=True)
        _positive(self.history_size, f"{key}.history_size", integer=True)
        _positive(self.damping, f"{key}.damping", allow_zero=True)
        _choice(self.solver, f"{key}.solver", GN_SOLVERS)
        _positive(self.cg_max_iter, f"{key}.cg_max_iter", integer=True)
        _positive(self.dense_max_params, f"{key}.dense_max_params", integer=True)
        _choice(self.preconditioner, f"{key}.preconditioner", PRECONDITIONERS)
        _positive(self.nystrom_rank, f"{key}.nystrom_rank", integer=True)
        _positive(self.cg_rtol, f"{key}.cg_rtol")
        if self.cg_rtol >= 1:
            raise ConfigError(f"{key}.cg_rtol: must lie in (0, 1), got {self.cg_rtol!r}")
        _positive(self.memory_gb, f"{key}.memory_gb")
        _positive(self.subsample, f"{key}.subsample", allow_zero=True, integer=True)
        if not isinstance(self.varpro, bool):
            raise ConfigError(f"{key}.varpro: expected true or false, got {self.varpro!r}")


@dataclass
class GridSchedule:
    """Grid schedule of KAN models (ignored, with a log line, for other models).

    ``extend_at[i]`` is the global step at which the grid is extended to ``sizes[i]``
    (coefficients refit by least squares on the current interior points, so the learned
    function is preserved). ``ladder: [G_0, G_1, ..., G_m]`` replaces the two: the model
    starts at ``G_0`` and is extended to ``G_i`` at step ``i S // (m + 1)`` of the ``S``
    steps (equal shares; ``[G]``: a fixed grid); :meth:`resolved` gives the explicit
    schedule. ``update_every > 0`` moves the knots to the sample distribution
    every that many steps (also a least-squares refit). Parameter shapes change on extension,
    so the optimizer state is always reset after a grid change (a new optimizer of the
    current phase); the learning-rate schedule continues where it was.
    """

    extend_at: list[int] = field(default_factory=lambda: [20, 40, 80])
    sizes: list[int] = field(default_factory=lambda: [10, 20, 40])
    ladder: list[int] | None = None
    update_every: int = 0

    def resolved(self, steps: int) -> GridSchedule:
        """The explicit schedule over ``steps`` steps (a ladder turned into
        ``extend_at``/``sizes``); ConfigError naming ``train.grid.ladder`` when it does not fit."""
        if self.ladder is None:
            return self
        _, at, sizes = ladder_schedule(self.ladder, steps)
        return GridSchedule(at, sizes, None, self.update_every)

    def validate(self, key: str) -> None:
        if self.ladder is not None and not isinstance(self.ladder, list | tuple):
            raise ConfigError(f"{key}.ladder: expected a list of grid sizes or null, "
                              f"got {self.ladder!r}")
        if len(self.extend_at) != len(self.sizes):
            raise ConfigError(
                f"{key}.extend_at and {key}.sizes must have the same length, got "
                f"{len(self.extend_at)} and {len(self.sizes)}"
            )
        for i, s in enumerate(self.extend_at):
            _positive(s, f"{key}.extend_at[{i}]", allow_zero=True, integer=True)
        if list(self.extend_at) != sorted(set(self.extend_at)):
            raise ConfigError(f"{key}.extend_at must be strictly increasing, got {self.extend_at}")
        for i, g in enumerate(self.sizes):
            _positive(g, f"{key}.sizes[{i}]", integer=True)
        _positive(self.update_every, f"{key}.update_every", allow_zero=True, integer=True)


def ladder_schedule(ladder: list[int], steps: int) -> tuple[int, list[int], list[int]]:
    """``(G_0, extend_at, sizes)`` of a grid ladder over ``steps`` steps
    (:class:`GridSchedule`)."""
    for i, g in enumerate(ladder):
        if isinstance(g, bool) or not isinstance(g, int) or g < 1:
            raise ConfigError(f"train.grid.ladder[{i}]: expected an integer >= 1, got {g!r}")
    sizes = list(ladder)
    if not sizes:
        raise ConfigError("train.grid.ladder: empty; give [G] for a fixed grid or "
                          "[G_0, G_1, ...] for an extension ladder, or null")
    if sizes != sorted(set(sizes)):
        raise ConfigError(f"train.grid.ladder: grid sizes must increase strictly, got {sizes}")
    m = len(sizes)
    at = [i * steps // m for i in range(1, m)]
    if len(set(at)) != len(at) or (at and at[0] == 0):
        raise ConfigError(f"train.grid.ladder: {m} grid sizes need at least {m} steps, "
                          f"the schedule has {steps}")
    return sizes[0], at, sizes[1:]


@dataclass
class Resample:
    """Collocation resampling policy.

    fixed: the points drawn at the start are kept. every: fresh points every ``every`` steps
    (seeded by the run seed and the step). rad: every ``every`` steps, ``n_candidates`` fresh
    candidates are drawn and the interior points are drawn from them with probability
    proportional to ``|r|^k / mean(|r|^k) + c`` (Wu et al. 2023).
    """

    policy: str = "fixed"
    every: int = 500
    k: float = 1.0
    c: float = 1.0
    n_candidates: int = 50000

    def validate(self, key: str) -> None:
        _choice(self.policy, f"{key}.policy", RESAMPLE_POLICIES)
        _positive(self.every, f"{key}.every", integer=True)
        _positive(self.k, f"{key}.k", allow_zero=True)
        _positive(self.c, f"{key}.c", allow_zero=True)
        _positive(self.n_candidates, f"{key}.n_candidates", integer=True)


@dataclass
class WeightingConfig:
    """Term weights: "fixed" (the problem's) or "grad_norm" (learning-rate annealing by
    gradient norms, updated every ``every`` steps with moving-average factor ``alpha``)."""

    scheme: str = "fixed"
    every: int = 100
    alpha: float = 0.9

    def validate(self, key: str) -> None:
        _choice(self.scheme, f"{key}.scheme", WEIGHTING_SCHEMES)
        _positive(self.every, f"{key}.every", integer=True)
        if not 0 <= self.alpha < 1:
            raise ConfigError(f"{key}.alpha: must lie in [0, 1), got {self.alpha!r}")


@dataclass
class RBAConfig:
    """Residual-based attention: per-point weights a <- gamma a + eta |r| / max |r|."""

    enabled: bool = False
    eta: float = 0.01
    gamma: float = 0.999

    def validate(self, key: str) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"{key}.enabled: expected true or false, got {self.enabled!r}")
        _positive(self.eta, f"{key}.eta")
        if not 0 < self.gamma < 1:
            raise ConfigError(f"{key}.gamma: must lie in (0, 1), got {self.gamma!r}")


@dataclass
class CausalConfig:
    """Causal training: ``n_slabs`` time slabs weighted by exp(-eps * earlier slab losses);
    eps walks through ``eps_schedule`` once every slab weight exceeds ``threshold``."""

    enabled: bool = False
    n_slabs: int = 32
    eps_schedule: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0, 100.0])
    threshold: float = 0.99

    def validate(self, key: str) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"{key}.enabled: expected true or false, got {self.enabled!r}")
        _positive(self.n_slabs, f"{key}.n_slabs", integer=True)
        if not self.eps_schedule:
            raise ConfigError(f"{key}.eps_schedule: give at least one value")
        for i, e in enumerate(self.eps_schedule):
            _positive(e, f"{key}.eps_schedule[{i}]", allow_zero=True)
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"{key}.threshold: must lie in (0, 1], got {self.threshold!r}")


@dataclass
class SparsityConfig:
    """KAN sparsity regularization (KAN paper 2.5.1, :mod:`kanpde.explain.regularization`):
    ``l1 * sum_l |Phi^l|_1 + entropy * sum_l S(Phi^l)`` over the interior points is added to
    the loss; both 0 (the default) switches it off. KAN backbones only."""

    l1: float = 0.0
    entropy: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.l1 or self.entropy)

    def validate(self, key: str) -> None:
        _positive(self.l1, f"{key}.l1", allow_zero=True)
        _positive(self.entropy, f"{key}.entropy", allow_zero=True)


@dataclass
class TrainConfig:
    """Everything the trainer needs besides the problem, the model and the sampler."""

    lr: float = 1e-3
    phases: list[Phase] = field(default_factory=lambda: [Phase()])
    n_interior: int = 10000
    n_boundary: int = 800
    loss_weights: dict[str, float] = field(default_factory=dict)
    grid: GridSchedule = field(default_factory=GridSchedule)
    resample: Resample = field(default_factory=Resample)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    rba: RBAConfig = field(default_factory=RBAConfig)
    causal: CausalConfig = field(default_factory=CausalConfig)
    sparsity: SparsityConfig = field(default_factory=SparsityConfig)
    max_time_s: float = 0.0
    eval_every: int = 5
    eval_batch: int = 16384
    checkpoint_every: int = 5
    resume: bool = False
    max_rollbacks: int = 5
    rollback_lr_factor: float = 0.5
    progress: bool = True
    edge_samples: int = 101
    shards: int | None = None  # collocation shards; None: one per process (world size)
    compile: bool = False  # torch.compile the model's passes in the loss (kanpde.models.compiled)
    # > 0: that fraction of every data term's observations is held out of the loss; the run
    # ends with the parameters of the lowest held-out misfit (kanpde.train.loop.validation)
    validation: float = 0.0
    # > 0: a second, independent draw of this many interior points (conditions' points in
    # the run's proportion) on which the problem's loss is measured at every evaluation; the
    # run ends with the parameters of its lowest value (kanpde.train.loop.validation)
    validation_points: int = 0

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    def validate(self, key: str = "train") -> None:
        _positive(self.lr, f"{key}.lr")
        if not self.phases:
            raise ConfigError(f"{key}.phases: at least one phase is required")
        for i, phase in enumerate(self.phases):
            phase.validate(f"{key}.phases[{i}]")
        _positive(self.n_interior, f"{key}.n_interior", integer=True)
        _positive(self.n_boundary, f"{key}.n_boundary", integer=True)
        for name, w in self.loss_weights.items():
            _positive(w, f"{key}.loss_weights.{name}", allow_zero=True)
        self.grid.validate(f"{key}.grid")
        self.grid.resolved(self.total_steps)  # a ladder fits the steps
        self.resample.validate(f"{key}.resample")
        self.weighting.validate(f"{key}.weighting")
        self.rba.validate(f"{key}.rba")
        self.causal.validate(f"{key}.causal")
        self.sparsity.validate(f"{key}.sparsity")
        _positive(self.max_time_s, f"{key}.max_time_s", allow_zero=True)
        _positive(self.eval_every, f"{key}.eval_every", integer=True)
        _positive(self.eval_batch, f"{key}.eval_batch", integer=True)
        _positive(self.checkpoint_every, f"{key}.checkpoint_every", integer=True)
        if not isinstance(self.resume, bool):
            raise ConfigError(f"{key}.resume: expected true or false, got {self.resume!r}")
        _positive(self.max_rollbacks, f"{key}.max_rollbacks", allow_zero=True, integer=True)
        if not 0 < self.rollback_lr_factor < 1:
            raise ConfigError(
                f"{key}.rollback_lr_factor: must lie in (0, 1), got {self.rollback_lr_factor!r}"
            )
        _positive(self.edge_samples, f"{key}.edge_samples", integer=True)
        if self.shards is not None:
            _positive(self.shards, f"{key}.shards", integer=True)
        if not isinstance(self.compile, bool):
            raise ConfigError(f"{key}.compile: expected true or false, got {self.compile!r}")
        if not (isinstance(self.validation, int | float) and 0 <= self.validation < 1):
            raise ConfigError(f"{key}.validation: the held-out fraction of the observations "
                              f"must lie in [0, 1), got {self.validation!r}")
        _positive(self.validation_points, f"{key}.validation_points", allow_zero=True,
                  integer=True)
        if self.validation_points and self.validation:
            raise ConfigError(
                f"{key}.validation_points: a run is judged by one held-out set; set it to 0 "
                f"or {key}.validation to 0 (held-out observations)"
            )
        gn = [i for i, p in enumerate(self.phases) if p.optimizer == "gauss_newton"]
        if gn and self.sparsity.active:
            raise ConfigError(
                f"{key}.phases[{gn[0]}].optimizer: gauss_newton minimizes a sum of squares and "
                f"cannot include the sparsity penalty ({key}.sparsity); use adam or lbfgs, or "
                f"set {key}.sparsity.l1 and {key}.sparsity.entropy to 0"
            )
        sub = [i for i in gn if self.phases[i].subsample > 0]
        if sub and (self.rba.enabled or self.causal.enabled):
            which = "rba" if self.rba.enabled else "causal"
            raise ConfigError(
                f"{key}.phases[{sub[0]}].subsample: per-point weights ({key}.{which}) follow "
                "every collocation point and cannot be combined with a random subset per step; "
                f"set subsample to 0 or disable {key}.{which}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, key: str = "train") -> TrainConfig:
        """Build and validate from a plain dict (unknown keys are errors)."""
        data = dict(data or {})
        _check_keys(cls, data, key)
        phases_raw = data.pop("phases", None)
        grid_raw = data.pop("grid", None)
        resample_raw = data.pop("resample", None)
        weights = data.pop("loss_weights", None) or {}
        subs = {name: data.pop(name, None) for name in ("weighting", "rba", "causal", "sparsity")}
        subs["resample"] = resample_raw
        kwargs: dict[str, Any] = dict(data)
        if phases_raw is not None:
            if not isinstance(phases_raw, list | tuple):
                raise ConfigError(f"{key}.phases: expected a list of phases, got {phases_raw!r}")
            phases = []
            for i, p in enumerate(phases_raw):
                if not isinstance(p, dict):
                    raise ConfigError(f"{key}.phases[{i}]: expected a mapping, got {p!r}")
                _check_keys(Phase, p, f"{key}.phases[{i}]")
                phases.append(Phase(**p))
            kwargs["phases"] = phases
        if grid_raw is not None:
            _check_keys(GridSchedule, grid_raw, f"{key}.grid")
            grid_raw = dict(grid_raw)
            grid_raw["extend_at"] = list(grid_raw.get("extend_at") or [])
            grid_raw["sizes"] = list(grid_raw.get("sizes") or [])
            if isinstance(grid_raw.get("ladder"), list | tuple):
                grid_raw["ladder"] = list(grid_raw["ladder"])
            kwargs["grid"] = GridSchedule(**grid_raw)
        for name, sub in (("resample", Resample), ("weighting", WeightingConfig),
                          ("rba", RBAConfig), ("causal", CausalConfig),
                          ("sparsity", SparsityConfig)):
            raw = subs[name]
            if raw is not None:
                if not isinstance(raw, dict):
                    raise ConfigError(f"{key}.{name}: expected a mapping, got {raw!r}")
                _check_keys(sub, raw, f"{key}.{name}")
                raw = dict(raw)
                if "eps_schedule" in raw:
                    raw["eps_schedule"] = list(raw["eps_schedule"])
                kwargs[name] = sub(**raw)
        kwargs["loss_weights"] = dict(weights)
        cfg = cls(**kwargs)
        cfg.validate(key)
        return cfg

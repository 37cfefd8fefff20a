"""Problems by name: the ``kanpde.problems`` entry-point group.

The package registers its benchmark problems (``poisson``, ``allen_cahn``, ``darcy``,
``heat``) in ``pyproject.toml``; a third-party package registers its own the same way,

    [project.entry-points."kanpde.problems"]
    wave = "my_package.wave:Wave"

after which ``kanpde problem=custom problem._target_=wave`` builds it (a ``_target_``
without a dot is looked up here).
"""

from __future__ import annotations

from importlib import metadata

GROUP = "kanpde.problems"


def registered_problems() -> dict[str, metadata.EntryPoint]:
    """The entry points of the group, by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


def problem_class(name: str) -> type:
    """The class registered as ``name``; ValueError listing the registered names."""
    eps = registered_problems()
    if name not in eps:
        raise ValueError(
            f"no problem registered as {name!r}; registered: {', '.join(sorted(eps)) or 'none'} "
            f"(entry-point group {GROUP!r}), or give a dotted path module.Class"
        )
    return eps[name].load()

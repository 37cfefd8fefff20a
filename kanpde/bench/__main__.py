"""``python -m kanpde.bench <suite> [options]``: run one benchmark suite (see ``--help``)."""

from __future__ import annotations

import importlib
import sys

from kanpde.bench import SUITES


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: python -m kanpde.bench {{{','.join(SUITES)}}} [options]  (suite --help)")
        return 0 if argv else 2
    suite, rest = argv[0], argv[1:]
    if suite not in SUITES:
        print(f"unknown suite {suite!r}; allowed: {list(SUITES)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"kanpde.bench.{suite}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

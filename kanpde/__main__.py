"""``python -m kanpde`` runs the ``kanpde`` console script."""

from kanpde.cli import main

main()

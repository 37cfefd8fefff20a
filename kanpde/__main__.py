"""``python -m kanpde`` runs the ``kanpde`` console script."""

from kanpde.app.cli import main

main()

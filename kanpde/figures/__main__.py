"""``python -m kanpde.figures RUN.h5 [...] [-o OUT_DIR]``: the figures of run files."""

from kanpde.figures import main

raise SystemExit(main())

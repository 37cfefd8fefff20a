"""``python -m kanpde.report <dirs> -o <study dir>`` (same as ``kanpde-report``)."""

from kanpde.report.study import main

raise SystemExit(main())

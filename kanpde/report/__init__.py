"""Study reports from many ``run.h5`` files (``kanpde-report``; see :mod:`kanpde.report.study`).

    runs     find run files, summarise each from its run.h5 alone
    groups   group runs across seeds, statistics
    sweeps   the jobs a Hydra sweep expected, and which are missing
    tables   summary.csv, runs.csv (paths relative to the study), the Markdown table
    figures  error vs parameters / time, curves, best runs
    study    build_report, write_report, the command line
"""

from kanpde.report.groups import Group, group_runs
from kanpde.report.runs import BadRun, RunSummary, find_run_files, load_runs, summarize_run
from kanpde.report.study import Report, build_report, main, write_report

__all__ = ["BadRun", "Group", "Report", "RunSummary", "build_report", "find_run_files",
           "group_runs", "load_runs", "main", "summarize_run", "write_report"]

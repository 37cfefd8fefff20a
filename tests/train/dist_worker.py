"""One rank of a data-parallel test run (launched by tests through torchrun).

    torchrun --standalone --nproc_per_node=2 tests/train/dist_worker.py cases.json out_dir

``cases.json`` maps a case name to a plain kanpde config (``conf/solve.yaml`` composed);
each case is trained with :class:`kanpde.train.Trainer` in the process group, and rank 0
writes ``out_dir/<name>.npz`` (the history, ``final_<metric>``, ``replica_spread``:
the largest difference between the ranks' final model states).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch


def train_case(cfg: dict, comm) -> dict[str, np.ndarray]:
    from kanpde.app import build
    from kanpde.train import Trainer

    plan = build(cfg)
    model = plan.model
    trainer = Trainer(plan.problem, model, plan.sampler, plan.train, seed=cfg["seed"],
                      engine=cfg["derivatives"], device=plan.device, dtype=plan.dtype, comm=comm)
    result = trainer.fit()
    out = {f"h_{k}": v for k, v in result.history.items()}
    out.update({f"final_{k}": np.asarray(v) for k, v in result.final.items()})
    out["steps"] = np.asarray(result.steps)
    # largest difference between the ranks' final parameters and buffers (0: identical)
    flat = torch.cat([t.detach().double().reshape(-1) for t in model.state_dict().values()
                      if t.is_floating_point()])
    every = comm.all_gather_cat(flat[None])
    out["replica_spread"] = np.asarray(float((every - every[:1]).abs().max()))
    out["status"] = np.asarray(result.status)
    return out


def main() -> None:
    from kanpde.train import distributed

    torch.set_num_threads(1)
    cases = json.loads(Path(sys.argv[1]).read_text())
    out_dir = Path(sys.argv[2])
    comm = distributed.init_from_env()
    try:
        for name, cfg in cases.items():
            res = train_case(cfg, comm)
            if comm.is_main:
                np.savez(out_dir / f"{name}.npz", **res)
    finally:
        distributed.shutdown()


if __name__ == "__main__":
    main()

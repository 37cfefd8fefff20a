"""The stored model state of a run as torch tensors (the one reader that needs torch)."""

from __future__ import annotations

import numpy as np
import torch

from kanpde.results.read import RunRecord


def load_state_dict_tensors(
    record: RunRecord, device: torch.device | str | None = None
) -> dict[str, torch.Tensor]:
    """The stored state_dict as tensors with their original torch dtypes.

    ``model.load_state_dict(load_state_dict_tensors(read_run(path)))`` restores the model.
    """
    out: dict[str, torch.Tensor] = {}
    for key, arr in record.model_state.items():
        t = torch.from_numpy(np.array(arr, copy=True))
        name = record.model_dtypes.get(key, "")
        if name:
            dtype = getattr(torch, name, None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"model_state[{key!r}] has unknown torch dtype {name!r}")
            t = t.to(dtype)
        out[key] = t.to(device) if device is not None else t
    return out

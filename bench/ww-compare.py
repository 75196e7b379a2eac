"""WeightWatcher's side of bench/ww-compare.mjs: runs the real WeightWatcher on the matrices that
the Node side wrote, one at a time, and writes what it reports.

Usage: python bench/ww-compare.py <dir>   (dir holds manifest.json and <name>.npy from the Node side)
Writes <dir>/ww.json (one record per matrix) and <dir>/<name>.ww-evals.npy (WeightWatcher's ESD).

Each matrix W (rows = outputs, cols = fan-in) becomes the weight of a torch.nn.Linear(cols, rows)
(torch stores Linear weights as [out, in], i.e. W itself), so WeightWatcher reads it as a Dense
layer: N = max(rows, cols), M = min, Q = N/M. analyze(mp_fit=True) gives its MP columns.
"""
import json
import logging
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import torch  # noqa: E402
import weightwatcher as ww  # noqa: E402


def run(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    out = []
    for item in manifest["matrices"]:
        name = item["name"]
        w = np.load(os.path.join(directory, name + ".npy"))
        rows, cols = w.shape
        layer = torch.nn.Linear(cols, rows, bias=False, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
        model = torch.nn.Sequential(layer)
        watcher = ww.WeightWatcher(model=model)
        t0 = time.perf_counter()
        details = watcher.analyze(mp_fit=True, randomize=False, plot=False)
        seconds = time.perf_counter() - t0
        evals = np.sort(np.asarray(watcher.get_ESD(layer=int(details["layer_id"].iloc[0])), dtype=np.float64))
        np.save(os.path.join(directory, name + ".ww-evals.npy"), evals)
        row = details.iloc[0].to_dict()
        keep = ["N", "M", "Q", "num_evals", "sigma_mp", "num_spikes", "bulk_max", "bulk_min", "mp_softrank",
                "alpha", "xmin", "D", "lambda_max", "stable_rank", "log_norm", "log_spectral_norm",
                "alpha_weighted", "log_alpha_norm", "warning"]
        rec = {k: (row[k].item() if hasattr(row.get(k), "item") else row.get(k)) for k in keep if k in row}
        rec.update(name=name, seconds=seconds, evals_count=int(evals.size))
        out.append(rec)
        print(f"ww {name}: {seconds:.3f} s, sigma_mp {rec.get('sigma_mp')}, spikes {rec.get('num_spikes')}", flush=True)
    with open(os.path.join(directory, "ww.json"), "w") as f:
        json.dump({"weightwatcher": ww.__version__, "numpy": np.__version__, "torch": torch.__version__, "records": out}, f, indent=1)


if __name__ == "__main__":
    run(sys.argv[1])

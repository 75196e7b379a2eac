"""Reads runs written by specdyn's store with pandas, pyarrow and polars, exactly as
docs/formats.md shows, and checks what comes back. Run by scripts/formats-check.mjs."""
import glob
import json
import math
import os
import sys

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

done, crashed, complete = sys.argv[1], sys.argv[2], sys.argv[3]
print("pyarrow", pa.__version__, "polars", pl.__version__, "pandas", pd.__version__)

# --- run.json
meta = json.load(open(os.path.join(done, "run.json")))
assert meta["format"] == "specdyn-run" and meta["status"] == "finished", meta["status"]
assert [s["status"] for s in meta["sessions"]] == ["interrupted", "finished"]

# --- steps.jsonl with pandas: non-finite numbers restored from _nonfinite
def read_steps(path):
    df = pd.read_json(path, lines=True)
    if "_nonfinite" in df:
        for i, nf in df["_nonfinite"].items():
            if isinstance(nf, dict):
                for col, name in nf.items():
                    df.loc[i, col] = float(name.replace("Infinity", "inf"))
        df = df.drop(columns="_nonfinite")
    return df

steps = read_steps(os.path.join(done, "steps.jsonl"))
w = steps[steps.family == "weights"]
assert list(w.step) == [0, 10, 20, 30], list(w.step)
assert all(math.isinf(x) and x > 0 for x in w.xmin)
logs = steps[steps.family == "logs"]
assert math.isnan(logs.accuracy.iloc[0]) and logs.accuracy.iloc[1] == 0.9
omd = steps[(steps.family == "omd") & (steps.observable == "dense_1")]
assert math.isnan(omd.overlap.iloc[0]) and omd.overlap.iloc[1] == 0.97
print("pandas read_json(lines=True): ok,", len(steps), "lines")

# polars: the JSONL as is (non-finite values read as null)
pj = pl.read_ndjson(os.path.join(done, "steps.jsonl"))
assert pj.filter(pl.col("family") == "weights")["xmin"].null_count() == 4
print("polars read_ndjson: ok")

# --- sealed shards: Arrow IPC files (Feather V2)
shards = sorted(glob.glob(os.path.join(done, "spectra-*.arrow")))
assert len(shards) == 2
f0 = pd.read_feather(shards[0])
assert list(f0.columns) == ["session", "flush", "step", "family", "observable", "name", "dtype", "rows", "cols", "values"], list(f0.columns)
ev = f0[(f0.step == 10) & (f0.name == "values")].iloc[0]
assert len(ev["values"]) == 50 and abs(ev["values"][3] - math.cos(13)) == 0
cl = f0[(f0.step == 10) & (f0.name == "cloud")].iloc[0]
assert (cl["rows"], cl["cols"]) == (10, 3)
k = f0[(f0.name == "evals")].iloc[0]
assert k["dtype"] == "float32" and pd.isna(k["cols"])
print("pandas read_feather: ok,", len(f0), "arrays in", os.path.basename(shards[0]))

t = ipc.open_file(shards[1]).read_all()
assert t.num_rows == 3 and t.column("step").to_pylist() == [30.0, 30.0, 30.0]
print("pyarrow ipc.open_file: ok")

allp = pl.scan_ipc(os.path.join(done, "spectra-*.arrow")).collect()
assert allp.height == 12, allp.height
mds = allp.filter((pl.col("name") == "cloud") & (pl.col("step") == 30)).row(0, named=True)
assert len(mds["values"]) == 30 and mds["values"][0] == 3.0
print("polars scan_ipc('spectra-*.arrow'): ok,", allp.height, "arrays")
one = pl.read_ipc(shards[0])
assert one.height == 9
print("polars read_ipc: ok")

# --- a crashed run: the shard is an IPC stream with a torn last batch
shard = os.path.join(crashed, "spectra-000.arrow")
batches = []
with open(shard, "rb") as fh:
    reader = ipc.open_stream(fh)
    try:
        while True:
            batches.append(reader.read_next_batch())
    except StopIteration:
        pass
    except (pa.ArrowInvalid, OSError) as e:
        print("pyarrow open_stream: stopped at the torn batch:", type(e).__name__)
assert len(batches) == 2 and sum(b.num_rows for b in batches) == 6, [b.num_rows for b in batches]
print("pyarrow ipc.open_stream batch by batch: ok,", len(batches), "complete batches")
try:
    pl.read_ipc_stream(shard)
    print("polars read_ipc_stream on a torn stream: read (unexpected)")
except Exception as e:  # polars refuses the whole torn stream
    print("polars read_ipc_stream on a torn stream: refused (", type(e).__name__, ")")
# A complete stream (a live writer between flushes): polars reads it as a stream, not as a file.
live = pl.read_ipc_stream(complete)
assert live.height == 6, live.height
print("polars read_ipc_stream on a complete stream: ok,", live.height, "arrays")
for name, fn in (("polars read_ipc", lambda: pl.read_ipc(complete)), ("pandas read_feather", lambda: pd.read_feather(complete))):
    try:
        fn()
        raise AssertionError(name + " read a stream shard; docs/formats.md says it does not")
    except AssertionError:
        raise
    except Exception as e:
        print(name, "on a stream shard: refused (", type(e).__name__, ") as documented")
print("all checks passed")

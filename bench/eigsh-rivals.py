# The SciPy rivals of eigsh (bench/iterative.bench.mjs): ARPACK (scipy.sparse.linalg.eigsh) and
# LOBPCG (scipy.sparse.linalg.lobpcg) on the same operators, applied through a LinearOperator
# that counts operator-vector products. Reads a JSON job on stdin:
#   { "cases": [{ "id", "file", "rows", "cols", "kind": "gram" | "distance", "k", "which": "LA" | "LM",
#                 "tol", "norm", "seed" }], "methods": ["arpack", "lobpcg"], "lobpcgMaxiter": 300 }
# ("seed", optional: ARPACK's v0 and LOBPCG's X0 come from NumPy's default_rng(seed), else 0)
# where `file` holds the rows x cols float64 matrix X row-major; "gram" is X Xᵀ, "distance"
# the squared Euclidean distance matrix of the rows of X in its Gram form. Prints one JSON
# object: { "numpy", "scipy", "results": [{ "id", "method", "seconds", "matvecs", "values",
# "converged" }] } (one timed run per case, the solve alone: the caller repeats and takes medians).
# --serve: the same for one job per line of stdin, one answer per line of stdout, until stdin
# closes; each case's X is read once (by file) and kept, so that the caller can alternate its own
# solves with these one case at a time (bench/iterative.bench.mjs --interleave pairs).
import json
import sys
import time
import warnings

import numpy as np
import scipy
import scipy.sparse.linalg as sla


_matrices = {}


def operator(case):
    key = (case["file"], case["rows"], case["cols"])
    if key not in _matrices:
        _matrices[key] = np.fromfile(case["file"], dtype=np.float64).reshape(case["rows"], case["cols"])
    x = _matrices[key]
    count = [0]
    if case["kind"] == "gram":
        def mv(v):
            count[0] += 1 if v.ndim == 1 else v.shape[1]
            return x @ (x.T @ v)
    else:
        xc = x - x.mean(axis=0)
        s = np.einsum("ij,ij->i", xc, xc)

        def mv(v):
            count[0] += 1 if v.ndim == 1 else v.shape[1]
            if v.ndim == 1:
                return s * v.sum() + (s @ v) - 2.0 * (xc @ (xc.T @ v))
            return np.outer(s, v.sum(axis=0)) + (s @ v)[None, :] - 2.0 * (xc @ (xc.T @ v))
    n = case["rows"]
    op = sla.LinearOperator((n, n), matvec=mv, matmat=mv, rmatvec=mv, dtype=np.float64)
    return op, count


def run_arpack(case, op):
    n = case["rows"]
    v0 = np.random.default_rng(case.get("seed", 0)).standard_normal(n)
    t0 = time.perf_counter()
    vals = sla.eigsh(op, k=case["k"], which=case["which"], tol=case["tol"], v0=v0, return_eigenvectors=True)[0]
    secs = time.perf_counter() - t0
    order = np.argsort(-np.abs(vals)) if case["which"] == "LM" else np.argsort(-vals)
    return vals[order], secs, True


def run_lobpcg(case, op, maxiter):
    n, k = case["rows"], case["k"]
    x0 = np.random.default_rng(case.get("seed", 0)).standard_normal((n, k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        vals, vecs = sla.lobpcg(op, x0, tol=case["tol"] * case["norm"], maxiter=maxiter, largest=True)
    secs = time.perf_counter() - t0
    vals = np.asarray(vals)
    order = np.argsort(-vals)
    vals, vecs = vals[order], vecs[:, order]
    r = op.matmat(vecs) - vecs * vals[None, :]
    converged = bool(np.all(np.linalg.norm(r, axis=0) <= case["tol"] * case["norm"] * 1.0001))
    return vals, secs, converged


def answer(job):
    out = []
    for case in job["cases"]:
        for method in job["methods"]:
            if method == "lobpcg" and case["which"] != "LA":
                continue  # LOBPCG finds algebraic ends only
            op, count = operator(case)
            if method == "arpack":
                try:
                    vals, secs, ok = run_arpack(case, op)
                except sla.ArpackNoConvergence as e:
                    vals, secs, ok = e.eigenvalues, float("nan"), False
            else:
                vals, secs, ok = run_lobpcg(case, op, job.get("lobpcgMaxiter", 300))
            matvecs = count[0]
            if method == "lobpcg":
                matvecs -= case["k"]  # the residual check above is not part of the solve
            out.append({"id": case["id"], "method": method, "seconds": secs, "matvecs": matvecs,
                        "values": [float(v) for v in vals], "converged": ok})
    return {"numpy": np.__version__, "scipy": scipy.__version__, "results": out}


def main():
    if "--serve" in sys.argv[1:]:
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(answer(json.loads(line))), flush=True)
    else:
        print(json.dumps(answer(json.load(sys.stdin))))


main()

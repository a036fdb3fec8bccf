"""DuckDB side of the overlap benchmark (docs/BENCHMARKS-analytics.md).

Loads DIR/province.u8 and DIR/enrolled.u32 (one row per person record,
written by `tepat-analytics-bench export`) into an in-memory DuckDB table
and times, on 2 threads:
  (a) per-pair sums: SUM((enrolled >> a) & (enrolled >> b) & 1) for each of
      the program pairs, GROUP BY province;
  (b) histogram: GROUP BY (province, enrolled) with COUNT(*), then the pairs
      expanded in Python (numpy) from the histogram.
Checks both against DIR/tepat-overlap-national.csv when present.
"""
import sys
import time
import statistics

import duckdb
import numpy as np
import pyarrow as pa

d = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
codes = [c for c in open(f"{d}/programs.txt").read().split() if c]
k = len(codes)
pairs = [(a, b) for a in range(k) for b in range(k) if a < b]

t = time.perf_counter()
prov = np.fromfile(f"{d}/province.u8", dtype=np.uint8)
enr = np.fromfile(f"{d}/enrolled.u32", dtype="<u4")
con = duckdb.connect()
con.execute("SET threads TO 2")
tbl = pa.table({"province": pa.array(prov), "enrolled": pa.array(enr)})
con.register("src", tbl)
con.execute("CREATE TABLE persons AS SELECT province::UTINYINT AS province, enrolled::UINTEGER AS enrolled FROM src")
con.unregister("src")
del tbl, prov, enr
print(f"duckdb {duckdb.__version__}: loaded {con.execute('SELECT count(*) FROM persons').fetchone()[0]} rows in {time.perf_counter() - t:.1f} s", flush=True)
print("threads:", con.execute("SELECT current_setting('threads')").fetchone()[0], flush=True)

sums = ", ".join(
    f"SUM((enrolled >> {a}) & (enrolled >> {b}) & 1) AS p{a}_{b}" for a, b in pairs
)
q_pairs = f"SELECT province, {sums} FROM persons GROUP BY province ORDER BY province"
q_hist = "SELECT province, enrolled, COUNT(*) AS n FROM persons GROUP BY province, enrolled"


def run_pairs():
    rows = con.execute(q_pairs).fetchall()
    national = [sum(r[1 + i] for r in rows) for i in range(len(pairs))]
    return rows, national


def run_hist():
    h = con.execute(q_hist).fetchnumpy()
    p, e, n = h["province"], h["enrolled"].astype(np.uint32), h["n"].astype(np.int64)
    provinces = np.unique(p)
    idx = np.searchsorted(provinces, p)
    out = np.zeros((len(provinces), len(pairs)), dtype=np.int64)
    for j, (a, b) in enumerate(pairs):
        m = ((e >> a) & (e >> b) & 1).astype(bool)
        np.add.at(out[:, j], idx[m], n[m])
    return out, out.sum(axis=0).tolist()


def timed(f):
    times = []
    res = None
    for _ in range(reps):
        t = time.perf_counter()
        res = f()
        times.append(time.perf_counter() - t)
    return times, res


# one warm-up each
run_pairs()
run_hist()
tp, (_, nat_pairs) = timed(run_pairs)
th, (_, nat_hist) = timed(run_hist)
for name, ts in [("a per-pair sums", tp), ("b histogram + expand", th)]:
    print(
        f"RESULT duckdb {name}: min_s={min(ts):.3f} median_s={statistics.median(ts):.3f} runs={[round(x, 3) for x in ts]}",
        flush=True,
    )
assert nat_pairs == nat_hist, "the two queries disagree"
try:
    expect = {}
    for line in open(f"{d}/tepat-overlap-national.csv"):
        a, b, n = line.strip().split(",")
        expect[(a, b)] = int(n)
    got = {}
    for (a, b), n in zip(pairs, nat_pairs):
        ca, cb = sorted([codes[a], codes[b]])
        got[(ca, cb)] = n
    ok = all(expect[key] == got[key] for key in expect) and len(expect) == len(got)
    print(f"check against tepat's national overlap: {'equal' if ok else 'DIFFERENT'}", flush=True)
    if not ok:
        for key in expect:
            print(key, expect[key], got.get(key))
except FileNotFoundError:
    print("no tepat-overlap-national.csv to check against")

"""Issue 23 benchmark, the Python side: Store.check per call (blocks of 100
calls, the per-call mean of each block; p50 and p99 of the blocks: the
method of the Rust and C sides) and Store.verify_batch of every row of
DIR/payees.csv read into a pyarrow Table.

    python bench.py DIR CHECK_ROWS REPS
"""

import sys
import time

import pyarrow as pa
import pyarrow.csv as pacsv

import tepat

BLOCK = 100


def percentiles(v):
    v = sorted(v)
    return v[len(v) // 2], v[int((len(v) - 1) * 0.99)]


def main():
    d, check_rows, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t = time.perf_counter()
    table = pacsv.read_csv(
        f"{d}/payees.csv",
        convert_options=pacsv.ConvertOptions(column_types={"nik": pa.string(), "program": pa.string(), "period": pa.string()}),
    )
    print(f"read {table.num_rows} rows into a pyarrow Table in {time.perf_counter() - t:.2f} s")
    store = tepat.Store(f"{d}/store", today="2026-11-15")

    rows = list(zip(*(table.column(c).slice(0, check_rows).to_pylist() for c in ("nik", "program", "period"))))
    check = store.check
    for n, p, q in rows:  # warm
        check(n, p, q)
    blocks = [rows[i : i + BLOCK] for i in range(0, len(rows) - BLOCK + 1, BLOCK)]
    clock = time.perf_counter_ns
    for rep in range(reps):
        per = []
        for b in blocks:
            t0 = clock()
            for n, p, q in b:
                check(n, p, q)
            per.append((clock() - t0) / BLOCK)
        p50, p99 = percentiles(per)
        print(f"RESULT python check rep={rep} rows={len(rows)} p50_ns={p50:.0f} p99_ns={p99:.0f}")

    out = store.verify_batch(table, threads=2)  # warm
    payable = out.column("payable").to_numpy(zero_copy_only=False).sum()
    print(f"warm pass: {payable} of {out.num_rows} rows payable")
    for rep in range(reps):
        t0 = time.perf_counter()
        out = store.verify_batch(table, threads=2)
        s = time.perf_counter() - t0
        print(f"RESULT python verify_batch rep={rep} rows={out.num_rows} s={s:.3f} mrows_s={out.num_rows / s / 1e6:.2f}")
        del out
    store.close()


if __name__ == "__main__":
    main()

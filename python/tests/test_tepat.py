"""The Python package's tests: a store created from the bindings' test
register (ffi/tests/data/register.csv), opened with today = 2026-11-15 so
that 2026-Q4 and 2026-11 are open whatever the real date."""

import datetime
import pathlib
import threading

import numpy as np
import pyarrow as pa
import pytest

import tepat

REGISTER = pathlib.Path(__file__).resolve().parents[2] / "ffi" / "tests" / "data" / "register.csv"
TODAY = "2026-11-15"
WIFE = "3201015708900001"
HUSBAND = "3201011503850001"
CHILD = "3201010101200002"
DECEASED = "3201012006600003"
CIVIL_SERVANT = "3201011207750005"
PAPUA = "9103014506800001"
NOTHING = "3201012508950007"


@pytest.fixture
def store_dir(tmp_path):
    path = tmp_path / "store"
    with tepat.Store.create(path, REGISTER, as_of="2026-11-01", today=TODAY):
        pass
    return path


@pytest.fixture
def store(store_dir):
    with tepat.Store(store_dir, today=TODAY) as s:
        yield s


def test_create_counts_and_refuses_a_second_time(tmp_path):
    path = tmp_path / "s"
    s = tepat.Store.create(str(path), str(REGISTER), as_of="2026-11-01", today=datetime.date(2026, 11, 15))
    assert s.ingest == {"rows": 7, "accepted": 7, "rejected": 0}
    assert s.programs[:3] == ["PKH", "SEMBAKO", "PBI_JK"]
    assert (path / "rejects-000001.csv").exists()
    s.close()
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store.create(path, REGISTER)
    assert e.value.code == 41 and e.value.code_name == "TEPAT_E_STORE"


def test_create_refuses_a_key_that_is_none_and_a_missing_register(tmp_path):
    with pytest.raises(tepat.InputError) as e:
        tepat.Store.create(tmp_path / "k", REGISTER, key=b"0" * 32)
    assert e.value.code == 3 and "neither a 16-byte identity key" in str(e.value)
    assert not (tmp_path / "k").exists()
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store.create(tmp_path / "m", tmp_path / "no-such.csv")
    assert e.value.code == 50


def test_open_errors(store_dir, tmp_path):
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store(tmp_path / "missing")
    assert e.value.code == 40
    with pytest.raises(tepat.InputError) as e:
        tepat.Store(store_dir, today="2026-02-30")
    assert e.value.code == 12
    with pytest.raises(tepat.InputError):
        tepat.Store(store_dir, key=b"k")
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store(store_dir, key=bytes(16))
    assert e.value.code == 45 and "not keyed" in str(e.value)
    # The test store is unsigned: a point that trusts a keeper refuses it.
    keeper = "ed25519:" + "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store(store_dir, trusted_keys=[keeper])
    assert e.value.code == 42 and "unsigned" in str(e.value)
    with pytest.raises(tepat.StoreError):
        tepat.Store(store_dir, trusted_keys=bytes.fromhex(keeper[8:]))
    with pytest.raises(tepat.Error) as e:
        tepat.Store(store_dir, trusted_keys=b"k" * 31)
    assert e.value.code == 3
    with tepat.Store(store_dir, today=TODAY):
        # One process holds a store: a second open is refused.
        with pytest.raises(tepat.StoreError):
            tepat.Store(store_dir)
    # Closed, it opens again.
    tepat.Store(store_dir, resident=True, today=datetime.date(2026, 11, 15)).close()


def test_a_keyed_store_answers_with_its_key_only(tmp_path):
    path = tmp_path / "keyed"
    key = bytes(range(16))
    with tepat.Store.create(path, REGISTER, as_of="2026-11-01", today=TODAY, key=key) as s:
        assert s.check(WIFE, "PKH", "2026-Q4").payable
        assert s.get(WIFE)["nik"] == WIFE and s.get(WIFE)["found"]
    text = "tepat-identity-key:" + key.hex() + "\n"
    with tepat.Store(path, today=TODAY, key=text) as s:
        assert s.check(WIFE, "PKH", "2026-Q4").payable
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store(path, today=TODAY)
    assert e.value.code == 45 and "identity key" in str(e.value)
    with pytest.raises(tepat.StoreError) as e:
        tepat.Store(path, today=TODAY, key=bytes(16))
    assert e.value.code == 45 and "not this store's" in str(e.value)


def test_errors_are_one_family_with_codes():
    assert issubclass(tepat.InputError, tepat.Error) and issubclass(tepat.InputError, ValueError)
    assert issubclass(tepat.RequestConflict, tepat.RequestError)
    assert tepat.STATUS_CODES[13] == "TEPAT_E_PERIOD"
    assert tepat.STATUS_CODES[0] == "TEPAT_OK"
    assert tepat.REASON_CODES[4] == "not_enrolled"
    assert len(tepat.REASON_CODES) == 16


def test_get(store):
    p = store.get(WIFE)
    assert p["found"] and p["nik"] == WIFE and p["kk"] == "3201011503150007"
    assert p["relation"] == "spouse" and p["sex"] == "F" and p["birth_date"] == "1990-08-17"
    assert p["village_code"] == "3201011001" and p["village"] == "Pondok Rajeg"
    assert p["components"] == ["pregnant"]
    assert "PKH" in p["enrolled"] and "PBI_JK" in p["enrolled"] and "PKH" in p["eligible"]
    assert not p["pending"] and not p["deceased"]
    papua = store.get(PAPUA)
    assert papua["found"] and int(papua["nik"]) > 2**53 and papua["village"] == "Sentani Kota"
    assert store.get("3201015708900009") == {"nik": "3201015708900009", "found": False}
    with pytest.raises(tepat.InputError) as e:
        store.get("3201015708900000")
    assert e.value.code == 10 and "serial" in str(e.value)


def test_check(store):
    v = store.check(WIFE, "PKH", "2026-Q4")
    assert v.payable and v.reasons == () and v.blocking == () and v.claimed is None
    assert repr(v) == "Verdict(payable=True, reasons=())"
    v = store.check(DECEASED, "PBI_JK", "2026-11")
    assert not v.payable and "deceased" in v.reasons and "deceased" in v.blocking
    v = store.check(CIVIL_SERVANT, "PBI_JK", "2026-11")
    assert set(v.reasons) == {"civil_servant", "not_eligible"}
    assert v.blocking == ("civil_servant",)
    assert v.reason_bits == (1 << 5) | (1 << 6)
    assert store.check(NOTHING, "PBI_JK", "2026-11").reasons == ("not_enrolled", "not_eligible")
    assert store.check(PAPUA, "PBI_JK", "2026-11").payable
    assert store.check("12345", "PKH", "2026-Q4").reasons == ("invalid_nik",)
    assert store.check("3201015708900009", "PKH", "2026-Q4").reasons == ("unknown_nik",)
    assert "wrong_period_kind" in store.check(WIFE, "PKH", "2026-11").reasons
    assert "period_not_open" in store.check(WIFE, "PKH", "2026-Q1").reasons
    with pytest.raises(tepat.InputError) as e:
        store.check(WIFE, "NOPE", "2026-Q4")
    assert e.value.code == 15 and "NOPE" in str(e.value)
    with pytest.raises(tepat.InputError) as e:
        store.check(WIFE, "PKH", "2026-Q5")
    assert e.value.code == 13


def test_claim_retry_conflict_reverse(store):
    first = store.claim("POS-1", WIFE, "PKH", "2026-Q4", amount=1500000, operator="counter 7", meta="post office")
    assert first.paid and not first.replayed and first.reversed_by is None and first.verdict.payable
    assert (first.amount, first.entitled) == (1500000, 1500000)
    again = store.claim("POS-1", WIFE, "PKH", "2026-Q4", amount=1500000, operator="counter 7", meta="post office")
    assert again.paid and again.replayed
    with pytest.raises(tepat.RequestConflict) as e:
        store.claim("POS-1", WIFE, "PKH", "2026-Q4", amount=1, operator="counter 7", meta="post office")
    assert e.value.code == 31
    # PKH is per family: the husband is refused, naming the claim.
    husband = store.claim("POS-2", HUSBAND, "PKH", "2026-Q4")
    assert not husband.paid and "already_claimed" in husband.verdict.reasons
    claimed = husband.verdict.claimed
    assert claimed["request_id"] == "POS-1" and claimed["nik"] == WIFE and claimed["kk"] == "3201011503150007"
    assert not store.check(CHILD, "PKH", "2026-Q4").payable
    with pytest.raises(tepat.RequestError) as e:
        store.claim("", WIFE, "PKH", "2026-Q4")
    assert e.value.code == 30
    r = store.reverse("POS-3", "POS-1", "account closed")
    assert not r.replayed and r.reversed == "POS-1"
    assert store.reverse("POS-3", "POS-1", "account closed").replayed
    with pytest.raises(tepat.RequestError) as e:
        store.reverse("POS-4", "POS-1", "again")
    assert "already reversed" in str(e.value)
    with pytest.raises(tepat.RequestError):
        store.reverse("POS-5", "NO-SUCH", "x")
    retry = store.claim("POS-1", WIFE, "PKH", "2026-Q4", amount=1500000, operator="counter 7", meta="post office")
    assert retry.replayed and retry.reversed_by == "POS-3"
    assert store.check(HUSBAND, "PKH", "2026-Q4").payable


def test_claims_are_durable_and_a_closed_store_refuses(store_dir):
    s = tepat.Store(store_dir, today=TODAY)
    assert s.claim("POS-9", PAPUA, "PBI_JK", "2026-11").paid
    s.close()
    assert s.closed
    with pytest.raises(tepat.StoreError) as e:
        s.check(PAPUA, "PBI_JK", "2026-11")
    assert e.value.code == 4
    with tepat.Store(store_dir, today=TODAY) as s:
        assert s.claim("POS-9", PAPUA, "PBI_JK", "2026-11").replayed


def test_claims_from_many_threads_pay_once(store):
    results = []

    def pay(i):
        results.append(store.claim(f"T-{i}", PAPUA, "PBI_JK", "2026-10").paid)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


ROWS = [
    (NOTHING, "PBI_JK", "2026-11"),
    (PAPUA, "PBI_JK", "2026-11"),
    (DECEASED, "PBI_JK", "2026-11"),
    ("12345", "PBI_JK", "2026-11"),
    (WIFE, "NOPE", "2026-Q4"),
    (WIFE, "PKH", "2026-Q4"),
    (WIFE, "PKH", "2026-13"),
]


def expected(store, nik, program, period):
    try:
        v = store.check(nik, program, period)
    except tepat.InputError:
        return False, "invalid_row"
    return v.payable, "|".join(v.reasons)


def test_verify_batch_from_lists_agrees_with_check(store):
    niks, programs, periods = (list(c) for c in zip(*ROWS))
    t = store.verify_batch(niks, programs, periods)
    assert t.column_names == ["nik", "program", "period", "payable", "reasons", "reason_bits"]
    assert t.num_rows == len(ROWS)
    got = list(zip(t.column("payable").to_pylist(), t.column("reasons").to_pylist()))
    assert got == [expected(store, *r) for r in ROWS]
    bits = t.column("reason_bits").to_pylist()
    for b, (_, reasons) in zip(bits, got):
        assert b == sum(1 << tepat.REASON_CODES.index(c) for c in reasons.split("|") if c)
    assert pa.types.is_dictionary(t.schema.field("reasons").type)


def test_verify_batch_from_a_table_numpy_and_scalars(store):
    table = pa.table(
        {
            "payee_id": [1, 2, 3],
            "nik": [PAPUA, DECEASED, NOTHING],
            "program": pa.array(["PBI_JK"] * 3).dictionary_encode(),
            "period": pa.chunked_array([["2026-11"], ["2026-11", "2026-11"]]),
        }
    )
    t = store.verify_batch(table)
    assert t.column_names == ["payee_id", "nik", "program", "period", "payable", "reasons", "reason_bits"]
    assert t.column("payee_id").to_pylist() == [1, 2, 3]
    assert t.column("payable").to_pylist() == [True, False, False]
    n = store.verify_batch(np.array([PAPUA, DECEASED]), "PBI_JK", "2026-11")
    assert n.column_names == ["nik", "payable", "reasons", "reason_bits"]
    assert n.column("payable").to_pylist() == [True, False]
    # A table whose period column is overridden by one period for all.
    o = store.verify_batch(table, periods="2026-Q4")
    assert set(o.column("reasons").to_pylist()[0].split("|")) >= {"wrong_period_kind"}


def test_verify_batch_nulls_slices_large_strings_and_integers(store):
    arr = pa.array([None, PAPUA, "x", DECEASED], pa.large_string()).slice(1)
    t = store.verify_batch(arr, "PBI_JK", "2026-11")
    assert t.column("payable").to_pylist() == [True, False, False]
    nulls = store.verify_batch(pa.array([PAPUA, None, PAPUA]), pa.array(["PBI_JK", "PBI_JK", None]), "2026-11")
    assert nulls.column("reasons").to_pylist() == ["", "invalid_nik", "invalid_row"]
    ints = store.verify_batch(pa.array([int(PAPUA)], pa.int64()), "PBI_JK", "2026-11")
    assert ints.column("payable").to_pylist() == [True]
    empty = store.verify_batch([], "PBI_JK", "2026-11")
    assert empty.num_rows == 0
    with pytest.raises(tepat.InputError) as e:
        store.verify_batch([PAPUA, PAPUA], ["PBI_JK"], "2026-11")
    assert e.value.code == 3
    with pytest.raises(tepat.InputError):
        store.verify_batch(pa.table({"nik": [PAPUA]}))


def test_verify_batch_releases_the_gil(store):
    rows = 3_000_000
    niks = pa.array([PAPUA, DECEASED, "3201015708900009"] * (rows // 3))
    started = threading.Event()
    out = []

    def run():
        started.set()
        out.append(store.verify_batch(niks, "PBI_JK", "2026-11", threads=1))

    t = threading.Thread(target=run)
    t.start()
    started.wait()
    spins = 0
    while t.is_alive():
        spins += 1
    t.join()
    assert out[0].num_rows == rows
    assert out[0].column("payable").to_pylist()[:3] == [True, False, False]
    # The main thread ran while the batch ran: the GIL was released.
    assert spins > 1000


def test_verify_batch_across_chunks_and_threads(store):
    # Rows not a multiple of 8 or of the streaming chunk, in several Arrow
    # chunks, on two threads: every row's verdict in its place.
    pattern = [PAPUA, DECEASED, "3201015708900009", "bad", NOTHING]
    rows = 100_003
    niks = [pattern[i % 5] for i in range(rows)]
    chunked = pa.chunked_array([niks[:777], niks[777:50_000], niks[50_000:]])
    t = store.verify_batch(chunked, "PBI_JK", "2026-11", threads=2)
    payable = t.column("payable").to_pylist()
    assert payable == [i % 5 == 0 for i in range(rows)]
    reasons = t.column("reasons").to_pylist()
    assert reasons[1] == "deceased" and reasons[2] == "unknown_nik" and reasons[3] == "invalid_nik"
    assert reasons[99_999] == reasons[4] == "not_enrolled|not_eligible"
    assert reasons[rows - 1] == "unknown_nik"
    assert t.column("nik").num_chunks == 3


def test_report(store):
    t = store.report("overlap", by="province")
    assert t.column_names == ["region_code", "region", "program_a", "program_b", "persons", "families"]
    assert t.column("region_code")[0].as_py() == "00" and t.column("region")[0].as_py() == "Indonesia"
    rows = t.to_pylist()
    both = [r for r in rows if r["region_code"] == "00" and (r["program_a"], r["program_b"]) == ("PKH", "SEMBAKO")]
    assert both == [
        {"region_code": "00", "region": "Indonesia", "program_a": "PKH", "program_b": "SEMBAKO", "persons": 3, "families": 1}
    ]
    assert store.report("duplicates").column_names == ["region_code", "region", "duplicate_records"]
    d = store.report("deceased", by="district")
    assert d.column_names == ["region_code", "region", "program", "persons"]
    for kind in tepat.REPORT_KINDS:
        assert store.report(kind, by="regency").num_rows > 0
    with pytest.raises(tepat.InputError) as e:
        store.report("everything")
    assert e.value.code == 3
    with pytest.raises(tepat.InputError):
        store.report("overlap", by="village")

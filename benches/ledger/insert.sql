-- pgbench's custom script for the ledger benchmark: one claim-shaped row
-- per transaction, the way a naive replicator would ship claims.
\set n random(1, 1000000000000)
INSERT INTO bench_claims (point, request_id, program, period, claim_key, nik, amount,
    village, operator, at, outcome, reasons)
VALUES ('bench', 'p-' || :n, 'PBI_JK', '2026-12', :n, :n, 42000, 3201010001, 'bench',
    now(), 'paid', '');

-- One payout claim per transaction, the PostgreSQL peer of Store::claim:
-- record the claim (unique per program, period, subject), the request
-- (idempotency row) and an audit row, in one statement (one transaction).
-- Subjects are random over 10^14 NIK-like numbers: practically distinct.
\set nik random(3100000000000000, 3199999999999999)
\set r random(1, 9000000000000000000)
WITH c AS (
    INSERT INTO claims (program, period, subject, request_id, nik, meta)
    VALUES ('PBI_JK', '2026-11', :nik, 'pg-' || :r, :nik, 'Kantor Pos 40111; Rp 42000')
    ON CONFLICT DO NOTHING
    RETURNING 1
), q AS (
    INSERT INTO requests (request_id, nik, program, period, meta, paid)
    SELECT 'pg-' || :r, :nik, 'PBI_JK', '2026-11', 'Kantor Pos 40111; Rp 42000',
           EXISTS (SELECT 1 FROM c)
    RETURNING paid
)
INSERT INTO audit (request_id, op, nik, inputs, outcome)
SELECT 'pg-' || :r, 'claim', :nik,
       'claim nik=' || :nik || ' program=PBI_JK period=2026-11',
       CASE WHEN paid THEN 'paid' ELSE 'refused: already_claimed' END
FROM q;

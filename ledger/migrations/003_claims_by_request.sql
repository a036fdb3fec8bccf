-- tepat central ledger, schema version 3: claims found by their request.
--
-- `tepat ledger unclaimed` lists the reservations whose claim never
-- reached the ledger (docs/LEDGER.md, "Unclaimed reservations"): for each
-- reservation it asks whether the point shipped a claim with that request
-- id, which without this index is a scan of every claim.
CREATE INDEX claims_by_request ON claims (point, request_id);

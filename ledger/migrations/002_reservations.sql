-- tepat central ledger, schema version 2: online reservations
-- (docs/LEDGER.md, "Online reservation").
--
-- A payout point started with --ledger reserves a claim's key here before
-- it pays: at most one point holds (program, period, key) at a time, which
-- the primary key enforces under concurrent points. A reservation is taken
-- over by the same point (a new request after its own reversal), or by
-- anyone once the holder's claim is known here as reversed.
CREATE TABLE reservations (
    program      text COLLATE "C" NOT NULL,
    period       text COLLATE "C" NOT NULL,
    key_kind     text COLLATE "C" NOT NULL CHECK (key_kind IN ('person', 'family')),
    claim_key    bigint NOT NULL,
    point        text COLLATE "C" NOT NULL CHECK (point <> ''),
    request_id   text NOT NULL,
    nik          bigint NOT NULL,
    reserved_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program, period, key_kind, claim_key)
);

-- A point's reservations by request: releases, and the keeper's list of
-- reservations whose claim never arrived.
CREATE INDEX reservations_by_request ON reservations (point, request_id);

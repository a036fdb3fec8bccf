-- tepat central ledger, schema version 1 (docs/LEDGER.md).
--
-- Every payout point ships its claims log here (`tepat sync`). A row is a
-- record of one point's log, keyed by (point, log_offset): the byte offset
-- of the record in that point's claims log, its position, which never
-- changes once the record is durable.
--
-- Codes (points, programs, periods, key kinds) are compared byte by byte
-- (COLLATE "C"): they are identifiers, not words, and the locale's
-- collation made every index insertion and sort of a batch several times
-- slower.

-- A payout point: a name given at the first sync, bound to one store.
CREATE TABLE points (
    id          text COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    -- Store::id() of the store that syncs under this name (32 hex digits).
    -- UNIQUE: one store under two names would ship every claim twice and
    -- flag each as a double payment.
    store_id    text NOT NULL UNIQUE CHECK (store_id ~ '^[0-9a-f]{32}$'),
    first_seen  timestamptz NOT NULL DEFAULT now()
);

-- How far each point's log has been shipped. Moved in the same
-- transaction as the rows it covers: a crash loses nothing, a resend
-- inserts nothing twice.
CREATE TABLE high_water_marks (
    point       text COLLATE "C" PRIMARY KEY REFERENCES points (id),
    -- Byte offset just past the last shipped record (0: nothing shipped).
    log_offset  bigint NOT NULL DEFAULT 0 CHECK (log_offset >= 0),
    -- The audit sequence number of the last shipped record.
    last_seq    bigint NOT NULL DEFAULT 0,
    -- Records shipped so far (claims and reversals).
    records     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- claims.point and reversals.point name a point without a foreign key: a
-- batch's rows all carry the point whose high_water_marks row (which does
-- reference points) the batch holds FOR UPDATE, and a per-row check cost
-- a third of a batch's insert.
CREATE TABLE claims (
    id              bigserial PRIMARY KEY,
    point           text COLLATE "C" NOT NULL,
    log_offset      bigint NOT NULL,
    seq             bigint NOT NULL,
    request_id      text NOT NULL,
    program         text COLLATE "C" NOT NULL,
    -- The period as text (2026-Q4) and as tepat's order-preserving key.
    period          text COLLATE "C" NOT NULL,
    period_key      integer NOT NULL,
    -- The claim key: the KK for a family program, else the NIK.
    key_kind        text COLLATE "C" NOT NULL CHECK (key_kind IN ('person', 'family')),
    claim_key       bigint,
    nik             bigint,
    kk              bigint,
    amount          bigint,
    entitled        bigint,
    -- The payee's village when the claim was decided (0: no known person).
    village         bigint NOT NULL,
    operator        text NOT NULL,
    meta            text NOT NULL,
    at              timestamptz NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('paid', 'refused')),
    -- The verdict's reason codes, comma-separated.
    reasons         text NOT NULL,
    reversed        boolean NOT NULL DEFAULT false,
    -- A paid claim whose key another paid, unreversed claim already held
    -- when it arrived: a cross-point double payment. Stored (it happened),
    -- and kept out of claims_key_holder.
    double_payment  boolean NOT NULL DEFAULT false,
    -- The claim that held the key when this one arrived.
    held_by         bigint REFERENCES claims (id),
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (point, log_offset),
    CHECK (outcome <> 'paid' OR claim_key IS NOT NULL),
    CHECK (NOT double_payment OR outcome = 'paid')
);

-- At most one holder per key: the first paid, unreversed claim. Flagged
-- claims are outside it (they are stored, not refused), which is what
-- lets the ledger record a double payment that already happened offline.
-- It is also the guard between two points syncing at once: the second to
-- insert an unflagged holder of the same key fails here and retries its
-- batch, which then sees the first and flags.
CREATE UNIQUE INDEX claims_key_holder ON claims (program, period, key_kind, claim_key)
    WHERE outcome = 'paid' AND NOT reversed AND NOT double_payment;

-- Who holds a key, flagged or not: the lookup of every arriving claim.
CREATE INDEX claims_key_paid ON claims (program, period, key_kind, claim_key)
    WHERE outcome = 'paid' AND NOT reversed;

CREATE INDEX claims_double_payments ON claims (program, period) WHERE double_payment;

CREATE TABLE reversals (
    id                bigserial PRIMARY KEY,
    point             text COLLATE "C" NOT NULL,
    log_offset        bigint NOT NULL,
    seq               bigint NOT NULL,
    request_id        text NOT NULL,
    -- The reversed claim (same point, earlier in its log).
    claim_id          bigint NOT NULL REFERENCES claims (id),
    reverses_request  text NOT NULL,
    claim_offset      bigint NOT NULL,
    program           text COLLATE "C" NOT NULL,
    period            text COLLATE "C" NOT NULL,
    amount            bigint,
    reason            text NOT NULL,
    operator          text NOT NULL,
    at                timestamptz NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (point, log_offset),
    UNIQUE (claim_id)
);

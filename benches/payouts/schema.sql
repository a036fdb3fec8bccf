CREATE TABLE requests (
    request_id text PRIMARY KEY,
    nik bigint NOT NULL,
    program text NOT NULL,
    period text NOT NULL,
    meta text NOT NULL,
    paid boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE claims (
    program text NOT NULL,
    period text NOT NULL,
    subject bigint NOT NULL,
    request_id text NOT NULL,
    nik bigint NOT NULL,
    meta text NOT NULL,
    reversed_by text,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program, period, subject)
);
CREATE TABLE audit (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    request_id text,
    op text NOT NULL,
    nik bigint,
    inputs text NOT NULL,
    outcome text NOT NULL
);

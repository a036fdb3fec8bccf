//! A payee list checked against every payout point: [`PgLookup`]
//! implements the library's [`CentralLookup`] for `tepat batch --ledger`.
//! One query per block of the list: the block's payable rows' keys as
//! arrays, each matched against the paid, unreversed claims synced from any
//! point and the reservations whose claim is not known as reversed.

use std::cell::RefCell;

use postgres::Client;
use tepat::batch::CentralLookup;
use tepat::store::{CentralKey, HeldElsewhere};

/// `$1..$4`: the keys' programs, periods, kinds and keys, as arrays; one
/// row per key held, with its position (from 1).
const HELD: &str = "
SELECT k.i, h.point, h.request_id, h.at
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
     WITH ORDINALITY AS k(program, period, key_kind, claim_key, i)
CROSS JOIN LATERAL (
    SELECT c.point, c.request_id, c.at FROM claims c
    WHERE c.program = k.program AND c.period = k.period AND c.key_kind = k.key_kind
      AND c.claim_key = k.claim_key
      AND c.outcome = 'paid' AND NOT c.reversed AND NOT c.double_payment
    UNION ALL
    SELECT r.point, r.request_id, r.reserved_at FROM reservations r
    WHERE r.program = k.program AND r.period = k.period AND r.key_kind = k.key_kind
      AND r.claim_key = k.claim_key
      AND NOT EXISTS (SELECT 1 FROM claims c
                      WHERE c.point = r.point AND c.request_id = r.request_id AND c.reversed)
    LIMIT 1
) h";

/// A payee list's look-ups in the central ledger, on one connection.
pub struct PgLookup {
    client: RefCell<Client>,
}

impl PgLookup {
    /// Look-ups on `client` (a migrated ledger: [`crate::migrate`]).
    pub fn new(client: Client) -> PgLookup {
        PgLookup {
            client: RefCell::new(client),
        }
    }
}

impl CentralLookup for PgLookup {
    fn held(&self, keys: &[CentralKey]) -> Result<Vec<Option<HeldElsewhere>>, String> {
        let programs: Vec<&str> = keys.iter().map(|k| k.program.as_str()).collect();
        let periods: Vec<&str> = keys.iter().map(|k| k.period.as_str()).collect();
        let kinds: Vec<&str> = keys
            .iter()
            .map(|k| if k.family { "family" } else { "person" })
            .collect();
        let ids = keys
            .iter()
            .map(|k| i64::try_from(k.key).map_err(|_| format!("key {} out of range", k.key)))
            .collect::<Result<Vec<i64>, String>>()?;
        let rows = self
            .client
            .borrow_mut()
            .query(HELD, &[&programs, &periods, &kinds, &ids])
            .map_err(|e| crate::error::describe(&e))?;
        let mut held = vec![None; keys.len()];
        for row in rows {
            let i: i64 = row.get(0);
            let at: std::time::SystemTime = row.get(3);
            let slot = usize::try_from(i - 1)
                .ok()
                .and_then(|i| held.get_mut(i))
                .ok_or_else(|| format!("the ledger answered for key {i} of {}", keys.len()))?;
            *slot = Some(HeldElsewhere {
                point: row.get(1),
                request_id: row.get(2),
                at_ms: at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            });
        }
        Ok(held)
    }
}

//! Online reservation on PostgreSQL: [`PgReserver`] implements the
//! library's [`Reserver`] for a payout point started with `--ledger URL`.
//!
//! One statement per claim: it looks for a paid, unreversed claim of
//! another point already synced for the key, and otherwise inserts the
//! reservation (`INSERT … ON CONFLICT`), taking an existing one over only
//! from the same point or from a claim known to be reversed. The primary
//! key on (program, period, kind, key) decides between points reserving at
//! the same moment: one inserts, the other sees the conflict.
//!
//! Every call is bounded by the deadline (default 300 ms): the connection
//! attempt (`connect_timeout`), the statement (`statement_timeout`) and an
//! unacknowledged send (`tcp_user_timeout`). Past it the answer is
//! [`Reserved::Unreachable`], and the registry's policy decides.

use std::str::FromStr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use postgres::{Client, Config, NoTls};
use tepat::store::{CentralKey, HeldElsewhere, Reserved, Reserver};

use crate::connect::redact;
use crate::error::{Error, Result};
use crate::sync::register_point;

/// The default deadline of one reservation.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(300);

/// Connections kept: as many reservations run at once.
const CONNECTIONS: usize = 16;

/// The one statement of a reservation. `$1..$7`: program, period, kind,
/// key, point, request id, NIK. Answers `granted` or the holder.
const RESERVE: &str = "
WITH paid AS (
    SELECT point, request_id, at FROM claims
    WHERE program = $1 AND period = $2 AND key_kind = $3 AND claim_key = $4
      AND outcome = 'paid' AND NOT reversed AND NOT double_payment AND point <> $5
    LIMIT 1
), taken AS (
    INSERT INTO reservations AS r (program, period, key_kind, claim_key, point, request_id, nik)
    SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM paid)
    ON CONFLICT (program, period, key_kind, claim_key) DO UPDATE
        SET point = EXCLUDED.point, request_id = EXCLUDED.request_id,
            nik = EXCLUDED.nik, reserved_at = now()
        WHERE r.point = EXCLUDED.point
           OR EXISTS (SELECT 1 FROM claims c
                      WHERE c.point = r.point AND c.request_id = r.request_id AND c.reversed)
    RETURNING 1
)
SELECT 'granted'::text, NULL::text, NULL::timestamptz FROM taken
UNION ALL
SELECT point, request_id, at FROM paid
UNION ALL
SELECT r.point, r.request_id, r.reserved_at FROM reservations r
WHERE r.program = $1 AND r.period = $2 AND r.key_kind = $3 AND r.claim_key = $4
  AND NOT EXISTS (SELECT 1 FROM taken) AND NOT EXISTS (SELECT 1 FROM paid)";

/// The holder of a key (`$1..$4`: program, period, kind, key).
const HOLDER: &str = "SELECT point, request_id, reserved_at FROM reservations
    WHERE program = $1 AND period = $2 AND key_kind = $3 AND claim_key = $4";

/// A payout point's reservations in the central ledger.
///
/// The PostgreSQL client runs on threads of the reserver's own, each with
/// its connection: `postgres` drives a runtime of its own and cannot run
/// on a thread of another (a service's blocking pool is one), and a
/// thread of its own lets the caller stop waiting at the deadline whatever
/// the network does.
pub struct PgReserver {
    jobs: Mutex<mpsc::Sender<Job>>,
    deadline: Duration,
    url: String,
}

/// A reservation asked of a worker, and where its answer goes.
struct Job {
    key: CentralKey,
    answer: mpsc::Sender<Reserved>,
}

impl PgReserver {
    /// Reservations for `point` (the store `store_id`'s, as `tepat sync`
    /// binds them) in the ledger at `url`, each within `deadline`. A
    /// ledger that answers and binds the point to another store is refused
    /// here; one that does not answer is a ledger unreachable at the first
    /// claim, not a point that cannot start.
    pub fn new(url: &str, point: &str, store_id: &str, deadline: Duration) -> Result<PgReserver> {
        if point.is_empty() {
            return Err(Error::Usage(
                "--point: a payout point's id is not empty".into(),
            ));
        }
        let mut config = Config::from_str(url).map_err(|e| {
            Error::Usage(format!(
                "--ledger {:?} is not a PostgreSQL URL: {e}",
                redact(url)
            ))
        })?;
        let ms = deadline.as_millis().max(1);
        config
            .connect_timeout(deadline)
            .tcp_user_timeout(deadline)
            .options(&format!("-c statement_timeout={ms}"));
        // A point is one store's (as for the sync): two stores under one
        // name would take each other's reservations over.
        let mut first = config.connect(NoTls).ok();
        if let Some(client) = first.as_mut() {
            register_point(client, point, store_id)?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..CONNECTIONS {
            let worker = Worker {
                config: config.clone(),
                point: point.to_owned(),
                store_id: store_id.to_owned(),
                client: if i == 0 { first.take() } else { None },
            };
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("tepat-reserve-{i}"))
                .spawn(move || worker.run(&rx))
                .map_err(|e| Error::Usage(format!("starting the ledger's threads: {e}")))?;
        }
        Ok(PgReserver {
            jobs: Mutex::new(tx),
            deadline,
            url: redact(url),
        })
    }

    /// The ledger's URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// One connection's thread.
struct Worker {
    config: Config,
    point: String,
    store_id: String,
    client: Option<Client>,
}

impl Worker {
    /// Answers jobs until the reserver is dropped.
    fn run(mut self, jobs: &Mutex<mpsc::Receiver<Job>>) {
        loop {
            let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                Ok(job) => job,
                Err(_) => return,
            };
            let answer = self.reserve(&job.key);
            // The caller stopped waiting (its deadline passed): the answer
            // is dropped, and the claim was decided as unreachable.
            let _ = job.answer.send(answer);
        }
    }

    fn reserve(&mut self, key: &CentralKey) -> Reserved {
        let (Ok(claim_key), Ok(nik)) = (i64::try_from(key.key), i64::try_from(key.nik)) else {
            return Reserved::Unreachable("a key beyond the ledger's range".into());
        };
        if self.client.is_none() {
            let connected = self.config.connect(NoTls).map_err(|e| e.to_string());
            let mut client = match connected {
                Ok(c) => c,
                Err(e) => return Reserved::Unreachable(e),
            };
            // Bound to another store since: no reservation is safe.
            if let Err(e) = register_point(&mut client, &self.point, &self.store_id) {
                return Reserved::Unreachable(e.to_string());
            }
            self.client = Some(client);
        }
        let Some(client) = self.client.as_mut() else {
            return Reserved::Unreachable("no connection".into());
        };
        let params: [&(dyn postgres::types::ToSql + Sync); 7] = [
            &key.program,
            &key.period,
            &kind(key),
            &claim_key,
            &self.point,
            &key.request_id,
            &nik,
        ];
        // A point that reserved at the same moment inserted first: this
        // statement waited for it, saw the conflict, but its snapshot does
        // not show the row. The holder is read in a second statement.
        let rows = client.query(RESERVE, &params).and_then(|rows| {
            if rows.is_empty() {
                client.query(HOLDER, &params[..4])
            } else {
                Ok(rows)
            }
        });
        match rows {
            Ok(rows) => answer(&rows),
            Err(e) => {
                // A failed connection is dropped; the next job reconnects.
                self.client = None;
                Reserved::Unreachable(e.to_string())
            }
        }
    }
}

/// The reservation statement's rows as an answer.
fn answer(rows: &[postgres::Row]) -> Reserved {
    let Some(row) = rows.first() else {
        // Held a moment ago and given up since (its claim reversed and
        // taken over): refused; a retry of the claim asks again.
        return Reserved::Elsewhere(HeldElsewhere {
            point: String::new(),
            request_id: String::new(),
            at_ms: 0,
        });
    };
    let first: String = row.get(0);
    let request: Option<String> = row.get(1);
    if first == "granted" && request.is_none() {
        return Reserved::Granted;
    }
    let at: Option<std::time::SystemTime> = row.get(2);
    Reserved::Elsewhere(HeldElsewhere {
        point: first,
        request_id: request.unwrap_or_default(),
        at_ms: at
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64),
    })
}

fn kind(key: &CentralKey) -> &'static str {
    if key.family { "family" } else { "person" }
}

impl Reserver for PgReserver {
    fn reserve(&self, key: &CentralKey) -> Reserved {
        let (tx, rx) = mpsc::channel();
        let job = Job {
            key: key.clone(),
            answer: tx,
        };
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job);
        if sent.is_err() {
            return Reserved::Unreachable("the ledger's threads stopped".into());
        }
        // The deadline counts from the claim's side: waiting for a free
        // connection is part of it (a ledger too slow for the load is a
        // ledger that did not answer in time).
        match rx.recv_timeout(self.deadline) {
            Ok(answer) => answer,
            Err(_) => Reserved::Unreachable(format!(
                "no answer from the ledger within {} ms",
                self.deadline.as_millis()
            )),
        }
    }
}

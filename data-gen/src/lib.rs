//! tepat-gen: synthetic national-scale register data for tepat, repeatable
//! from a seed.
//!
//! [`Generator`] produces typed [`PersonRecord`]s, district by district,
//! deterministically: the same [`Config`] gives the same records in the same
//! order on any machine and with any number of threads. The `tepat-gen`
//! command writes them as `register.csv` together with a payee list, a
//! month of changes and the exact counts of what was generated
//! (`docs/DATA.md` describes every file).
//!
//! ```
//! use tepat_gen::{Config, Generator};
//!
//! let generator = Generator::new(Config { persons: 2_000, ..Config::default() })?;
//! let mut persons = 0;
//! generator.for_each_record(|record| {
//!     assert!(record.decile >= 1 && record.decile <= 10);
//!     persons += 1;
//! });
//! assert_eq!(persons, 2_000);
//! # Ok::<(), tepat_gen::GenError>(())
//! ```
//!
//! # How it stays deterministic and parallel
//!
//! A chunk is one district of residence (7,285 of them, in code order).
//! Each chunk draws from its own random stream, derived from (seed, chunk
//! index), and allocates NIK and KK serials from blocks that no other chunk
//! can touch (see [`ids`]), so chunks need no shared state: workers make
//! them in any order and [`Generator::for_each_chunk`] hands them over in
//! order.
//!
//! # Limits
//!
//! - Up to 1,000,000,000 persons; as-of dates in 2001–2099.
//! - Moves in `changes.csv` stay within a district; duplicate NIKs are
//!   copied from the same district.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod changes;
pub mod chunk;
pub mod decile;
pub mod enrol;
pub mod family;
pub mod geo;
pub mod ids;
pub mod math;
pub mod names;
pub mod output;
pub mod parallel;
pub mod payees;
pub mod rng;
pub mod sources;
pub mod tally;

use tepat::register::PersonRecord;
use tepat::{Date, RegionCode, Registry};

pub use chunk::{Chunk, FamilyInfo, PersonInfo};

/// The default number of persons a run generates.
pub const DEFAULT_PERSONS: u64 = 1_000_000;
/// The most persons a run may ask for (NIK serial blocks are sized for it).
pub const MAX_PERSONS: u64 = 1_000_000_000;

/// How many persons each worker thread may have in flight (made but not
/// yet taken in order): the memory bound of [`Generator::for_each_chunk`]
/// is about this many persons per thread, or the largest district if more.
pub const PERSONS_IN_FLIGHT_PER_THREAD: u64 = 1_000_000;

/// Random stream tags: one independent stream per purpose and chunk.
pub(crate) const TAG_REGISTER: u64 = 1;
pub(crate) const TAG_PAYEES: u64 = 2;
pub(crate) const TAG_CHANGES: u64 = 3;
pub(crate) const TAG_SOURCES: u64 = 4;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The compiled-in data is inconsistent (a build problem).
    #[error("{file}, line {line}: {message}")]
    Data {
        /// The data file.
        file: String,
        /// 1-based line, 0 when not about one line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The program registry lacks something the generator needs.
    #[error("program registry: {0}")]
    Registry(String),
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Number of persons (rows of `register.csv`), 1 to [`MAX_PERSONS`].
    pub persons: u64,
    /// Seed of every random stream.
    pub seed: u64,
    /// The register's reference date: ages, eligibility and payout periods
    /// are taken on it.
    pub as_of: Date,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Where everyone lives: a province, regency or district (`None`: the
    /// whole country). A small run in one regency has the population
    /// density of a national one (many persons per village), which is what
    /// record linkage needs to be tested against.
    pub region: Option<RegionCode>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            persons: DEFAULT_PERSONS,
            seed: 1,
            as_of: DEFAULT_AS_OF,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            region: None,
        }
    }
}

/// The default as-of date, 2026-11-01.
pub const DEFAULT_AS_OF: Date = match Date::new(2026, 11, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The deterministic producer of register records.
pub struct Generator {
    config: Config,
    registry: &'static Registry,
    geo: geo::Geography,
    deciles: decile::DecileTable,
    enrolment: enrol::Enrolment,
    family_model: family::FamilyModel,
}

impl Generator {
    /// Checks the configuration, plans persons per district and calibrates
    /// enrolment (about 0.3 s).
    pub fn new(config: Config) -> Result<Generator, GenError> {
        if !(1..=MAX_PERSONS).contains(&config.persons) {
            return Err(GenError::Config(format!(
                "persons must be 1 to {MAX_PERSONS}, got {}",
                config.persons
            )));
        }
        if !(2001..=2099).contains(&config.as_of.year()) {
            return Err(GenError::Config(format!(
                "the as-of date must be in 2001-2099, got {}",
                config.as_of
            )));
        }
        if config.threads == 0 {
            return Err(GenError::Config("threads must be at least 1".into()));
        }
        let registry = Registry::builtin();
        let geo = geo::Geography::within(config.persons, config.seed, config.region)?;
        let deciles = decile::DecileTable::new(&geo.provinces);
        let enrolment = enrol::Enrolment::calibrate(registry, &geo, &deciles, config.seed)?;
        Ok(Generator {
            config,
            registry,
            geo,
            deciles,
            enrolment,
            family_model: family::FamilyModel::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The program registry the records refer to (the built-in one).
    pub fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// The plan: districts, villages, provinces and persons per district.
    pub fn geography(&self) -> &geo::Geography {
        &self.geo
    }

    /// The decile model.
    pub fn deciles(&self) -> &decile::DecileTable {
        &self.deciles
    }

    /// The number of chunks (districts), including empty ones.
    pub fn chunk_count(&self) -> usize {
        self.geo.districts.len()
    }

    /// Makes every chunk on `config.threads` workers, applies `work` to it
    /// there (in parallel), and hands the results to `sink` in chunk order
    /// on the calling thread. Stops at `sink`'s first error. At most
    /// [`PERSONS_IN_FLIGHT_PER_THREAD`] × threads persons (or `threads`
    /// chunks) are in flight at once.
    pub fn for_each_chunk<T: Send, E>(
        &self,
        work: impl Fn(Chunk) -> T + Sync,
        sink: impl FnMut(T) -> Result<(), E>,
    ) -> Result<(), E> {
        let persons: Vec<u64> = self.geo.districts.iter().map(|d| d.persons).collect();
        parallel::ordered(
            self.config.threads,
            &persons,
            PERSONS_IN_FLIGHT_PER_THREAD * self.config.threads as u64,
            |i| work(self.chunk(i)),
            sink,
        )
    }

    /// Calls `f` with every record, in order (generated in parallel).
    pub fn for_each_record(&self, mut f: impl FnMut(&PersonRecord)) {
        let result: Result<(), std::convert::Infallible> = self.for_each_chunk(
            |chunk| chunk,
            |chunk| {
                chunk.records.iter().for_each(&mut f);
                Ok(())
            },
        );
        let Ok(()) = result;
    }
}

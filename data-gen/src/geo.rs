//! Where people live: districts, their villages and persons per district,
//! the province poverty rates, and the district codes NIKs carry when they
//! were issued somewhere else.
//!
//! Persons are apportioned to the 514 regencies/cities in proportion to
//! their 2024 population (`data/wilayah/population.csv`, largest-remainder
//! rounding, so the total is exactly N), then to a regency's districts in
//! proportion to their number of villages: the village lists are the only
//! sub-regency size signal we have, and they make district sizes
//! heavy-tailed as in life.

use std::collections::HashMap;
use std::ops::Range;

use tepat::region::Status;
use tepat::{Level, RegionCode, RegionTable};

use crate::GenError;
use crate::rng::Rng;

const POPULATION_CSV: &str = include_str!("../../data/wilayah/population.csv");
const POVERTY_CSV: &str = include_str!("../../data/poverty/provinces.csv");

/// Maluku Utara (82) has no September 2024 figure in `provinces.csv`; two
/// later BPS releases both imply 6.03 % (see `data/poverty/README.md`).
pub const MALUKU_UTARA_POVERTY_PCT: f64 = 6.03;

/// How many "issued elsewhere" partner blocks each district has (NIK
/// serial blocks 5000–8999, 1000 serials each).
pub const MOVER_BLOCKS: usize = 4;

/// One district of residence: one chunk of the output.
#[derive(Clone, Debug)]
pub struct District {
    /// `PPRRDD`.
    pub code: u32,
    /// Index into [`Geography::provinces`].
    pub province: usize,
    /// Its villages, as a range of [`Geography::villages`].
    pub villages: Range<usize>,
    /// Persons living here.
    pub persons: u64,
    /// Persons in all earlier districts (this district's first global index).
    pub first_person: u64,
    /// Former (pre-2022 Papua) district codes whose successor this is.
    pub formers: Vec<u32>,
    /// The district each mover block's NIKs were issued in (`None` when the
    /// block would point back at this district).
    pub movers: [Option<u32>; MOVER_BLOCKS],
}

/// One province: its share of persons and its poverty rate.
#[derive(Clone, Debug)]
pub struct Province {
    /// Two-digit code.
    pub code: u8,
    /// Persons living here (sum over its districts).
    pub persons: u64,
    /// 2024 population (Dukcapil).
    pub population: u64,
    /// BPS poverty rate, September 2024, as a fraction.
    pub poverty: f64,
}

/// Every district with its persons, in code order.
#[derive(Clone, Debug)]
pub struct Geography {
    /// Current districts, sorted by code.
    pub districts: Vec<District>,
    /// All village codes, grouped by district.
    pub villages: Vec<u64>,
    /// The 38 provinces, sorted by code.
    pub provinces: Vec<Province>,
}

impl Geography {
    /// Builds the plan for `persons` persons; `seed` only shuffles the
    /// national order used by the cross-province mover blocks.
    pub fn new(persons: u64, seed: u64) -> Result<Geography, GenError> {
        Geography::within(persons, seed, None)
    }

    /// Like [`Geography::new`], with every person living in `region` (a
    /// province, regency or district; `None`: the whole country). Persons
    /// are apportioned as usual among the region's districts; the rest get
    /// none. NIKs issued elsewhere still carry other districts' codes.
    pub fn within(
        persons: u64,
        seed: u64,
        region: Option<RegionCode>,
    ) -> Result<Geography, GenError> {
        let table = RegionTable::builtin();
        let population = parse_population()?;
        let poverty = parse_poverty()?;
        let provinces = provinces(table, &population, &poverty)?;
        let province_index: HashMap<u8, usize> = provinces
            .iter()
            .enumerate()
            .map(|(i, p)| (p.code, i))
            .collect();
        let (mut districts, villages) = districts_and_villages(table, &province_index)?;
        let inside = |district: u32| region.is_none_or(|r| contains(r, district));
        apportion_persons(table, &population, &mut districts, persons, &inside)?;
        attach_formers(table, &mut districts);
        attach_movers(&mut districts, seed);
        let mut geo = Geography {
            districts,
            villages,
            provinces,
        };
        for d in &geo.districts {
            geo.provinces[d.province].persons += d.persons;
        }
        Ok(geo)
    }

    /// The villages of district `index`.
    pub fn villages_of(&self, index: usize) -> &[u64] {
        &self.villages[self.districts[index].villages.clone()]
    }
}

fn data_error(file: &str, line: usize, message: impl Into<String>) -> GenError {
    GenError::Data {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

/// `code -> population` for provinces (2 digits) and regencies (4 digits).
fn parse_population() -> Result<HashMap<u32, u64>, GenError> {
    let mut out = HashMap::new();
    for (i, line) in POPULATION_CSV.lines().enumerate().skip(1) {
        let mut fields = line.split(',');
        let (Some(code), Some(_name), Some(pop)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(data_error("population.csv", i + 1, "too few fields"));
        };
        let code: u32 = code
            .parse()
            .map_err(|_| data_error("population.csv", i + 1, "bad code"))?;
        let pop: u64 = pop
            .parse()
            .map_err(|_| data_error("population.csv", i + 1, "bad population"))?;
        out.insert(code, pop);
    }
    Ok(out)
}

/// `province -> poverty fraction`, with Maluku Utara filled in.
fn parse_poverty() -> Result<HashMap<u8, f64>, GenError> {
    let mut out = HashMap::new();
    for (i, line) in POVERTY_CSV.lines().enumerate().skip(1) {
        let mut fields = line.split(',');
        let code: u8 = fields
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| data_error("provinces.csv", i + 1, "bad code"))?;
        let _name = fields.next();
        let pct = match fields.next() {
            Some("") if code == 82 => MALUKU_UTARA_POVERTY_PCT,
            Some(p) => p
                .parse()
                .map_err(|_| data_error("provinces.csv", i + 1, "bad poverty_pct"))?,
            None => return Err(data_error("provinces.csv", i + 1, "too few fields")),
        };
        out.insert(code, pct / 100.0);
    }
    Ok(out)
}

fn provinces(
    table: &RegionTable,
    population: &HashMap<u32, u64>,
    poverty: &HashMap<u8, f64>,
) -> Result<Vec<Province>, GenError> {
    table
        .level(Level::Province)
        .iter()
        .map(|r| {
            let code = r.code.value() as u8;
            Ok(Province {
                code,
                persons: 0,
                population: population.get(&u32::from(code)).copied().ok_or_else(|| {
                    data_error("population.csv", 0, format!("no row for province {code}"))
                })?,
                poverty: poverty.get(&code).copied().ok_or_else(|| {
                    data_error("provinces.csv", 0, format!("no row for province {code}"))
                })?,
            })
        })
        .collect()
}

fn districts_and_villages(
    table: &RegionTable,
    province_index: &HashMap<u8, usize>,
) -> Result<(Vec<District>, Vec<u64>), GenError> {
    let villages: Vec<u64> = table
        .level(Level::Village)
        .iter()
        .map(|r| r.code.value())
        .collect();
    if villages.is_empty() {
        return Err(data_error("villages.csv", 0, "no villages compiled in"));
    }
    let mut districts = Vec::new();
    for r in table
        .level(Level::District)
        .iter()
        .filter(|r| !r.is_former())
    {
        let code = r.code.value() as u32;
        // Villages are sorted by code, so a district's are one run.
        let lo = villages.partition_point(|&v| v < u64::from(code) * 10_000);
        let hi = villages.partition_point(|&v| v < (u64::from(code) + 1) * 10_000);
        if lo == hi {
            return Err(data_error(
                "villages.csv",
                0,
                format!("district {code} has no villages"),
            ));
        }
        let province = province_index
            .get(&((code / 10_000) as u8))
            .copied()
            .ok_or_else(|| data_error("districts.csv", 0, format!("{code}: unknown province")))?;
        districts.push(District {
            code,
            province,
            villages: lo..hi,
            persons: 0,
            first_person: 0,
            formers: Vec::new(),
            movers: [None; MOVER_BLOCKS],
        });
    }
    Ok((districts, villages))
}

/// Largest-remainder apportionment of `total` over `weights` (ties go to
/// the earlier index). Exact integer arithmetic.
pub fn apportion(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut out = Vec::with_capacity(weights.len());
    let mut rest = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = u128::from(total) * u128::from(w);
        out.push((exact / sum) as u64);
        rest.push((exact % sum, i));
    }
    let missing = total - out.iter().sum::<u64>();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rest.iter().take(missing as usize) {
        out[i] += 1;
    }
    out
}

/// Whether district `district` (`PPRRDD`) lies in `region`.
fn contains(region: RegionCode, district: u32) -> bool {
    let digits = region.level().digits().min(6) as u32;
    u64::from(district / 10u32.pow(6 - digits)) == region.value()
}

fn apportion_persons(
    table: &RegionTable,
    population: &HashMap<u32, u64>,
    districts: &mut [District],
    persons: u64,
    inside: &dyn Fn(u32) -> bool,
) -> Result<(), GenError> {
    let regencies: Vec<u32> = table
        .level(Level::Regency)
        .iter()
        .filter(|r| !r.is_former())
        .map(|r| r.code.value() as u32)
        .collect();
    let weights = regencies
        .iter()
        .map(|&c| {
            let pop = population.get(&c).copied().ok_or_else(|| {
                data_error("population.csv", 0, format!("no row for regency {c}"))
            })?;
            let lives_here = districts
                .iter()
                .any(|d| d.code / 100 == c && inside(d.code));
            Ok(if lives_here { pop } else { 0 })
        })
        .collect::<Result<Vec<u64>, GenError>>()?;
    if weights.iter().all(|&w| w == 0) {
        return Err(GenError::Config("the region holds no district".into()));
    }
    let per_regency = apportion(persons, &weights);
    let mut start = 0;
    for (&regency, &count) in regencies.iter().zip(&per_regency) {
        let end = start + districts[start..].partition_point(|d| d.code / 100 == regency);
        let villages: Vec<u64> = districts[start..end]
            .iter()
            .map(|d| {
                if inside(d.code) {
                    d.villages.len() as u64
                } else {
                    0
                }
            })
            .collect();
        for (d, n) in districts[start..end]
            .iter_mut()
            .zip(apportion(count, &villages))
        {
            d.persons = n;
        }
        start = end;
    }
    let mut first = 0;
    for d in districts.iter_mut() {
        d.first_person = first;
        first += d.persons;
    }
    if first != persons {
        return Err(data_error(
            "regencies.csv",
            0,
            "districts do not cover every regency",
        ));
    }
    Ok(())
}

/// Gives each current district the retired codes it succeeded (Papua's
/// 2022 split: 91xxxx/92xxxx codes now in 93–96).
fn attach_formers(table: &RegionTable, districts: &mut [District]) {
    for r in table.level(Level::District) {
        if let Status::Former {
            successor: Some(s), ..
        } = &r.status
            && let Ok(i) = districts.binary_search_by_key(&(s.value() as u32), |d| d.code)
        {
            districts[i].formers.push(r.code.value() as u32);
        }
    }
}

/// Mover blocks: for block k, the district a mover's NIK was issued in is a
/// fixed bijection of the district of residence (a cyclic shift, within the
/// province for blocks 0–1 and over a seeded national order for 2–3).
/// Because each map is a bijection, only ONE district of residence ever
/// issues block-k serials of a given district: serials stay unique without
/// any shared state.
fn attach_movers(districts: &mut [District], seed: u64) {
    let n = districts.len();
    let mut national: Vec<usize> = (0..n).collect();
    Rng::stream(seed, 0x6D6F_7665, 0).shuffle(&mut national);
    let mut position = vec![0; n];
    for (p, &i) in national.iter().enumerate() {
        position[i] = p;
    }
    let codes: Vec<u32> = districts.iter().map(|d| d.code).collect();
    let mut start = 0;
    while start < n {
        let province = districts[start].province;
        let end = start + districts[start..].partition_point(|d| d.province == province);
        let len = end - start;
        for i in start..end {
            for shift in 1..=2 {
                let target = codes[start + (i - start + shift) % len];
                districts[i].movers[shift - 1] = (target != codes[i]).then_some(target);
            }
            for shift in 1..=2 {
                let target = codes[national[(position[i] + shift) % n]];
                districts[i].movers[shift + 1] = (target != codes[i]).then_some(target);
            }
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact() {
        assert_eq!(apportion(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(apportion(7, &[0, 5, 0]), vec![0, 7, 0]);
        assert_eq!(apportion(0, &[3, 4]), vec![0, 0]);
    }

    #[test]
    fn geography_covers_every_person() {
        let g = Geography::new(1_000_003, 1).unwrap();
        assert_eq!(g.districts.len(), 7285);
        assert_eq!(
            g.districts.iter().map(|d| d.persons).sum::<u64>(),
            1_000_003
        );
        assert!(g.districts.iter().any(|d| !d.formers.is_empty()));
        assert_eq!(g.provinces.len(), 38);
    }

    #[test]
    fn a_region_holds_every_person() {
        let region = RegionCode::parse("3471").unwrap();
        let g = Geography::within(10_000, 1, Some(region)).unwrap();
        let inside: u64 = g
            .districts
            .iter()
            .filter(|d| d.code / 100 == 3471)
            .map(|d| d.persons)
            .sum();
        assert_eq!(inside, 10_000);
        let nowhere = RegionCode::parse("99").unwrap();
        assert!(Geography::within(10, 1, Some(nowhere)).is_err());
    }
}

//! Welfare deciles that follow the geography of poverty.
//!
//! Each family has a latent welfare score `z` drawn from a logistic
//! distribution centred on its province's offset `mu_p`, chosen so that
//! `P(z < 0) = ` the province's BPS poverty rate. The nine national decile
//! cut-offs are the points where the population-weighted mixture of the 38
//! provinces reaches 10 %, 20 %, ... 90 %. A family's decile is its score's
//! national rank: nationally each decile holds 10 % of families (and, as
//! family size does not depend on the score, ≈ 10 % of persons), while
//! Papua Pegunungan (29.7 % poor) has about seven times Bali's (3.8 %)
//! share in decile 1.

use crate::geo::Province;
use crate::math::{logistic, solve_increasing};

/// Per-province cumulative decile distributions (`cdf[p][k]` = P(decile
/// ≤ k+1) in province `p`).
#[derive(Clone, Debug)]
pub struct DecileTable {
    cdf: Vec<[f64; 10]>,
}

impl DecileTable {
    /// Builds the table from the provinces' poverty rates, weighted by
    /// their persons (or population when no persons are planned yet).
    pub fn new(provinces: &[Province]) -> DecileTable {
        let offsets: Vec<f64> = provinces
            .iter()
            .map(|p| -solve_increasing(logistic, p.poverty.clamp(1e-4, 0.9999), -30.0, 30.0))
            .collect();
        let weights: Vec<f64> = provinces.iter().map(|p| p.population as f64).collect();
        let total: f64 = weights.iter().sum();
        let mixture = |t: f64| -> f64 {
            offsets
                .iter()
                .zip(&weights)
                .map(|(mu, w)| w * logistic(t - mu))
                .sum::<f64>()
                / total
        };
        let cuts: Vec<f64> = (1..10)
            .map(|k| solve_increasing(mixture, f64::from(k) / 10.0, -40.0, 40.0))
            .collect();
        let cdf = offsets
            .iter()
            .map(|mu| {
                let mut row = [1.0; 10];
                for (k, cut) in cuts.iter().enumerate() {
                    row[k] = logistic(cut - mu);
                }
                row
            })
            .collect();
        DecileTable { cdf }
    }

    /// The decile (1–10) of a family in province `province` whose uniform
    /// draw is `u`.
    pub fn decile(&self, province: usize, u: f64) -> u8 {
        let row = &self.cdf[province];
        (row.iter().position(|&c| u < c).unwrap_or(9) + 1) as u8
    }

    /// The expected share of families in decile 1 in `province`.
    pub fn poorest_share(&self, province: usize) -> f64 {
        self.cdf[province][0]
    }
}

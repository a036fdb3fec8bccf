//! The few real functions the model needs, written with only exactly rounded
//! IEEE operations (`+ - * /`), so that set-up tables come out bit-identical
//! on every machine. (`f64::exp` calls the platform's libm, which may differ
//! in the last bit; one flipped bit could move a family across a decile
//! cut-off and break byte-identical output.)

const LN_2: f64 = std::f64::consts::LN_2;

/// `e^x` for `|x| <= 700`, accurate to a few ulp.
pub fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    // x = n ln2 + r with |r| <= ln2 / 2, then e^x = 2^n e^r.
    let n = (x / LN_2).round();
    let r = x - n * LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=24 {
        term = term * r / f64::from(k);
        sum += term;
    }
    // 2^n built from its bit pattern: exact for the normal range.
    let bits = ((n as i64 + 1023) as u64) << 52;
    sum * f64::from_bits(bits)
}

/// The logistic function `1 / (1 + e^-x)`.
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// The `x` in `[lo, hi]` where the increasing function `f` reaches
/// `target`, by 100 bisection steps.
pub fn solve_increasing(f: impl Fn(f64) -> f64, target: f64, lo: f64, hi: f64) -> f64 {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_closely() {
        for i in -400..=400 {
            let x = f64::from(i) / 20.0;
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-14, "{x}: {rel}");
        }
    }

    #[test]
    fn bisection_finds_the_root() {
        let x = solve_increasing(logistic, 0.25, -20.0, 20.0);
        assert!((logistic(x) - 0.25).abs() < 1e-12);
    }
}

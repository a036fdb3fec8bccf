//! `tepat nik`: check and explain NIKs.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use serde_json::{Value, json};
use tepat::{Date, Nik, RegionTable};

/// Arguments of `tepat nik`.
#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object per input, one per line.
    #[arg(long)]
    json: bool,
    /// The reference date for the birth-date century (default: today),
    /// `YYYY-MM-DD`.
    #[arg(long, value_parser = parse_date)]
    today: Option<Date>,
    /// NIKs to check; read one per line from stdin when none is given.
    niks: Vec<String>,
}

/// Parses a `YYYY-MM-DD` argument.
pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse_iso(s).map_err(|e| e.to_string())
}

/// Checks every input; exit status 0 when all are valid, 1 otherwise.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let today = args.today.unwrap_or_else(Date::today);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut all_valid = true;
    let mut check = |input: &str, out: &mut dyn Write| -> io::Result<()> {
        let explained = explain(input, today);
        all_valid &= explained["valid"] == Value::Bool(true);
        if args.json {
            writeln!(out, "{explained}")
        } else {
            writeln!(out, "{}", readable(&explained))
        }
    };
    if args.niks.is_empty() {
        for line in io::stdin().lock().lines() {
            let line = line?;
            let input = line.strip_suffix('\r').unwrap_or(&line);
            check(input, &mut out)?;
        }
    } else {
        for input in &args.niks {
            check(input, &mut out)?;
        }
    }
    out.flush()?;
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The JSON explanation of one input (the keys of `tepat nik --json`).
fn explain(input: &str, today: Date) -> Value {
    let nik = match Nik::parse(input) {
        Ok(nik) => nik,
        Err(reason) => return json!({ "nik": input, "valid": false, "error": reason.to_string() }),
    };
    let regions = RegionTable::builtin();
    let province = regions.province(nik.province_code());
    let regency = regions.regency(nik.regency_code());
    let district = regions.district(nik.district_code());
    let former = [regency, district].iter().flatten().any(|r| r.is_former());
    json!({
        "nik": input,
        "valid": true,
        "sex": nik.sex().letter(),
        "birth_date": nik.birth_date(today).to_string(),
        "province_code": format!("{:02}", nik.province_code()),
        "regency_code": format!("{:04}", nik.regency_code()),
        "district_code": format!("{:06}", nik.district_code()),
        "serial": format!("{:04}", nik.serial()),
        "province": province.map(|r| r.name.as_str()),
        "regency": regency.map(|r| r.name.as_str()),
        "district": district.map(|r| r.name.as_str()),
        "former": former,
    })
}

/// One readable line from the JSON explanation.
fn readable(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("?").to_owned();
    if v["valid"] != Value::Bool(true) {
        return format!("{}  invalid: {}", s("nik"), s("error"));
    }
    let name = |k: &str| {
        v[k].as_str()
            .map_or_else(|| "(not on any list)".to_owned(), str::to_owned)
    };
    let sex = if s("sex") == "F" { "female" } else { "male" };
    let former = if v["former"] == Value::Bool(true) {
        ", former code"
    } else {
        ""
    };
    format!(
        "{}  valid: {sex}, born {}, serial {}; issued in {} {} / {} {} / {} {}{former}",
        s("nik"),
        s("birth_date"),
        s("serial"),
        s("district_code"),
        name("district"),
        s("regency_code"),
        name("regency"),
        s("province_code"),
        name("province"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_valid_and_invalid() {
        let today = Date::new(2026, 11, 26).unwrap();
        let v = explain("3201015708900001", today);
        assert_eq!(v["valid"], true);
        assert_eq!(v["birth_date"], "1990-08-17");
        assert_eq!(v["regency"], "Kabupaten Bogor");
        assert_eq!(v["former"], false);
        let v = explain("9101015708900001", today);
        assert_eq!(v["former"], true);
        let v = explain("123", today);
        assert_eq!(v["valid"], false);
        assert!(v["error"].as_str().unwrap().contains("16 digits"));
    }
}

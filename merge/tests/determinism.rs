//! The same inputs give byte-identical outputs whatever the thread count.

mod common;

use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.strip_prefix(dir).unwrap().display().to_string();
        if path.is_dir() {
            out.extend(
                files(&path)
                    .into_iter()
                    .map(|(n, b)| (format!("{name}/{n}"), b)),
            );
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let mut reference = None;
    for threads in [1, 2, 3] {
        let out = common::temp(&format!("det{threads}"));
        let mut args = common::args(common::data(), &out);
        args.threads = threads;
        tepat_merge::run(&args).unwrap();
        let got = files(&out);
        assert!(
            got.len() >= 5,
            "{:?}",
            got.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        match &reference {
            None => reference = Some(got),
            Some(r) => {
                assert_eq!(r.len(), got.len());
                for ((name, a), (other, b)) in r.iter().zip(&got) {
                    assert_eq!(name, other);
                    assert!(a == b, "{name} differs with {threads} threads");
                }
            }
        }
        std::fs::remove_dir_all(out).unwrap();
    }
}

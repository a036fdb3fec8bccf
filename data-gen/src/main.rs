//! `tepat-gen`: placeholder until the generator lands (issue 4).

fn main() {
    eprintln!(
        "tepat-gen: the generator is not built yet (default size would be {} persons)",
        tepat_gen::DEFAULT_PERSONS
    );
    std::process::exit(2);
}

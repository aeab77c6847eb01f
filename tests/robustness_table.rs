//! Runs every bad-input case in `tests/robustness_cases/` and regenerates the table in
//! `docs/robustness.md` from what was observed. Fails if any case misbehaves, or if the
//! committed table differs from the regenerated one; `HUSHWORD_BLESS=1` rewrites it.

// Its `alloc_count` module is this binary's counting global allocator (heap peaks).
mod robustness_cases;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/robustness.md");

const HEADER: &str = "# Robustness: every bad input tried

What hushword does with each hostile, broken or extreme input it was tried on. **Generated**:
`tests/robustness_table.rs` runs the checks in `tests/robustness_cases/` and writes the
*Observed* column from what actually happened (error texts verbatim); `cargo test --release
--test robustness_table` fails if this file is out of date, and
`HUSHWORD_BLESS=1 cargo test --release --test robustness_table` rewrites it. Do not edit by hand.

Beyond these rows: the fuzz targets in `fuzz/` (README, section \"Robustness\") feed arbitrary
WAV/FLAC bytes, model bytes, mutated model metadata and arbitrary sample streams and chunkings,
and `tests/soak.rs` streams 24 hours of generated audio through a detector.

";

/// Escapes a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[test]
fn every_bad_input_behaves_as_documented_and_the_table_is_current() {
    let mut table = String::from(HEADER);
    table.push_str("| Area | Input | Expected | Observed |\n|---|---|---|---|\n");
    let mut failures = Vec::new();
    for case in robustness_cases::all() {
        let observed = match (case.check)() {
            Ok(observed) => observed,
            Err(what) => {
                failures.push(format!("{}: {}: {what}", case.area, case.input));
                format!("FAILED: {what}")
            }
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            case.area,
            cell(case.input),
            cell(case.expected),
            cell(&observed)
        ));
    }
    assert!(
        failures.is_empty(),
        "cases failed:\n{}",
        failures.join("\n")
    );
    if std::env::var_os("HUSHWORD_BLESS").is_some() {
        std::fs::write(DOC, &table).expect("write docs/robustness.md");
        return;
    }
    let committed = std::fs::read_to_string(DOC).unwrap_or_default();
    assert!(
        committed == table,
        "docs/robustness.md is out of date; rerun with HUSHWORD_BLESS=1 and commit it"
    );
}

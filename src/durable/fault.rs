//! Fault points: named steps of a durable write where the crash tests stop
//! the process.

/// Test hook: with the `fault-injection` feature, the process aborts at the
/// named step when `TEPAT_FAULT_AT` names it (the crash tests cut a
/// generation change at every step this way). Without the feature it
/// compiles to nothing.
#[inline]
pub(crate) fn fault_point(name: &str) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("TEPAT_FAULT_AT").is_ok_and(|v| v == name) {
        eprintln!("fault injection: aborting at {name}");
        std::process::abort();
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}

/// Every fault point, in the order a generation change passes them.
pub const FAULT_POINTS: &[&str] = &[
    "snapshot.tmp_created",
    "snapshot.written",
    "snapshot.synced",
    "snapshot.renamed",
    "snapshot.dir_synced",
    "current.tmp_written",
    "current.tmp_synced",
    "current.renamed",
    "current.dir_synced",
    "switch.swapped",
    "finish.live_cleaned",
    "finish.old_removed",
];

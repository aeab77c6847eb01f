//! The counting allocator of the test binaries (`tests/fixtures/alloc_count.rs`) counts: every
//! "allocates nothing" check elsewhere (`frontend_alloc`, `detector_alloc`, the soak's heap band,
//! the robustness table's heap peaks) would pass with a counter stuck at zero.

#[path = "fixtures/alloc_count.rs"]
mod alloc_count;

use alloc_count::{allocations, live_bytes, peak_growth};
use std::hint::black_box;

// One test function: the counters are per thread (allocations) and per process (bytes), and
// other test threads would move the process-wide ones.
#[test]
fn the_counting_allocator_counts() {
    assert_eq!(allocations(|| drop(black_box(vec![0u8; 1]))), 1, "one Vec");
    assert_eq!(
        allocations(|| drop(black_box(vec![0u8; 0]))),
        0,
        "an empty Vec"
    );
    assert_eq!(
        allocations(|| drop(black_box(Box::new(black_box(7u64))))),
        1,
        "one Box"
    );
    let mut growths = 0u64;
    let n = allocations(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1);
        for i in 0..1000 {
            let capacity = v.capacity();
            v.push(black_box(i as u8));
            growths += u64::from(v.capacity() != capacity);
        }
        drop(black_box(v));
    });
    assert!(growths >= 5, "{growths}");
    assert_eq!(n, 1 + growths, "each growth (a realloc) is counted");

    // Zeroed allocations count, and so do bytes.
    let ((), peak) = peak_growth(|| {
        let n = allocations(|| drop(black_box(vec![0u32; 1 << 20])));
        assert_eq!(n, 1, "alloc_zeroed");
    });
    assert!(
        (4 << 20..(4 << 20) + (64 << 10)).contains(&peak),
        "peak growth {peak} bytes for a 4 MiB vector"
    );
    let before = live_bytes();
    let held = black_box(vec![1u8; 3 << 20]);
    let grown = live_bytes() - before;
    drop(held);
    assert!(
        (3 << 20..(3 << 20) + (64 << 10)).contains(&grown),
        "live bytes grew {grown} for a 3 MiB vector"
    );

    // Loading a tract model allocates (graph, tensors, plan): the counter sees a real workload.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models/energy.onnx"
    );
    let n = allocations(|| drop(black_box(hushword::WakeWordModel::from_path(path).unwrap())));
    assert!(n > 100, "loading a tract model: {n} allocations");
}

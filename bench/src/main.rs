//! berth benchmarks (being written).
fn main() {}

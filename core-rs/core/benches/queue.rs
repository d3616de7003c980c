use criterion::{criterion_group, criterion_main, Criterion};

// Filled by the area that owns this module.
fn benches(_c: &mut Criterion) {}

criterion_group!(group, benches);
criterion_main!(group);

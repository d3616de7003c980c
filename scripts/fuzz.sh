#!/usr/bin/env bash
# Run every cargo-fuzz target of payedge-core for a bounded time each.
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP=1 enables them on stable.
set -euo pipefail
seconds=${1:-30}
cd "$(dirname "$0")/../core-rs/core/fuzz"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked -q
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "== fuzz $target for ${seconds}s"
  # Seed inputs checked in under seeds/<target> (the corpus itself is not kept in git).
  corpora=()
  if [ -d "seeds/$target" ]; then
    mkdir -p "corpus/$target"
    corpora=("corpus/$target" "seeds/$target")
  fi
  cargo fuzz run "$target" ${corpora[@]+"${corpora[@]}"} -- -max_total_time="$seconds" -rss_limit_mb=2048
done

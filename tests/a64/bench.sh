#!/bin/sh
# Interpreter speed benchmark (not a timed test): guest MIPS of a64-user on a loop-heavy
# static program, next to qemu-aarch64's wall time for reference.
# Usage: tests/a64/bench.sh   (from the repository root; builds a64-user in release mode)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build -q -p launcher --release --bin a64-user
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
aarch64-linux-gnu-gcc -O2 -static -o "$work/bench_loop" "$root/tests/a64/bench_loop.c"
echo "== a64-user (A64_STATS=1 $target/release/a64-user bench_loop)"
A64_STATS=1 "$target/release/a64-user" "$work/bench_loop"
echo "== qemu-aarch64 (wall time)"
/usr/bin/time -f "%e s wall, %U s user" qemu-aarch64 "$work/bench_loop"

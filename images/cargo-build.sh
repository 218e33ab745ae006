#!/bin/sh
# The release build the images copy, in one place: both Dockerfiles run it,
# and so does e2e/tests/images.rs, which starts the binaries it makes.
#
#   sh images/cargo-build.sh PACKAGE     (from the workspace root)
#
# One package per run, as each image builds it: cargo resolves the
# dependencies' features for the packages it is asked for, so building two
# at once would make other binaries.
set -eu
[ $# -eq 1 ] || { echo "usage: sh images/cargo-build.sh PACKAGE" >&2; exit 2; }
# Reproducible: nothing of the machine in the binary. The source folder and
# cargo's home are renamed in paths (panic messages, file!()); no incremental
# state; symbols stripped (debug info is off in release already); the
# dependencies exactly as Cargo.lock says (--locked).
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_RELEASE_STRIP=symbols
unset CARGO_ENCODED_RUSTFLAGS
export RUSTFLAGS="--remap-path-prefix=$(pwd)=/shopfleet --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
exec "${CARGO:-cargo}" build --release --locked -p "$1"

#!/usr/bin/env bash
# `make coverage`: line coverage of the Rust code (docs/quality.md, "Coverage").
# A measurement, not a gate: it is not part of `make test`.
#
#   unit         the crates' unit tests alone: `cargo test --workspace --lib --bins`
#                (none of them needs the platform)
#   integration  the whole suite as `make test` runs it, inside a fresh local
#                platform: `shopfleet-local exec -- cargo test --workspace`;
#                the operator and API processes the tests start are
#                instrumented too and their profiles counted
#
# Usage: scripts/coverage.sh [unit|integration|all]   (default: all)
#
# Tool: cargo-llvm-cov (source-based coverage, -C instrument-coverage) with
# Debian's llvm-profdata and llvm-cov of the LLVM major rustc is built on
# (rustup's llvm-tools component is not available here). Both are installed
# when missing: llvm-<major> with apt-get, cargo-llvm-cov with `cargo install`.
#
# Counted: the sources of contract, operator, api and e2e (e2e's library is
# the local platform and its `shopfleet-local` binary). Not counted: bench/,
# every tests/ directory (integration tests and their support code) and the
# dependencies. Inline `#[cfg(test)]` modules in src/ files cannot be left out
# by file name and are counted.
#
# Everything builds in a target dir of its own, so the normal builds stay warm:
# $SHOPFLEET_COVERAGE_DIR, else "${CARGO_TARGET_DIR:-target}-coverage". The
# reports (HTML, lcov, a summary) go to <that dir>/coverage/{unit,integration}/.
#
# Environment: SHOPFLEET_COVERAGE_DIR, LLVM_COV and LLVM_PROFDATA (binaries of
# rustc's LLVM major to use), CARGO_LLVM_COV (a cargo-llvm-cov binary).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LLVM_COV_VERSION="0.9.1" # cargo-llvm-cov
UNIT_TARGET=80
INTEGRATION_TARGET=70
CRATES=(contract operator api e2e)

say() { echo "==> $*"; }
die() { echo "error: $*" >&2; exit 1; }

MODE="${1:-all}"
case "$MODE" in
    unit | integration | all) ;;
    *) die "unknown measurement '$MODE': use unit, integration or all" ;;
esac

command -v cargo >/dev/null || die "cargo is missing: install Rust 1.90+ (https://rustup.rs)"
[[ -f web/dist/index.html ]] || die "web/dist is missing: the API embeds the web app; run \`make web\` first"

# ------------------------------------------------------- llvm-profdata/-cov
# The profiles rustc's instrumentation writes are read only by the LLVM major
# it was built with.
LLVM_MAJOR="$(rustc --version --verbose | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
[[ -n "$LLVM_MAJOR" ]] || die "could not read the LLVM version from \`rustc --version --verbose\`"

llvm_major_of() { "$1" --version 2>/dev/null | sed -n 's/.*LLVM version \([0-9]*\).*/\1/p' | head -n1; }

if [[ -z "${LLVM_COV:-}" || -z "${LLVM_PROFDATA:-}" ]]; then
    LLVM_BIN="/usr/lib/llvm-$LLVM_MAJOR/bin"
    if [[ ! -x "$LLVM_BIN/llvm-cov" || ! -x "$LLVM_BIN/llvm-profdata" ]]; then
        say "Installing Debian's llvm-$LLVM_MAJOR (llvm-cov, llvm-profdata; once per machine)"
        command -v apt-get >/dev/null \
            || die "llvm-cov and llvm-profdata of LLVM $LLVM_MAJOR are missing and there is no apt-get: install them and set LLVM_COV and LLVM_PROFDATA"
        [[ "$(id -u)" == 0 ]] || die "installing llvm-$LLVM_MAJOR needs root: run \`apt-get install llvm-$LLVM_MAJOR\` as root, or set LLVM_COV and LLVM_PROFDATA"
        if [[ -z "$(apt-cache policy "llvm-$LLVM_MAJOR" 2>/dev/null | sed -n 's/^ *Candidate: \(.*\)/\1/p' | grep -v '(none)')" ]]; then
            apt-get update -qq || true
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "llvm-$LLVM_MAJOR" >/dev/null \
            || die "could not install llvm-$LLVM_MAJOR with apt-get (see above). rustc is built on LLVM $LLVM_MAJOR; install that major's llvm-cov and llvm-profdata and set LLVM_COV and LLVM_PROFDATA"
    fi
    LLVM_COV="$LLVM_BIN/llvm-cov"
    LLVM_PROFDATA="$LLVM_BIN/llvm-profdata"
fi
for tool in "$LLVM_COV" "$LLVM_PROFDATA"; do
    [[ -x "$tool" ]] || die "$tool is missing"
    [[ "$(llvm_major_of "$tool")" == "$LLVM_MAJOR" ]] \
        || die "$tool is LLVM $(llvm_major_of "$tool"), rustc's is $LLVM_MAJOR: profiles only read with the same major"
done
export LLVM_COV LLVM_PROFDATA

# ------------------------------------------------------------ cargo-llvm-cov
llvm_cov_version() { "$1" llvm-cov --version 2>/dev/null | awk '{print $2}'; }
COV_BIN="${CARGO_LLVM_COV:-${CARGO_HOME:-$HOME/.cargo}/bin/cargo-llvm-cov}"
if [[ ! -x "$COV_BIN" || "$(llvm_cov_version "$COV_BIN")" != "$LLVM_COV_VERSION" ]]; then
    say "Installing cargo-llvm-cov $LLVM_COV_VERSION (once per machine, ~3 min)"
    cargo install --locked cargo-llvm-cov --version "$LLVM_COV_VERSION" \
        || die "could not install cargo-llvm-cov $LLVM_COV_VERSION (see cargo's output above). Install it by hand with
    cargo install --locked cargo-llvm-cov --version $LLVM_COV_VERSION
or point CARGO_LLVM_COV at such a binary."
    COV_BIN="${CARGO_HOME:-$HOME/.cargo}/bin/cargo-llvm-cov"
fi
llvm_cov() { "$COV_BIN" llvm-cov "$@"; }

# ---------------------------------------------------------- the environment
COV_DIR="${SHOPFLEET_COVERAGE_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}-coverage}"
mkdir -p "$COV_DIR"
COV_DIR="$(cd "$COV_DIR" && pwd)"
export CARGO_TARGET_DIR="$COV_DIR"
# RUSTC_WRAPPER instruments the workspace's crates only; LLVM_PROFILE_FILE
# (with %p and %m) gives every instrumented process, tests and the binaries
# they start, a profile of its own in $COV_DIR.
# shellcheck disable=SC1090
source <(llvm_cov show-env --sh 2>/dev/null)
REPORTS="$COV_DIR/coverage"
mkdir -p "$REPORTS"

# The files left out: bench/ and every tests/ directory of the workspace.
root_re="$(printf '%s' "$ROOT" | sed 's/[][\.*^$+?(){}|]/\\&/g')"
IGNORE="^$root_re/(bench/|[^/]+/tests/)"

say "Coverage with cargo-llvm-cov $(llvm_cov_version "$COV_BIN"), $("$LLVM_COV" --version | sed -n 's/.*LLVM version \(.*\)/LLVM \1/p' | head -n1) (rustc $(rustc --version | awk '{print $2}')), in $COV_DIR"
say "Building Shopfleet and its tests, instrumented"
cargo build --locked --workspace --all-targets

# ------------------------------------------------------------------ reports
# Instrumented processes whose environment was cleared (the tenant APIs,
# started with exactly their Deployment's variables) write
# default_<hash>_<pid>.profraw into their working directory: counted too.
gather_strays() {
    local f n=0
    while IFS= read -r -d '' f; do
        mv "$f" "$COV_DIR/main-stray-$n-$(basename "$f")"
        n=$((n + 1))
    done < <(find "$ROOT" -maxdepth 3 -name 'default_*.profraw' -print0)
    ((n == 0)) || echo "    ($n profiles of processes started with a cleared environment gathered)"
}

# Lines per crate, from an lcov file: "crate covered total".
per_crate() {
    awk -v root="$ROOT/" '
        /^SF:/ { path = substr($0, 4); sub("^" root, "", path); split(path, p, "/"); crate = p[1] }
        /^LF:/ { total[crate] += substr($0, 4) }
        /^LH:/ { hit[crate] += substr($0, 4) }
        END { for (c in total) print c, hit[c] + 0, total[c] }
    ' "$1"
}

# The files with the most uncovered lines: "uncovered total path".
uncovered_files() {
    awk -v root="$ROOT/" '
        /^SF:/ { path = substr($0, 4); sub("^" root, "", path) }
        /^LF:/ { lf = substr($0, 4) }
        /^LH:/ { lh = substr($0, 4) }
        /^end_of_record/ { if (lf > lh) print lf - lh, lf, path }
    ' "$1" | sort -rn | head -n "${2:-15}"
}

pct() { awk -v h="$1" -v t="$2" 'BEGIN { if (t == 0) print "n/a"; else printf "%.1f %%", 100 * h / t }'; }

# report NAME TARGET SECONDS: the HTML and lcov reports, then the summary.
report() {
    local name="$1" target="$2" seconds="$3" out="$REPORTS/$1"
    rm -rf "$out"
    mkdir -p "$out"
    gather_strays
    llvm_cov report --ignore-filename-regex "$IGNORE" --lcov --output-path "$out/lcov.info" >/dev/null
    llvm_cov report --ignore-filename-regex "$IGNORE" --html --output-dir "$out" >/dev/null
    {
        echo "$name coverage (lines), target ≥ $target %; tests ran in ${seconds}s"
        printf '  %-10s %10s %10s %9s\n' crate covered lines coverage
        local all_hit=0 all_total=0 crate hit total
        for crate in "${CRATES[@]}"; do
            read -r hit total < <(per_crate "$out/lcov.info" | awk -v c="$crate" '$1 == c { print $2, $3 }')
            hit="${hit:-0}" total="${total:-0}"
            printf '  %-10s %10s %10s %9s\n' "$crate" "$hit" "$total" "$(pct "$hit" "$total")"
            all_hit=$((all_hit + hit)) all_total=$((all_total + total))
        done
        local verdict="met"
        awk -v h="$all_hit" -v t="$all_total" -v g="$target" 'BEGIN { exit !(t > 0 && 100 * h / t >= g) }' || verdict="NOT met"
        printf '  %-10s %10s %10s %9s   target ≥ %s %%: %s\n' total "$all_hit" "$all_total" "$(pct "$all_hit" "$all_total")" "$target" "$verdict"
        echo "  Most uncovered lines (uncovered / lines, file):"
        uncovered_files "$out/lcov.info" 15 | awk '{ printf "    %6d / %-6d %s\n", $1, $2, $3 }'
        echo "  Reports: $out/index.html, $out/lcov.info"
    } | tee "$out/summary.txt"
}

# run NAME COMMAND...: runs the tests, keeping their output and status.
FAILED=0
run() {
    local name="$1" status=0
    shift
    llvm_cov clean --profraw-only
    find "$ROOT" -maxdepth 3 -name 'default_*.profraw' -delete
    local start=$SECONDS
    "$@" 2>&1 | tee "$COV_DIR/$name-tests.log" || status=$?
    ELAPSED=$((SECONDS - start))
    if ((status != 0)); then
        FAILED=1
        echo "warning: the $name tests failed (exit $status); coverage is reported all the same. Failed:" >&2
        grep -E '^test .* FAILED$|^error: test failed' "$COV_DIR/$name-tests.log" >&2 || true
    fi
}

if [[ "$MODE" == unit || "$MODE" == all ]]; then
    say "Unit tests (cargo test --workspace --lib --bins), instrumented"
    run unit cargo test --locked --workspace --lib --bins --no-fail-fast
    report unit "$UNIT_TARGET" "$ELAPSED"
fi

if [[ "$MODE" == integration || "$MODE" == all ]]; then
    say "Every test inside a fresh local platform, instrumented (as \`make test\` runs them)"
    run integration "$COV_DIR/debug/shopfleet-local" exec -- cargo test --locked --workspace --no-fail-fast
    report integration "$INTEGRATION_TARGET" "$ELAPSED"
fi

if ((FAILED)); then
    die "some tests failed (listed above; logs in $COV_DIR/*-tests.log): the figures count what ran"
fi

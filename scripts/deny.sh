#!/usr/bin/env bash
# `make deny`: the dependency gate (docs/quality.md, "Dependencies").
#
#   1. cargo-deny 0.20.2 (installed once per machine with `cargo install`)
#      checks the Rust graph against deny.toml: advisories from the offline
#      RustSec snapshot, licenses, bans (duplicates, wildcards) and sources.
#   2. web/scripts/licenses.mjs checks the npm packages' licenses and that
#      docs/licenses.md lists them all.
#
# Fully offline: no advisory database is fetched, cargo runs --offline --locked.
#
# Where the RustSec snapshot comes from, first found wins:
#   $SHOPFLEET_ADVISORY_DB           a snapshot laid out as ../shared/advisory-db
#                                    is (crates/ at its top); used as it is
#   <repo>/../shared/advisory-db     copied into the cache below when its
#                                    snapshot commit differs from the cached one;
#                                    for a clone of a local checkout (CI's clean
#                                    clone of main), also the one beside that
#                                    checkout (<origin>/../shared/advisory-db)
#   $SHOPFLEET_CACHE/advisory-db     the per-machine cache (default
#                                    ~/.cache/shopfleet/advisory-db)
#
# Environment: CARGO_DENY (a cargo-deny binary to use), SHOPFLEET_ADVISORY_DB,
# SHOPFLEET_CACHE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VERSION="0.20.2"
# cargo-deny keeps each database in <db-path>/<name>-<hash of its URL>; this is
# the one for the URL in deny.toml's db-urls.
DB_NAME="advisory-db-3157b0e258782691"
CACHE_ROOT="${SHOPFLEET_CACHE:-$HOME/.cache/shopfleet}"
CACHE="$CACHE_ROOT/advisory-db"

say() { echo "==> $*"; }
die() { echo "error: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is missing: install Rust 1.90+ (https://rustup.rs)"
command -v node >/dev/null || die "node is missing: Node.js 20+ checks the npm packages' licenses (Debian: apt-get install nodejs npm)"

# ---------------------------------------------------------------- cargo-deny
deny_version() { "$1" --version 2>/dev/null | awk '{print $2}'; }

DENY="${CARGO_DENY:-}"
if [[ -z "$DENY" ]]; then
    for candidate in "$(command -v cargo-deny || true)" "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-deny"; do
        if [[ -n "$candidate" && -x "$candidate" && "$(deny_version "$candidate")" == "$VERSION" ]]; then
            DENY="$candidate"
            break
        fi
    done
fi
if [[ -z "$DENY" ]]; then
    found="$(command -v cargo-deny || true)"
    [[ -n "$found" ]] && echo "note: $found is cargo-deny $(deny_version "$found"); deny.toml is written for $VERSION"
    say "Installing cargo-deny $VERSION (once per machine, ~3 min)"
    cargo install --locked cargo-deny --version "$VERSION" \
        || die "could not install cargo-deny $VERSION (see cargo's output above). Install it by hand with
    cargo install --locked cargo-deny --version $VERSION
or point CARGO_DENY at a cargo-deny $VERSION binary."
    DENY="${CARGO_HOME:-$HOME/.cargo}/bin/cargo-deny"
fi
[[ -x "$DENY" ]] || die "cargo-deny not found at $DENY"
[[ "$(deny_version "$DENY")" == "$VERSION" ]] \
    || die "$DENY is cargo-deny $(deny_version "$DENY"), not $VERSION (deny.toml is written for $VERSION)"

# ----------------------------------------------------- the advisory snapshot
# A snapshot's identity: the commit its README names, else a digest of its
# file list (names, sizes, times), which is cheap.
stamp_of() {
    local commit
    commit="$(sed -n 's/^- Snapshot commit: `\([0-9a-f]*\)`.*/\1/p' "$1/README.md" 2>/dev/null | head -n1)"
    if [[ -n "$commit" ]]; then
        echo "commit $commit"
    else
        echo "files $(cd "$1" && find crates -type f -printf '%P %s %T@\n' | sort | sha256sum | cut -c1-16)"
    fi
}
# The snapshot's date, from its README (for the age printed and the
# last-fetch time cargo-deny reads); empty if it names none.
date_of() {
    sed -n 's/^- Snapshot date (commit date): \*\*\([^*]*\)\*\*.*/\1/p' "$1/README.md" 2>/dev/null | head -n1
}

# Lay a snapshot out as cargo-deny reads it: <dest>/$DB_NAME/crates plus an
# empty .git/FETCH_HEAD whose modification time is the snapshot's date (no git
# repository is needed).
lay_out() { # <snapshot> <dest>
    local src="$1" dest="$2" when
    mkdir -p "$dest/$DB_NAME/.git"
    cp -R "$src/crates" "$dest/$DB_NAME/crates"
    cp "$src"/README.md "$src"/LICENSE.txt "$dest/" 2>/dev/null || true
    chmod -R u+w "$dest" # shared/ is read-only; the copy must stay removable
    : > "$dest/$DB_NAME/.git/FETCH_HEAD"
    when="$(date_of "$src")"
    if [[ -n "$when" ]]; then touch -d "$when" "$dest/$DB_NAME/.git/FETCH_HEAD"; fi
    stamp_of "$src" > "$dest/SNAPSHOT"
}

SHARED="$ROOT/../shared/advisory-db"
ORIGIN="$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)"
ORIGIN="${ORIGIN#file://}"
if [[ ! -d "$SHARED/crates" && "$ORIGIN" == /* && -d "$ORIGIN/../shared/advisory-db/crates" ]]; then
    SHARED="$(cd "$ORIGIN/../shared/advisory-db" && pwd)"
fi
TMP=""
trap '[[ -z "$TMP" ]] || rm -rf "$TMP"' EXIT
if [[ -n "${SHOPFLEET_ADVISORY_DB:-}" ]]; then
    [[ -d "$SHOPFLEET_ADVISORY_DB/crates" ]] \
        || die "SHOPFLEET_ADVISORY_DB=$SHOPFLEET_ADVISORY_DB has no crates/ folder: point it at a RustSec advisory-db snapshot (as ../shared/advisory-db)"
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/shopfleet-deny.XXXXXX")"
    lay_out "$SHOPFLEET_ADVISORY_DB" "$TMP"
    DB="$TMP"
    FROM="$SHOPFLEET_ADVISORY_DB (SHOPFLEET_ADVISORY_DB)"
elif [[ -d "$SHARED/crates" ]]; then
    if [[ ! -f "$CACHE/SNAPSHOT" || "$(cat "$CACHE/SNAPSHOT")" != "$(stamp_of "$SHARED")" ]]; then
        say "Copying the RustSec snapshot $(stamp_of "$SHARED") into $CACHE"
        mkdir -p "$CACHE_ROOT"
        next="$(mktemp -d "$CACHE_ROOT/advisory-db.new.XXXXXX")"
        lay_out "$SHARED" "$next"
        rm -rf "$CACHE"
        mv "$next" "$CACHE"
    fi
    DB="$CACHE"
    FROM="$(cd "$SHARED" && pwd), cached in $CACHE"
elif [[ -d "$CACHE/$DB_NAME/crates" ]]; then
    DB="$CACHE"
    FROM="$CACHE (the per-machine cache; ../shared/advisory-db is not beside this clone)"
else
    die "no RustSec advisory database: none of
    \$SHOPFLEET_ADVISORY_DB            (unset)
    $SHARED
    ${ORIGIN:-(no origin)}/../shared/advisory-db
    $CACHE
exists. Provide the offline snapshot (a copy of the RustSec advisory-db with its
crates/ folder, as ../shared/advisory-db), either by setting
SHOPFLEET_ADVISORY_DB=/path/to/advisory-db, or by running \`make deny\` once from
a clone that has ../shared/advisory-db beside it, which fills the cache."
fi

WHEN="$(date_of "$DB")"
if [[ -n "$WHEN" ]]; then
    AGE=$(( ( $(date +%s) - $(date -d "$WHEN" +%s) ) / 86400 ))
    AS_OF="${WHEN%%T*} ($AGE days old)"
else
    AS_OF="of an unknown date"
fi

# cargo metadata needs the sources of every locked crate, those for other
# platforms too; a build fetches only its own. Fetch once if any is missing
# (crates.io only, never the advisory database).
if ! cargo metadata --offline --locked --format-version 1 >/dev/null 2>&1; then
    say "Fetching the locked crates' sources cargo-deny reads (cargo fetch --locked)"
    cargo fetch --locked || die "'cargo fetch --locked' failed: cargo-deny needs every locked crate's source"
fi

# ------------------------------------------------------------------- checks
say "Checking the Rust dependencies (cargo-deny $VERSION: advisories, bans, licenses, sources)"
echo "    RustSec snapshot $(cat "$DB/SNAPSHOT" 2>/dev/null || echo '?') as of $AS_OF, from $FROM"
echo "    advisories published after that date are not known to this check"
SHOPFLEET_DENY_DB="$DB" "$DENY" --offline --locked --workspace --log-level warn \
    --config "$ROOT/deny.toml" check --show-stats -D unmatched-skip -D unnecessary-skip \
    || die "cargo-deny found problems (above); fix them or add an exception with its reason to deny.toml"

say "Checking the npm packages' licenses (web/scripts/licenses.mjs)"
node "$ROOT/web/scripts/licenses.mjs"

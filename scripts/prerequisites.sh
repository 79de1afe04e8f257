#!/usr/bin/env bash
# What must be on the machine before `make` can set up the rest, checked with one message per
# missing piece: the Rust toolchain (rustup, for the aarch64 target the Lambda build adds), a C
# compiler and linker (crates with C parts, and the linker rustc calls), Python 3 with venv and
# pip (the tools the tests install from PyPI), make. Network access to the registries (crates.io,
# PyPI) is checked where it is first needed: `cargo fetch`. No Docker is needed.
set -uo pipefail
cd "$(dirname "$0")/.."
required_rust=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
missing=0
fail() { echo "missing prerequisite: $*" >&2; missing=1; }

# A version as one comparable number: 1.95.0 -> 1095000.
version_number() { awk -F. '{ printf "%d%03d%03d\n", $1, $2, $3 }' <<<"$1"; }

if ! command -v rustup >/dev/null; then
  fail "rustup (the Rust toolchain installer; the Lambda build adds the aarch64-unknown-linux-gnu target with it): see https://rustup.rs"
fi
if ! rustc_version=$(rustc --version 2>/dev/null); then
  fail "rustc and cargo $required_rust or newer: rustup toolchain install stable"
else
  found=$(awk '{ print $2 }' <<<"$rustc_version")
  if [ "$(version_number "${found%%-*}")" -lt "$(version_number "$required_rust")" ]; then
    fail "Rust $required_rust or newer (found $found): rustup update stable"
  fi
fi
if ! command -v cc >/dev/null; then
  fail "a C compiler and linker as cc (rustc links with it): Debian/Ubuntu apt install build-essential, Fedora dnf install gcc, macOS xcode-select --install"
fi
if ! command -v python3 >/dev/null; then
  fail "Python 3.9 or newer as python3: Debian/Ubuntu apt install python3 python3-venv"
elif ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
  fail "Python 3.9 or newer (found $(python3 --version 2>&1))"
elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  fail "Python's venv module with pip (ensurepip): Debian/Ubuntu apt install python3-venv"
fi
exit "$missing"

#!/usr/bin/env bash
# Install the real components the tests start (Redis, Mosquitto, Chromium, wrk, PostgreSQL 15) and the
# tools they use (pdftoppm/pdftotext from poppler-utils and tesseract from tesseract-ocr, which brings
# its English data: the invoice PDF test reads page 1 by OCR; curl, jq and the Mosquitto clients: the
# docs' tutorials, which tests/docs runs as written)
# from Debian's packages, only when they are absent; and what `make setup` itself needs on a fresh
# Debian: python3-venv (`python3 -m venv` with its ensurepip) and a C linker for the Rust build
# (build-essential).
set -euo pipefail
declare -A pkg_for=(
  [redis-server]=redis-server
  [mosquitto]=mosquitto
  [chromium]=chromium
  [wrk]=wrk
  [pdftoppm]=poppler-utils
  [tesseract]=tesseract-ocr
  [mosquitto_pub]=mosquitto-clients
  [curl]=curl
  [jq]=jq
)
missing=()
# PostgreSQL 15's server binaries live outside PATH (tests/support/postgres.py runs initdb there).
if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
  missing+=(postgresql-15 postgresql-client-15)
fi
# Debian ships the venv module without ensurepip until python3-venv is installed: check both.
python=${PYTHON:-python3}
if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
# rustc links through the system C compiler driver (`cc`).
if ! command -v cc >/dev/null 2>&1; then
  missing+=(build-essential)
fi
for bin in "${!pkg_for[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$bin" ]]; then
    missing+=("${pkg_for[$bin]}")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing from Debian: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

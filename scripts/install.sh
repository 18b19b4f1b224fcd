#!/usr/bin/env bash
# Installs what the phone and its test suite need on Debian 12 / Raspberry Pi OS: Debian packages, then npm packages.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests and the simulated lab use, and why:
#   socat                      serial pty pairs for the front-panel link tests
#   alsa-utils                 arecord/aplay/amixer: the ALSA audio driver spawns them
#   pulseaudio(-utils), libasound2-plugins   a null sink with real 10/20 ms pacing for audio tests
#   sox                        tone generation/inspection in audio tests and benches
#   python3 make g++           node-gyp builds the native modules (epoll for onoff, i2c-bus)
#   linux-libc-dev             the kernel's input-event-codes.h, which the key-code table is checked against
#   chromium                   the browser test of the simulator's phone face (driven by playwright-core; no download)
#   libxml2-utils              xmllint: every PIDF-LO / HELD document the phone and the LIS emit is schema-checked
#   tcpdump                    the LLDP-MED listener reads LLDP frames off the link through it (phone and tests)
#   lldpd iproute2             a real LLDP-MED "switch" on a veth pair in the location tests
# kamailio (registrar/proxy), baresip-core (far-end phone), sip-tester (sipp), openssl (lab TLS certificate): real SIP peers
APT_PACKAGES=(socat alsa-utils pulseaudio pulseaudio-utils libasound2-plugins sox python3 make g++ linux-libc-dev chromium kamailio kamailio-tls-modules baresip-core sip-tester openssl libxml2-utils tcpdump lldpd iproute2)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: Debian packages missing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "install: not root and no sudo: install them with: apt-get install ${missing[*]}" >&2; exit 1
    fi
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # lldpd is only a test peer (a switch on a veth pair): its system service would talk LLDP on every interface,
  # into the tests' links too. Keep it stopped.
  if [[ " ${missing[*]} " == *" lldpd "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now lldpd >/dev/null 2>&1 || true
  fi
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("install: Node >= 20.19 is needed, this is "+process.version); process.exit(1) }'

# `npm install` rather than `npm ci`: the lock file pins every version, but @napi-rs/canvas lists prebuilt
# packages for platforms this registry does not serve (darwin, win32, musl), and `npm ci` refuses a lock without
# them while `npm install` skips the missing optional ones and installs the same pinned tree.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
echo "install: ready"

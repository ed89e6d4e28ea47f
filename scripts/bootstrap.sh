#!/usr/bin/env bash
# Installs the Debian packages Holdfast runs on and tests with, if any are missing.
# Idempotent; needs root (or sudo) only when something is actually missing.
#   bubblewrap   the app sandbox          util-linux  prlimit (resource limits)
#   python3 htop the demo catalog's apps  chromium    web client tests, and `npm start` without Electron
#   tmux         CLI tests drive `holdfast connect` in it, as a person would
#   etcd-server etcd-client  the control plane of a cluster (`holdfast cluster`, cluster tests)
#   tigervnc-standalone-server  Xvnc: the display of each graphical (rfb) app
#   matchbox-window-manager     makes a graphical app fill its display
#   xterm x11-apps xclip        the demo's graphical apps (XTerm, xedit); clipboard in tests
#   mousepad                    the demo's GTK editor: its print dialog prints to the session's printer
#   novnc websockify            the reference the RFB benchmark measures against
#   gcc libc6-dev               builds the lockstep shim (broker/host/lockstep/) at npm run build
#   x11-utils                   xprop: a GUI app starts once its window manager holds the screen
#   e2fsprogs                   mkfs.ext4: each session's home is a volume with a quota (broker/host/home-volume.ts)
#   libglib2.0-bin              gio: the lockstep shim's test saves files as GTK apps do (broker/host/lockstep-clock.test.ts)
#   ghostscript enscript        printing: PostScript/PDF and text to PDF (broker/host/print-convert.ts); poppler-utils: pdftotext in its tests
#   python3-tk                  the GUI bench's animation (bench/gui-apps.ts)
#   pulseaudio pulseaudio-utils sound: each app with sound gets its own server in its sandbox; parec reads it (broker/host/sound-capture.ts)
set -euo pipefail

packages=(bubblewrap util-linux python3 htop chromium tmux fonts-dejavu-core procps etcd-server etcd-client
  tigervnc-standalone-server matchbox-window-manager xterm x11-apps xclip novnc websockify gcc libc6-dev e2fsprogs x11-utils
  ghostscript enscript poppler-utils libglib2.0-bin mousepad pulseaudio pulseaudio-utils python3-tk)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "bootstrap: need root to install ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

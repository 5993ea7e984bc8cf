#!/usr/bin/env bash
# Add MMLA Studio to the desktop's application menu (per user, no root needed).
#
#     bash packaging/install-desktop-entry.sh                 # the .venv's mmla-studio
#     bash packaging/install-desktop-entry.sh --exec dist/mmla-studio/mmla-studio   # frozen build
#     bash packaging/install-desktop-entry.sh --uninstall
#
# Installs resources/mmla-studio.desktop into $XDG_DATA_HOME/applications (default
# ~/.local/share/applications) with Exec pointing at the chosen binary, and the icon into the
# hicolor theme (scalable SVG + PNGs from packaging/icons). The window groups under this icon
# because the app's identity matches the entry: desktop file name "mmla-studio" (the Wayland
# app id) and X11 WM_CLASS instance "mmla-studio" = StartupWMClass.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data_home/applications"
icons="$data_home/icons/hicolor"
name="mmla-studio"

refresh_caches() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$apps/$name.desktop" "$icons/scalable/apps/$name.svg" "$icons"/*/apps/"$name.png"
  refresh_caches
  echo "removed $apps/$name.desktop and its icons"
  exit 0
fi

exec_path=""
if [ "${1:-}" = "--exec" ]; then
  exec_path="${2:?--exec needs the path of the mmla-studio binary}"
elif [ -x "$repo/.venv/bin/mmla-studio" ]; then
  exec_path="$repo/.venv/bin/mmla-studio"
else
  exec_path="$(command -v mmla-studio || true)"
fi
[ -n "$exec_path" ] && [ -x "$exec_path" ] || {
  echo "install-desktop-entry: no mmla-studio binary found (pip install . or give --exec PATH)" >&2
  exit 1
}
exec_path="$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")"
case "$exec_path" in
  *[[:space:]]*) program="\"$exec_path\"" ;;  # quoted per the desktop entry spec
  *) program="$exec_path" ;;
esac

mkdir -p "$apps" "$icons/scalable/apps"
# keep the entry's field codes (%f): only the program becomes an absolute path
sed "s|^Exec=$name|Exec=$program|" "$repo/resources/$name.desktop" > "$apps/$name.desktop"
chmod 644 "$apps/$name.desktop"
cp "$repo/resources/icons/$name.svg" "$icons/scalable/apps/$name.svg"
for png in "$repo"/packaging/icons/"$name"-*.png; do
  size="$(basename "$png" .png)"; size="${size##*-}"
  mkdir -p "$icons/${size}x${size}/apps"
  cp "$png" "$icons/${size}x${size}/apps/$name.png"
done
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$apps/$name.desktop"
fi
refresh_caches
echo "installed $apps/$name.desktop (Exec=$(grep -m1 "^Exec=" "$apps/$name.desktop" | cut -d= -f2-)) and icons under $icons"

"""Render resources/icons/mmla-studio.svg to the raster icons the platforms want.

    .venv/bin/python packaging/make_icons.py

Writes packaging/icons/: hicolor PNGs (16-512 px, used by install-desktop-entry.sh where an
SVG icon is not enough), mmla-studio.ico (Windows, PyInstaller `icon=`) and mmla-studio.icns
(macOS .app bundle). The outputs are committed so a build needs no Qt rendering step; rerun
after changing the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SVG = REPO / "resources" / "icons" / "mmla-studio.svg"
OUT = REPO / "packaging" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render_pngs(svg: Path, out: Path) -> dict[int, Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    written = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out / f"mmla-studio-{size}.png"
        if not image.save(str(path)):
            raise OSError(f"could not write {path}")
        written[size] = path
    return written


def write_ico_icns(pngs: dict[int, Path], out: Path) -> None:
    from PIL import Image

    largest = Image.open(pngs[max(pngs)])
    largest.save(out / "mmla-studio.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(out / "mmla-studio.icns")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(SVG, OUT)
    write_ico_icns(pngs, OUT)
    sys.stdout.write(f"wrote {len(pngs)} PNGs, mmla-studio.ico and mmla-studio.icns to {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A probe drawn as a figure for a paper or slides: the scenario x question matrix, its legend,
the reliance verdict, the label probabilities of one cell and, when captured, its attention by
modality per layer. Drawn with QPainter onto a QImage (PNG at 2x) or a QSvgGenerator (SVG), so
the export is a figure, not a screenshot of the panel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtSvg import QSvgGenerator

from mmla_core.probe.matrix import ProbeCell, ProbeResult

RIGHT, WRONG, NONE = QColor("#d9f2e1"), QColor("#f8d7d4"), QColor("#f1f2f4")
INK, MUTED, GRID = QColor("#1f2328"), QColor("#6b7079"), QColor("#c5c9d0")
MODALITY_COLOURS = (("video", "#2563eb"), ("audio", "#16a34a"), ("text", "#d97706"))
FLIP_MARK = "⇄"
LEGEND = (
    (RIGHT, "right answer"), (WRONG, "wrong answer"), (NONE, "no gold label / not run"),
)
LEGEND_TEXT = (f"{FLIP_MARK} = the answer flipped from the aligned clip's under the same "
               "question; the number is the probability of the predicted label")
WIDTH, MARGIN, ROW_H, HEAD_W, BAR_H = 760, 24, 26, 170, 16
PLOT_H = 170


def flipped(result: ProbeResult, cell: ProbeCell) -> bool:
    aligned = result.cell("aligned", cell.prompt)
    return aligned is not None and cell.scenario != "aligned" and \
        aligned.predicted != cell.predicted


def _font(size: float, bold: bool = False) -> QFont:
    """`size` in points at 96 dpi, set in pixels: the figure's layout is in pixels, whatever
    the device (a 2x PNG is scaled by the painter, an SVG has no dpi of its own)."""
    font = QFont("DejaVu Sans")
    font.setPixelSize(round(size * 96 / 72))
    font.setBold(bold)
    return font


class ProbeFigure:
    """Lays out and paints one probe; `cell` is the one whose bars and attention are drawn."""

    def __init__(self, result: ProbeResult, cell: ProbeCell | None, verdict: str):
        self.result, self.cell, self.verdict = result, cell, verdict

    def size(self) -> QSize:
        rows = len(self.result.scenarios)
        bars = min(len(self.cell.scores), 10) if self.cell else 0
        height = MARGIN * 2 + 40 + (rows + 1) * ROW_H + 70 + 30
        height += (bars * (BAR_H + 4) + 40) if bars else 0
        height += PLOT_H + 50 if self.cell is not None and self.cell.attention else 0
        return QSize(WIDTH, height)

    def paint(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        size = self.size()
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), Qt.GlobalColor.white)
        y = self._title(painter, MARGIN)
        y = self._matrix(painter, y + 10)
        y = self._legend(painter, y + 8)
        if self.cell is not None:
            y = self._bars(painter, y + 16)
            if self.cell.attention:
                self._attention(painter, y + 16)

    # --- parts ---------------------------------------------------------------------------------

    def _text(self, painter, x, y, w, h, text, size=9.0, bold=False, colour=INK,
              align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter) -> None:
        painter.setFont(_font(size, bold))
        painter.setPen(colour)
        painter.drawText(QRectF(x, y, w, h), int(align), text)

    def _title(self, painter: QPainter, y: float) -> float:
        r = self.result
        self._text(painter, MARGIN, y, WIDTH - 2 * MARGIN, 20,
                   f"Clip {r.clip_id} · {r.task} · {r.title()}", 11, True)
        self._text(painter, MARGIN, y + 20, WIDTH - 2 * MARGIN, 18,
                   f"gold label: {r.gold or '—'} · relied on: {self.verdict}", 8.5, colour=MUTED)
        return y + 40

    def _matrix(self, painter: QPainter, y: float) -> float:
        r = self.result
        col_w = (WIDTH - 2 * MARGIN - HEAD_W) / max(len(r.prompts), 1)
        for c, prompt in enumerate(r.prompts):
            self._text(painter, MARGIN + HEAD_W + c * col_w, y, col_w, ROW_H,
                       prompt.replace("_", " "), 9, True, align=Qt.AlignmentFlag.AlignCenter)
        for i, scenario in enumerate(r.scenarios):
            top = y + (i + 1) * ROW_H
            self._text(painter, MARGIN, top, HEAD_W - 6, ROW_H,
                       r.row_title(scenario).replace("_", " "), 9)
            for c, prompt in enumerate(r.prompts):
                self._cell(painter, QRectF(MARGIN + HEAD_W + c * col_w, top, col_w, ROW_H),
                           r.cell(scenario, prompt))
        return y + (len(r.scenarios) + 1) * ROW_H

    def _cell(self, painter: QPainter, rect: QRectF, cell: ProbeCell | None) -> None:
        colour = NONE if cell is None or cell.correct is None else (RIGHT if cell.correct
                                                                    else WRONG)
        painter.fillRect(rect.adjusted(1, 1, -1, -1), colour)
        selected = cell is not None and cell is self.cell
        painter.setPen(QPen(INK if selected else GRID, 2 if selected else 1))
        painter.drawRect(rect.adjusted(1, 1, -1, -1))
        if cell is not None:
            mark = f"{FLIP_MARK} " if flipped(self.result, cell) else ""
            self._text(painter, rect.x(), rect.y(), rect.width(), rect.height(),
                       f"{mark}{cell.predicted}  {cell.p_predicted:.2f}", 9,
                       align=Qt.AlignmentFlag.AlignCenter)

    def _legend(self, painter: QPainter, y: float) -> float:
        x = MARGIN
        for colour, text in LEGEND:
            painter.fillRect(QRectF(x, y + 4, 14, 12), colour)
            painter.setPen(GRID)
            painter.drawRect(QRectF(x, y + 4, 14, 12))
            self._text(painter, x + 18, y, 200, 20, text, 8.5)
            x += 40 + painter.fontMetrics().horizontalAdvance(text)
        self._text(painter, MARGIN, y + 22, WIDTH - 2 * MARGIN, 36, LEGEND_TEXT, 8.5,
                   colour=MUTED, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                   | Qt.TextFlag.TextWordWrap)
        return y + 60

    def _bars(self, painter: QPainter, y: float) -> float:
        cell = self.cell
        title = self.result.row_title(cell.scenario).replace("_", " ")
        self._text(painter, MARGIN, y, WIDTH, 20, f"Label probabilities: {title} × "
                   f"{cell.prompt.replace('_', ' ')}", 9.5, True)
        y += 24
        width = WIDTH - 2 * MARGIN - HEAD_W - 60
        for label, p in sorted(cell.scores.items(), key=lambda kv: -kv[1])[:10]:
            gold = " (gold)" if label == cell.gold else ""
            self._text(painter, MARGIN, y, HEAD_W - 6, BAR_H, f"{label}{gold}", 8.5,
                       bold=bool(gold))
            painter.fillRect(QRectF(MARGIN + HEAD_W, y + 2, max(width * p, 1), BAR_H - 4),
                             QColor("#2e9d5b" if gold else "#8a8f98"))
            self._text(painter, MARGIN + HEAD_W + width * p + 6, y, 60, BAR_H, f"{p:.3f}", 8.5)
            y += BAR_H + 4
        return y

    def _attention(self, painter: QPainter, y: float) -> None:
        """Share of attention per modality (y, 0..1) by layer (x, integer ticks); the legend
        sits to the right of the plot, never over the lines."""
        shares = self.cell.attention
        self._text(painter, MARGIN, y, WIDTH, 20, "Attention at the answer position, by "
                   "modality and layer", 9.5, True)
        plot = QRectF(MARGIN + 50, y + 26, WIDTH - 2 * MARGIN - 160, PLOT_H - 40)
        painter.setPen(QPen(GRID, 1))
        painter.drawRect(plot)
        last = max(len(shares) - 1, 1)
        for share in (0.0, 0.5, 1.0):
            ty = plot.bottom() - share * plot.height()
            self._text(painter, plot.left() - 40, ty - 8, 34, 16, f"{share:.1f}", 8,
                       align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        step = max(1, round(len(shares) / 12))
        for layer in range(0, len(shares), step):
            tx = plot.left() + layer / last * plot.width()
            self._text(painter, tx - 15, plot.bottom() + 2, 30, 16, str(layer), 8,
                       align=Qt.AlignmentFlag.AlignCenter)
        self._text(painter, plot.left(), plot.bottom() + 16, plot.width(), 16, "layer", 8.5,
                   colour=MUTED, align=Qt.AlignmentFlag.AlignCenter)
        for column, (name, colour) in enumerate(MODALITY_COLOURS):
            painter.setPen(QPen(QColor(colour), 2))
            points = [QPointF(plot.left() + i / last * plot.width(),
                              plot.bottom() - layer[column] * plot.height())
                      for i, layer in enumerate(shares)]
            painter.drawPolyline(points)
            for point in points:
                painter.drawEllipse(point, 2.5, 2.5)
            ly = plot.top() + 8 + column * 20
            painter.drawLine(QPointF(plot.right() + 16, ly), QPointF(plot.right() + 36, ly))
            self._text(painter, plot.right() + 42, ly - 8, 60, 16, name, 8.5)


def save_figure(figure: ProbeFigure, path: str | Path) -> Path:
    """PNG (2x, for print) or SVG by the file's suffix."""
    path = Path(path)
    size = figure.size()
    if path.suffix.lower() == ".svg":
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(size)
        generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
        generator.setTitle(f"probe {figure.result.run_id}")
        painter = QPainter(generator)
        figure.paint(painter)
        painter.end()
        return path
    image = QImage(size * 2, QImage.Format.Format_ARGB32)
    image.setDotsPerMeterX(2 * 3780)  # 192 dpi
    image.setDotsPerMeterY(2 * 3780)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.scale(2, 2)
    figure.paint(painter)
    painter.end()
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")
    return path

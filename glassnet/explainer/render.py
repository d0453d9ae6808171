"""Text and HTML for explanations: numbers, matrices side by side, tables.

An explanation is a list of blocks (Heading, Text, Grid, Row, Table, Section). Each block
renders to lines of plain text (``str(explanation)``) and to self-contained HTML
(``explanation._repr_html_()``: one <div> with its own <style>, no scripts, no external
assets). Cell marks name what a cell is: "pad" (a padded cell, shown as (0) in text),
"win" (a pooling window's winner, shown as [3]), "sel" (the window being looked at;
HTML only).
"""
import html
import math

import numpy as np

# ---- numbers -------------------------------------------------------------------------------


class Fmt:
    """Formats one number: ``decimals`` fixed places (cut rather than rounded when
    ``truncate``, as the lecture slides print 7/9 as 0.77), or else up to ``digits``
    significant digits with whole numbers shown as integers (1, -3, 32)."""

    def __init__(self, decimals=None, truncate=False, digits=4):
        self.decimals, self.truncate, self.digits = decimals, truncate, digits

    def __call__(self, v):
        if isinstance(v, str):
            return v
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if self.decimals is not None:
            d = self.decimals
            if self.truncate:
                # round first at 9 places so 0.99999999997 (float noise for 1) is not cut to 0.99
                v = math.trunc(round(v * 10 ** d, 9)) / 10 ** d
            s = f"{v:.{d}f}"
            return s[1:] if s.startswith("-") and float(s) == 0 else s
        if v == round(v) and abs(v) < 1e7:
            return str(int(round(v))) if v != 0 else "0"
        s = f"{v:.{self.digits}g}"
        return s


GENERAL = Fmt()


# ---- blocks --------------------------------------------------------------------------------


class Heading:
    def __init__(self, text, level=2):
        self.text, self.level = text, level


class Text:
    """A paragraph; ``mono`` keeps it as preformatted arithmetic."""

    def __init__(self, text, mono=False):
        self.text, self.mono = text, mono


class Grid:
    """A 2-D array of numbers (or strings) with an optional caption and per-cell marks."""

    def __init__(self, values, caption=None, marks=None, fmt=None):
        values = np.asarray(values)
        if values.dtype.kind in "US":      # labels: keep them as Python strings
            values = values.astype(object)
        if values.ndim == 0:
            values = values.reshape(1, 1)
        elif values.ndim == 1:
            values = values.reshape(1, -1)
        self.values, self.caption, self.fmt = values, caption, fmt
        self.marks = None if marks is None else np.asarray(marks, dtype=object).reshape(values.shape)


class Row:
    """Blocks side by side; plain strings between them are operators ("×", "=")."""

    def __init__(self, *items):
        self.items = list(items)


class Table:
    """A table with a header row; cells are numbers (formatted) or strings."""

    def __init__(self, header, rows, fmt=None, caption=None):
        self.header, self.rows, self.fmt, self.caption = list(header), [list(r) for r in rows], fmt, caption


class Section:
    """A titled group of blocks (one output cell, one layer, one node)."""

    def __init__(self, title, blocks):
        self.title, self.blocks = title, list(blocks)


# ---- text ------------------------------------------------------------------------------------

_TEXT_MARKS = {"pad": ("(", ")"), "win": ("[", "]")}


def _cell_text(v, mark, fmt):
    s = fmt(v) if not isinstance(v, str) else v
    if mark:
        for m in str(mark).split():
            if m in _TEXT_MARKS:
                a, b = _TEXT_MARKS[m]
                return a + s + b
    return s


def grid_lines(g, fmt):
    fmt = g.fmt or fmt
    rows, cols = g.values.shape
    cells = [[_cell_text(g.values[i, j], None if g.marks is None else g.marks[i, j], fmt) for j in range(cols)]
             for i in range(rows)]
    widths = [max(len(cells[i][j]) for i in range(rows)) for j in range(cols)]
    lines = ["  ".join(cells[i][j].rjust(widths[j]) for j in range(cols)) for i in range(rows)]
    if g.caption:
        lines.insert(0, g.caption)
    return lines


def row_lines(r, fmt):
    parts = []
    for item in r.items:
        if isinstance(item, str):
            parts.append((None, [item]))
        else:
            parts.append((item, block_lines(item, fmt)))
    height = max(len(lines) for _, lines in parts)
    # operators sit on the middle line of the grids' bodies (below any caption)
    has_caption = any(isinstance(b, Grid) and b.caption for b, _ in parts)
    body_mid = (height - (1 if has_caption else 0)) // 2 + (1 if has_caption else 0)
    columns = []
    for block, lines in parts:
        width = max((len(s) for s in lines), default=0)
        if block is None:
            col = [""] * height
            col[min(body_mid, height - 1)] = lines[0]
        else:
            col = list(lines)
            if has_caption and not (isinstance(block, Grid) and block.caption):
                col.insert(0, "")
            col += [""] * (height - len(col))
        columns.append([s.ljust(width) for s in col[:height]])
    return ["   ".join(col[i] for col in columns).rstrip() for i in range(height)]


def table_lines(t, fmt):
    fmt = t.fmt or fmt
    cells = [[c if isinstance(c, str) else fmt(c) for c in row] for row in t.rows]
    head = [str(h) for h in t.header]
    ncol = max([len(head)] + [len(r) for r in cells])
    head += [""] * (ncol - len(head))
    cells = [r + [""] * (ncol - len(r)) for r in cells]
    widths = [max(len(r[j]) for r in [head] + cells) for j in range(ncol)]
    lines = []
    if t.caption:
        lines.append(t.caption)
    lines.append("  ".join(head[j].ljust(widths[j]) for j in range(ncol)).rstrip())
    lines.append("  ".join("-" * widths[j] for j in range(ncol)))
    for r in cells:
        lines.append("  ".join(r[j].rjust(widths[j]) if _numeric(r[j]) else r[j].ljust(widths[j])
                               for j in range(ncol)).rstrip())
    return lines


def _numeric(s):
    try:
        float(s.strip("()[]"))
        return True
    except ValueError:
        return False


def block_lines(b, fmt):
    if isinstance(b, Heading):
        under = "=" if b.level <= 1 else "-"
        return [b.text, under * len(b.text)]
    if isinstance(b, Text):
        return b.text.split("\n")
    if isinstance(b, Grid):
        return grid_lines(b, fmt)
    if isinstance(b, Row):
        return row_lines(b, fmt)
    if isinstance(b, Table):
        return table_lines(b, fmt)
    if isinstance(b, Section):
        lines = [b.title]
        for inner in b.blocks:
            lines += ["  " + s if s else s for s in block_lines(inner, fmt)]
        return lines
    raise TypeError(f"explain: cannot render {type(b).__name__}")


def render_text(title, blocks, fmt):
    lines = [title, "=" * len(title)]
    for b in blocks:
        lines += block_lines(b, fmt)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---- HTML -------------------------------------------------------------------------------------

CSS = """
.gn-explain{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.35;color:#222}
.gn-explain h2{font-size:16px;margin:4px 0 8px}
.gn-explain h3{font-size:14px;margin:10px 0 4px}
.gn-explain p{margin:4px 0}
.gn-explain pre{margin:4px 0;font-size:12px;background:#f7f7f7;padding:4px 6px}
.gn-explain .gn-row{display:flex;align-items:center;gap:10px;flex-wrap:wrap;margin:4px 0}
.gn-explain .gn-op{font-size:18px;color:#555}
.gn-explain table{border-collapse:collapse;margin:2px 0}
.gn-explain caption{font-size:11px;color:#555;caption-side:top;text-align:left}
.gn-explain table.gn-grid td{border:1px solid #bbb;padding:1px 6px;text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;min-width:1.6em}
.gn-explain table.gn-grid td.pad{background:#eee;color:#999;border-style:dashed}
.gn-explain table.gn-grid td.sel{background:#dbeafe}
.gn-explain table.gn-grid td.win{background:#fde68a;font-weight:bold}
.gn-explain table.gn-table th,.gn-explain table.gn-table td{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.gn-explain table.gn-table th{text-align:left;font-family:inherit;border-bottom:2px solid #999}
.gn-explain table.gn-table td.gn-str{text-align:left}
.gn-explain details{margin:4px 0 4px 4px;padding-left:8px;border-left:3px solid #ddd}
.gn-explain summary{cursor:pointer;font-weight:600}
"""


def _e(s):
    return html.escape(str(s), quote=True)


def grid_html(g, fmt):
    fmt = g.fmt or fmt
    out = ['<table class="gn-grid">']
    if g.caption:
        out.append(f"<caption>{_e(g.caption)}</caption>")
    rows, cols = g.values.shape
    for i in range(rows):
        out.append("<tr>")
        for j in range(cols):
            v = g.values[i, j]
            s = v if isinstance(v, str) else fmt(v)
            mark = None if g.marks is None else g.marks[i, j]
            cls = f' class="{_e(mark)}"' if mark else ""
            out.append(f"<td{cls}>{_e(s)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def table_html(t, fmt):
    fmt = t.fmt or fmt
    out = ['<table class="gn-table">']
    if t.caption:
        out.append(f"<caption>{_e(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in t.header) + "</tr></thead><tbody>")
    for r in t.rows:
        cells = []
        for c in r:
            s = c if isinstance(c, str) else fmt(c)
            cls = "" if not isinstance(c, str) or _numeric(c) else ' class="gn-str"'
            cells.append(f"<td{cls}>{_e(s)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def block_html(b, fmt):
    if isinstance(b, Heading):
        return f"<h3>{_e(b.text)}</h3>"
    if isinstance(b, Text):
        return f"<pre>{_e(b.text)}</pre>" if b.mono else f"<p>{_e(b.text)}</p>"
    if isinstance(b, Grid):
        return grid_html(b, fmt)
    if isinstance(b, Row):
        parts = []
        for item in b.items:
            if isinstance(item, str):
                parts.append(f'<span class="gn-op">{_e(item)}</span>')
            else:
                parts.append(f"<div>{block_html(item, fmt)}</div>")
        return '<div class="gn-row">' + "".join(parts) + "</div>"
    if isinstance(b, Table):
        return table_html(b, fmt)
    if isinstance(b, Section):
        inner = "".join(block_html(x, fmt) for x in b.blocks)
        return f"<details open><summary>{_e(b.title)}</summary>{inner}</details>"
    raise TypeError(f"explain: cannot render {type(b).__name__}")


def render_html(title, blocks, fmt):
    body = "".join(block_html(b, fmt) for b in blocks)
    return f'<div class="gn-explain"><style>{CSS}</style><h2>{_e(title)}</h2>{body}</div>'

"""The HTML of a training report: one self-contained page (inline CSS, images as base64
PNG, the model graph as inline SVG; no scripts, no external assets), so it can be mailed,
archived or opened from disk anywhere.

The page is built from small pieces: ``figure`` (a matplotlib Figure as an <img>),
``table``, ``kv_table``, ``note``, ``section`` and ``document``. Everything that comes from
the run (names, values) is escaped.
"""
import base64
import html

from glassnet.viz import _mpl

CSS = """
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f4f5f7; --accent:#0b6aa2; --good:#047857; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap { max-width: 1080px; margin: 0 auto; padding: 32px 24px 40px; }
.brand { font-size: 12px; letter-spacing: .09em; text-transform: uppercase; color: var(--accent); font-weight: 650; }
h1 { font-size: 30px; line-height: 1.2; margin: 6px 0 4px; font-weight: 700; overflow-wrap: anywhere; }
.meta { color: var(--muted); margin: 0 0 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.card .k { display: block; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.card .v { display: block; font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.3; }
.card .s { display: block; font-size: 12.5px; color: var(--muted); }
nav { display: flex; flex-wrap: wrap; gap: 6px 8px; margin: 22px 0 4px; }
nav a { font-size: 13.5px; color: var(--accent); text-decoration: none; background: #fff; border: 1px solid var(--line);
  border-radius: 999px; padding: 3px 12px; }
nav a:hover { border-color: var(--accent); }
section { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 22px 26px 24px; margin: 18px 0; }
h2 { font-size: 20px; margin: 0 0 4px; font-weight: 650; }
h3 { font-size: 13px; margin: 18px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.lead { color: #4b5563; margin: 0 0 16px; font-size: 14.5px; max-width: 80ch; }
figure { margin: 6px 0 0; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; border-bottom: 2px solid var(--line); padding: 7px 10px; }
td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.kv td:first-child { color: var(--muted); width: 1%; white-space: nowrap; padding-right: 28px; }
.totals { margin: 12px 0 0; padding: 0; list-style: none; color: #374151; font-size: 14px; }
.totals li { display: inline-block; margin-right: 22px; }
.totals b { font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-style: italic; margin: 4px 0; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 28px; }
@media (max-width: 820px) { .two { grid-template-columns: 1fr; } }
details { margin-top: 14px; }
details summary { cursor: pointer; color: var(--accent); font-size: 14px; }
details .scroll { overflow: auto; max-height: 480px; margin-top: 8px; }
.graph { overflow: auto; margin-top: 8px; text-align: center; }
.graph svg { max-width: 100%; height: auto; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; margin-top: 26px; }
"""


def esc(value):
    return html.escape(str(value), quote=True)


def figure(fig, alt, dpi=144):
    """A Figure as an embedded PNG, shown at its size in inches (96 CSS px each), never wider
    than the page."""
    png = _mpl.to_png(fig, dpi=dpi)
    width = int(round(fig.get_figwidth() * 96))
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" width="{width}" alt="{esc(alt)}"></figure>'


def table(header, rows, numeric=(), mono=()):
    """A table; columns listed in ``numeric`` are right-aligned, in ``mono`` monospaced."""
    def cls(i):
        names = (["num"] if i in numeric else []) + (["mono"] if i in mono else [])
        return f' class="{" ".join(names)}"' if names else ""

    num = ' class="num"'
    head = "".join(f"<th{num if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{esc(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kv_table(pairs):
    rows = "".join(f"<tr><td>{esc(k)}</td><td class=\"mono\">{esc(v)}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def note(text):
    return f'<p class="note">{esc(text)}</p>'


def section(sid, title, body, lead=None):
    lead_html = f'<p class="lead">{esc(lead)}</p>' if lead else ""
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{lead_html}{body}</section>'


def card(key, value, sub=""):
    sub_html = f'<span class="s">{esc(sub)}</span>' if sub else ""
    return f'<div class="card"><span class="k">{esc(key)}</span><span class="v">{esc(value)}</span>{sub_html}</div>'


def document(title, meta, cards, sections, footer):
    """The whole page. ``sections`` is a list of (id, nav label, html)."""
    nav = "".join(f'<a href="#{esc(sid)}">{esc(label)}</a>' for sid, label, _ in sections)
    body = "\n".join(h for _, _, h in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)} \u00b7 glassnet report</title><style>{CSS}</style></head>\n<body><div class=\"wrap\">"
        f"<header><div class=\"brand\">glassnet \u00b7 training report</div><h1>{esc(title)}</h1>"
        f"<p class=\"meta\">{esc(meta)}</p><div class=\"cards\">{''.join(cards)}</div><nav>{nav}</nav></header>\n"
        f"<main>\n{body}\n</main><footer>{esc(footer)}</footer></div></body></html>\n"
    )

"""A static page: the answer first, the two frontiers, then the tables; PNGs, no server.

Reading order (issue 20): the answer in one sentence and three numbers in large type, how sure
in one line, then the small multiples of the two frontiers, then what the measured side is
missing (skipped jobs, one line per reason), then the tables. The page works without
JavaScript: tables are rendered here, a few inline lines only add sorting and record what
rendered (`data-*` on <body>) for the headless-browser tests. It fits a 390 px phone and a
1400 px projector: wide tables scroll inside their own box, images shrink to the column.
"""

from __future__ import annotations

import re
from html import escape

from openvsclosed.report.render import DisplayTable

OPEN, CLOSED = "#0072B2", "#D55E00"
"""The two sides' colours, the same as every chart's (report/plots.py COLORS)."""

STYLE = """
:root{--open:OPEN;--closed:CLOSED}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1240px;padding:.6rem 1rem 2rem;color:#1d1d1f;background:#fff;line-height:1.4}
p,li,td,th,figcaption,summary{overflow-wrap:anywhere}
h1{font-size:1rem;font-weight:600;color:#555;margin:.2rem 0 .4rem}
h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;font-size:1.25rem}
#headline{margin:.2rem 0 1rem}
#headline .sentence{font-size:clamp(1.35rem,1rem + 1.6vw,2.1rem);line-height:1.22;
font-weight:650;margin:.2rem 0 .8rem;max-width:60rem}
.numbers{display:flex;flex-wrap:wrap;gap:.6rem 2rem;margin:.3rem 0 .6rem}
.num{flex:1 1 14rem;min-width:0}
.num .big{display:block;font-size:clamp(1.6rem,1.2rem + 1.6vw,2.4rem);font-weight:700;
line-height:1.1}
.num .what{display:block;font-size:.85rem;color:#444}
.sureness{font-size:.9rem;color:#444;margin:.2rem 0}
#headline .more p{font-size:.9rem;margin:.2rem 0 .5rem}
.open-c{color:var(--open)}.closed-c{color:var(--closed)}
#frontiers figure{margin:.4rem 0}
img{max-width:100%;height:auto;border:0}
figcaption{font-size:.8rem;color:#555}
.notes p,.notes li{font-size:.85rem}
.notes{border-left:3px solid #e0b050;padding:.1rem .7rem;margin:.8rem 0;background:#fffbf0}
details{margin:.3rem 0}summary{cursor:pointer;font-size:.85rem}
details ul{font-size:.8rem;max-height:18rem;overflow:auto}
p.note{color:#555;font-size:.88rem;max-width:60rem}
.scroll{overflow-x:auto;max-width:100%;border:1px solid #eee;margin:.6rem 0}
table{border-collapse:collapse;font-size:.84rem;width:100%}
th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top;
min-width:6rem}
th{background:#f6f6f6;position:sticky;top:0}
th.sort{cursor:pointer;user-select:none}th.sort:after{content:" \\2195";color:#aaa}
tr.open td:first-child{border-left:4px solid var(--open)}
tr.closed td:first-child{border-left:4px solid var(--closed)}
tr.reported td,tr.independent td{font-style:italic;color:#444}
tr.invalid td{background:#fff1ee}
tr.then-supported td:nth-child(3),tr.now-supported td:nth-child(5){color:#1b7f3b;
font-weight:600}
tr.then-contradicted td:nth-child(3),tr.now-contradicted td:nth-child(5){color:#b3261e;
font-weight:600}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.75rem;
margin-right:.3rem;color:#fff}.b-open{background:var(--open)}.b-closed{background:var(--closed)}
.b-reported{background:#666}.b-measured{background:#264653}
.b-independent{background:#6a4c93}
figure{margin:1rem 0}
""".replace("OPEN;", OPEN + ";").replace("CLOSED}", CLOSED + "}")

SCRIPT = """
function cellValue(td){const t=td.textContent.trim();const m=t.match(/^[≥-]?\\s*-?[0-9.]+/);
return m?parseFloat(m[0].replace(/[≥\\s]/g,'')):t.toLowerCase();}
document.querySelectorAll('table.sortable').forEach(function(table){
 table.querySelectorAll('th').forEach(function(th,i){th.classList.add('sort');
  th.addEventListener('click',function(){
  const body=table.tBodies[0];const rows=Array.from(body.rows);
  const asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
  rows.sort(function(a,b){const x=cellValue(a.cells[i]),y=cellValue(b.cells[i]);
   if(typeof x===typeof y){return (x>y?1:x<y?-1:0)*(asc?1:-1);}
   return (typeof x==='number'?-1:1)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});});});});
"""

MEASURE = """
window.addEventListener('load',function(){
 function bottom(sel){const el=document.querySelector(sel);
  return el?Math.round(el.getBoundingClientRect().bottom+window.scrollY):-1;}
 const d=document.body.dataset;
 d.headlineBottom=bottom('#headline .sentence');
 d.chartBottom=bottom('#frontiers img');
 d.viewHeight=window.innerHeight;d.viewWidth=window.innerWidth;
 d.scrollWidth=document.documentElement.scrollWidth;
 const imgs=Array.from(document.images);
 d.plotsLoaded=imgs.filter(function(i){return i.complete&&i.naturalWidth>0;}).length;
 d.plots=imgs.length;
 d.noAlt=imgs.filter(function(i){return !(i.getAttribute('alt')||'').trim();}).length;
 d.rows=document.querySelectorAll('table.sortable tbody tr').length;});
"""

KEY_REASON = re.compile(r"\b([A-Z][A-Z0-9_]*(?:KEY|TOKEN)[A-Z0-9_]*) is not set")


def table_html(table: DisplayTable) -> str:
    """One table with its title and note, in a box that scrolls sideways on its own."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
    body = []
    for i, row in enumerate(table.rows):
        css = " ".join(table.classes[i]) if i < len(table.classes) else ""
        body.append(f'<tr class="{escape(css)}">' +
                    "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    empty = f'<tr><td colspan="{len(table.header)}">{escape(table.empty)}</td></tr>'
    rows = "\n".join(body) or empty
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (f'<section id="{table.name}"><h2 id="h-{table.name}">{escape(table.title)}</h2>'
            f'{note}<div class="scroll" role="region" tabindex="0" '
            f'aria-labelledby="h-{table.name}"><table class="sortable" id="t-{table.name}">'
            f"<thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table></div></section>")


def _months(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def answer_numbers(answer) -> list[tuple[str, str, str]]:
    """The three numbers: (big text, what it is, CSS class)."""
    leads = dict(answer.leads or {})
    side = max(("closed", "open"), key=lambda s: leads.get(s, 0))
    others = ", ".join(f"{k} {v}" for k, v in leads.items() if k != side and v)
    lead = (f"{leads.get(side, 0)} of {answer.families}",
            f"task families where {side} models lead like with like"
            + (f" ({others})" if others else ""), f"{side}-c")
    if answer.lag_months is None:
        lag = ("—", f"no lag estimate yet ({answer.lag_estimator})", "")
    else:
        interval = ("" if answer.lag_low is None or answer.lag_high is None else
                    f", 95% interval {_months(answer.lag_low)}–{_months(answer.lag_high)}")
        lag = (f"{_months(answer.lag_months)} months",
               f"open models trail{interval}; estimator: {answer.lag_estimator}", "")
    through = str(answer.data_through or "") or "—"
    return [lead, lag, (through, "the data run to this date", "")]


def answer_html(head) -> str:
    """The answer block: one sentence, three numbers, how sure; or the older per-source text."""
    answer = getattr(head, "answer", None)
    if answer is not None:
        nums = "".join(f'<div class="num"><span class="big {cls}">{escape(big)}</span>'
                       f'<span class="what">{escape(what)}</span></div>'
                       for big, what, cls in answer_numbers(answer))
        more = "".join(f"<p>{escape(a)}</p>" for a in head.answers)
        details = (f"<details class=\"more\"><summary>Per source, in words</summary>{more}"
                   "</details>" if more else "")
        return (f'<section id="headline"><p class="sentence">{escape(answer.sentence)}</p>'
                f'<div class="numbers">{nums}</div><p class="sureness">'
                f"{escape(answer.sureness)}</p>{details}</section>")
    if not head.answers:
        return '<section id="headline"><p class="sentence">No results yet.</p></section>'
    first, rest = head.answers[0], head.answers[1:]
    label, sep, text = first.partition(": ")
    sentence = f"{escape(label)}: {escape(text)}" if sep else escape(first)
    more = "".join(f"<p>{escape(a)}</p>" for a in rest)
    return (f'<section id="headline"><p class="sentence" style="font-size:1.15rem">{sentence}'
            f'</p><div class="more">{more}</div></section>')


def skipped_lines(skipped: list[dict]) -> list[str]:
    """One line per reason; missing keys gathered into one line naming the variables to set."""
    keys: dict[str, set[str]] = {}
    key_jobs = 0
    other: dict[str, list[str]] = {}
    for s in skipped:
        reason = str(s.get("reason"))
        found = KEY_REASON.search(reason)
        if found:
            keys.setdefault(found.group(1), set()).add(str(s.get("model")))
            key_jobs += 1
        else:
            other.setdefault(reason, []).append(str(s.get("model")))
    lines = []
    if keys:
        names = ", ".join(f"{k} ({', '.join(sorted(m))})" for k, m in sorted(keys.items()))
        lines.append(f"{key_jobs} job(s) need keys: set {names}, then run the config again.")
    for reason, models in other.items():
        shown = ", ".join(sorted(set(models))[:4]) + (", …" if len(set(models)) > 4 else "")
        lines.append(f"{len(models)} job(s): {reason} ({shown}).")
    return lines


def notes_html(head, skipped: list[dict]) -> str:
    """What the measured side is missing: notes to act on, skipped jobs summarised."""
    from openvsclosed.report.headline import skipped_note

    try:  # the headline's own list of skipped jobs: shown summarised below instead
        listed = skipped_note(skipped) if skipped else None
    except Exception:
        listed = None
    notes = [n for n in head.notes if n != listed]
    parts = [f"<p>{escape(n)}</p>" for n in notes]
    if skipped:
        lines = "".join(f"<li>{escape(line)}</li>" for line in skipped_lines(skipped))
        every = "".join(f"<li>{escape(str(s.get('model')))} × {escape(str(s.get('task')))}: "
                        f"{escape(str(s.get('reason')))}</li>" for s in skipped)
        parts.append(f"<p>The last run skipped {len(skipped)} job(s):</p><ul>{lines}</ul>"
                     f"<details><summary>Every skipped job (also in skipped.json)</summary>"
                     f"<ul>{every}</ul></details>")
    return f'<section class="notes" id="notes">{"".join(parts)}</section>' if parts else ""


def frontiers_html(chart: tuple, panels: list) -> str:
    """The small multiples, a phone layout picked by the browser (no script), and a caption.

    `chart`: (wide PNG, phone PNG, alt text[, the sources drawn, for the markers' words]).
    """
    from openvsclosed.report.frontiers import MARKER_WORDS, markers_text

    wide, narrow, alt = chart[:3]
    drawn = chart[3] if len(chart) > 3 else tuple(MARKER_WORDS)
    series = "; ".join(f"{p.family}: {p.series}" for p in panels if p.series != p.task)
    caption = ("Each panel: the best open score so far (blue, solid) and the best closed score "
               f"so far (vermillion, dashed) by release date; {markers_text(drawn)}; grey dots "
               "other tasks or protocols of the family (never joined to the lines). Lag (double "
               "arrow): months from the date a closed model first reached the open side's best "
               "score to the date the open side did.")
    if series:
        caption += f" Series drawn: {series}."
    return (f'<section id="frontiers"><h2>The two frontiers, per task family</h2><figure>'
            f'<picture><source media="(max-width: 640px)" srcset="{escape(narrow)}">'
            f'<img src="{escape(wide)}" alt="{escape(alt)}"></picture>'
            f"<figcaption>{escape(caption)}</figcaption></figure></section>")


def exclusions_html(table: DisplayTable | None) -> str:
    """Published cells left out of the comparison, per rule, folded in a <details> element."""
    if table is None or not table.rows:
        return ""
    cells = sum(int(r[1]) for r in table.rows if str(r[1]).isdigit())
    return (f'<details id="left-out"><summary>{escape(table.title)}: {len(table.rows)} '
            f"rule(s), {cells} cell(s) (also in exclusions.csv)</summary>{table_html(table)}"
            "</details>")


def page(title: str, head, tables: list[DisplayTable], chart: tuple,
         figures: list[tuple[str, str]], panels: list | None = None,
         skipped: list[dict] | None = None) -> str:
    """The whole page, from the headline, the display tables and the figures.

    `chart` is (wide PNG, phone PNG, alt text[, sources drawn]); `figures` (PNG, caption).
    """
    figs = "".join(f'<figure><img src="{escape(src)}" alt="{escape(cap)}">'
                   f"<figcaption>{escape(cap)}</figcaption></figure>" for src, cap in figures)
    families = table_html(head.rows) if head.rows is not None and head.rows.rows else ""
    legend = ('<p><span class="badge b-open">open</span><span class="badge b-closed">closed'
              '</span><span class="badge b-measured">measured</span><span class="badge '
              'b-independent">independent (italic)</span><span class="badge '
              'b-reported">reported (italic)</span> With JavaScript on, a click on a column '
              "header sorts.</p>")
    sections = "\n".join(table_html(t) for t in tables)
    left_out = exclusions_html(getattr(head, "exclusions", None))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>"
            f"<h1>{escape(title)}</h1>{answer_html(head)}\n"
            f"{frontiers_html(chart, panels or [])}\n{notes_html(head, skipped or [])}\n"
            f"{families}\n{legend}\n{sections}\n{left_out}\n"
            f'<section id="plots"><h2>More plots</h2>{figs}</section>\n'
            f"<script>{SCRIPT}{MEASURE}</script></body></html>\n")

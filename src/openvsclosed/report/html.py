"""A static leaderboard page: index.html plus PNG assets, no server, no network.

Tables are the same display rows as the Markdown; a few lines of inline JavaScript sort them.
On load the page records what rendered (`data-rows`, `data-plots-loaded` on <body>) so a
headless browser test can assert it from the DOM.
"""

from __future__ import annotations

from html import escape

from openvsclosed.report.render import DisplayTable

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:.8rem auto;
max-width:1240px;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.45rem;margin:.2rem 0 .5rem}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
#headline{display:flex;gap:1.2rem;align-items:flex-start;flex-wrap:wrap}
#headline .answer{flex:1 1 24rem;font-size:.92rem;line-height:1.38}
#headline .answer p{margin:.1rem 0 .55rem}
#headline p.act{background:#fff7e0;border-left:4px solid #e9a23b;padding:.35rem .6rem;
font-size:.85rem}
#gap-time{flex:1.45 1 34rem;margin:0}#gap-time img{width:100%;border:0}
#gap-time figcaption{font-size:.78rem;color:#555}
#families table{font-size:.8rem}
p.note{color:#555;font-size:.9rem;max-width:60rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0;width:100%}
th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0;user-select:none}
th:after{content:" \\2195";color:#aaa}
tr.open td:first-child{border-left:4px solid #2a9d8f}
tr.closed td:first-child{border-left:4px solid #e76f51}
tr.reported td{font-style:italic;color:#444}
tr.supported td:nth-child(3){color:#1b7f3b;font-weight:600}
tr.contradicted td:nth-child(3){color:#b3261e;font-weight:600}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.75rem;
margin-right:.3rem;color:#fff}.b-open{background:#2a9d8f}.b-closed{background:#e76f51}
.b-reported{background:#777}.b-measured{background:#264653}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}
"""

SCRIPT = """
function cellValue(td){const t=td.textContent.trim();const m=t.match(/^[≥-]?\\s*-?[0-9.]+/);
return m?parseFloat(m[0].replace(/[≥\\s]/g,'')):t.toLowerCase();}
document.querySelectorAll('table.sortable').forEach(function(table){
 table.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
  const body=table.tBodies[0];const rows=Array.from(body.rows);
  const asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
  rows.sort(function(a,b){const x=cellValue(a.cells[i]),y=cellValue(b.cells[i]);
   if(typeof x===typeof y){return (x>y?1:x<y?-1:0)*(asc?1:-1);}
   return (typeof x==='number'?-1:1)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});});});});
window.addEventListener('load',function(){
 function bottom(sel){const el=document.querySelector(sel);
  return el?Math.round(el.getBoundingClientRect().bottom+window.scrollY):-1;}
 document.body.dataset.headlineBottom=bottom('#headline .answer');
 document.body.dataset.chartBottom=bottom('#gap-time img');
 const imgs=Array.from(document.images);
 document.body.dataset.plotsLoaded=imgs.filter(function(i){
  return i.complete&&i.naturalWidth>0;}).length;
 document.body.dataset.plots=imgs.length;
 document.body.dataset.rows=document.querySelectorAll('table.sortable tbody tr').length;});
"""


def table_html(table: DisplayTable) -> str:
    """One sortable table with its title and note."""
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = []
    for i, row in enumerate(table.rows):
        css = " ".join(table.classes[i]) if i < len(table.classes) else ""
        body.append(f'<tr class="{escape(css)}">' +
                    "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    empty = f'<tr><td colspan="{len(table.header)}">{escape(table.empty)}</td></tr>'
    rows = "\n".join(body) or empty
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (f'<section id="{table.name}"><h2>{escape(table.title)}</h2>{note}'
            f'<table class="sortable" id="t-{table.name}"><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{rows}\n</tbody></table></section>")


def headline_html(head, gap_time: tuple[str, str]) -> str:  # noqa: ANN001  (Headline)
    """The answer at a glance beside the gap-over-time chart, then the family table."""
    answers = "".join(f"<p><strong>{escape(a.partition(': ')[0])}:</strong> "
                      f"{escape(a.partition(': ')[2])}</p>" if ": " in a else
                      f"<p>{escape(a)}</p>" for a in head.answers)
    notes = "".join(f'<p class="act">{escape(n)}</p>' for n in head.notes)
    chart = (f'<figure id="gap-time"><img src="{escape(gap_time[0])}" '
             f'alt="{escape(gap_time[1])}"><figcaption>{escape(gap_time[1])}</figcaption>'
             "</figure>")
    families = ""
    if head.rows is not None and head.rows.rows:
        families = table_html(head.rows)
    return (f'<section id="headline"><div class="answer">{answers}{notes}</div>{chart}'
            f"</section>{families}")


def page(title: str, head, tables: list[DisplayTable], gap_time: tuple[str, str],  # noqa: ANN001
         figures: list[tuple[str, str]]) -> str:
    """The whole page: the headline first; `figures` are (relative PNG path, caption)."""
    figs = "".join(f'<figure><img src="{escape(src)}" alt="{escape(cap)}">'
                   f"<figcaption>{escape(cap)}</figcaption></figure>" for src, cap in figures)
    legend = ('<p><span class="badge b-open">open</span><span class="badge b-closed">closed'
              '</span><span class="badge b-measured">measured</span><span class="badge '
              'b-reported">reported (italic)</span> Click a column header to sort.</p>')
    sections = "\n".join(table_html(t) for t in tables)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>"
            f"<h1>{escape(title)}</h1>{headline_html(head, gap_time)}\n{legend}\n{sections}\n"
            f'<section id="plots"><h2>Plots</h2>{figs}</section>\n'
            f"<script>{SCRIPT}</script></body></html>\n")

import type { Chart } from './charts.js';
import { CHARTS_MARKER } from './markdown.js';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Minimal markdown → HTML for the report (headings, paragraphs, lists, pipe tables, bold, code). */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const inline = (s: string) => escapeHtml(s).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>').replace(/`(.+?)`/g, '<code>$1</code>');
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        rows.push(lines[i]!.slice(1, -1).split('|').map((c) => c.trim()));
        i++;
      }
      i--;
      const [head, , ...body] = rows;
      out.push('<table>', `<tr>${head!.map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`);
      for (const r of body) out.push(`<tr>${r.map((c, k) => `<td${k > 0 ? ' class="num"' : ''}>${inline(c)}</td>`).join('')}</tr>`);
      out.push('</table>');
    } else if (line.startsWith('### ')) out.push(`<h3>${inline(line.slice(4))}</h3>`);
    else if (line.startsWith('## ')) out.push(`<h2>${inline(line.slice(3))}</h2>`);
    else if (line.startsWith('# ')) out.push(`<h1>${inline(line.slice(2))}</h1>`);
    else if (line.startsWith('- ')) {
      out.push('<ul>');
      while (i < lines.length && lines[i]!.startsWith('- ')) out.push(`<li>${inline(lines[i++]!.slice(2))}</li>`);
      i--;
      out.push('</ul>');
    } else if (line === CHARTS_MARKER) out.push(CHARTS_MARKER);
    else if (line.trim() !== '') out.push(`<p>${inline(line)}</p>`);
  }
  return out.join('\n');
}

/** The report as one HTML page: the markdown's title and headline, then the charts, then the tables. */
export function renderHtml(markdown: string, charts: Chart[]): string {
  const figures = charts.map((c) => `<figure><figcaption>${escapeHtml(c.title)}</figcaption>${c.svg}</figure>`).join('\n');
  const chartSection = `<h2>Charts</h2>\n${figures || '<p>No chart: the runs so far have no sweep or latency study.</p>'}`;
  const body = markdownToHtml(markdown);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vql experiment report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul { margin: .3rem 0 1rem; }
figure { display: inline-block; margin: 1rem 1.5rem 1rem 0; vertical-align: top; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
</style></head><body>
${body.includes(CHARTS_MARKER) ? body.replace(CHARTS_MARKER, () => chartSection) : `${body}\n${chartSection}`}
</body></html>
`;
}

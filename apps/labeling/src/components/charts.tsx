// Small server-rendered SVG charts for the dashboard (bars with labels, stacked progress, histogram).
// Every chart has a title and a text alternative (role="img" + aria-label).

export interface Bar { label: string; value: number; display?: string }

export function BarChart({ title, bars, max, unit = '' }: { title: string; bars: Bar[]; max?: number; unit?: string }) {
  const top = max ?? Math.max(1e-9, ...bars.map((b) => b.value));
  const rowH = 26;
  const labelW = 170;
  const width = 560;
  const h = bars.length * rowH + 8;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${h}`} width="100%" role="img" aria-label={`${title}: ${bars.map((b) => `${b.label} ${b.display ?? b.value}${unit}`).join(', ')}`}>
        {bars.map((b, i) => {
          const w = Math.max(0, (b.value / top) * (width - labelW - 70));
          return (
            <g key={i} transform={`translate(0, ${i * rowH + 4})`}>
              <text x={labelW - 8} y={rowH / 2 + 4} textAnchor="end" className="chart-label">{b.label.length > 24 ? b.label.slice(0, 23) + '…' : b.label}</text>
              <rect x={labelW} y={3} width={w} height={rowH - 8} rx={3} className="chart-bar" />
              <text x={labelW + w + 6} y={rowH / 2 + 4} className="chart-value">{(b.display ?? String(b.value)) + unit}</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function ProgressChart({ title, rows }: { title: string; rows: { label: string; done: number; started: number; total: number }[] }) {
  const rowH = 30;
  const labelW = 90;
  const width = 560;
  const barW = width - labelW - 120;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${rows.length * rowH + 8}`} width="100%" role="img" aria-label={`${title}: ${rows.map((r) => `${r.label} ${r.done} of ${r.total} complete`).join(', ')}`}>
        {rows.map((r, i) => {
          const t = Math.max(1, r.total);
          return (
            <g key={i} transform={`translate(0, ${i * rowH + 4})`}>
              <text x={labelW - 8} y={rowH / 2 + 3} textAnchor="end" className="chart-label">{r.label}</text>
              <rect x={labelW} y={4} width={barW} height={rowH - 12} rx={3} className="chart-track" />
              <rect x={labelW} y={4} width={(Math.min(r.started, r.total) / t) * barW} height={rowH - 12} rx={3} className="chart-bar-light" />
              <rect x={labelW} y={4} width={(r.done / t) * barW} height={rowH - 12} rx={3} className="chart-bar" />
              <text x={labelW + barW + 8} y={rowH / 2 + 3} className="chart-value">{r.done}/{r.total} ({Math.round((100 * r.done) / t)}%)</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

export function Histogram({ title, bins }: { title: string; bins: { label: string; count: number }[] }) {
  const width = 560;
  const h = 160;
  const top = 18;
  const max = Math.max(1, ...bins.map((b) => b.count));
  const bw = (width - 20) / bins.length;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${h + top + 30}`} width="100%" role="img" aria-label={`${title}: ${bins.map((b) => `${b.label}: ${b.count}`).join(', ')}`}>
        {bins.map((b, i) => {
          const bh = (b.count / max) * h;
          return (
            <g key={i}>
              <rect x={10 + i * bw + 3} y={top + h - bh} width={bw - 6} height={bh} rx={2} className="chart-bar" />
              <text x={10 + i * bw + bw / 2} y={top + h + 18} textAnchor="middle" className="chart-label">{b.label}</text>
              {b.count > 0 && <text x={10 + i * bw + bw / 2} y={top + h - bh - 4} textAnchor="middle" className="chart-value">{b.count}</text>}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

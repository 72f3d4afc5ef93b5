/** One bar: a ceiling (grey), a measured figure (blue), or a historical reference (orange). */
export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly kind: 'ceiling' | 'measured' | 'reference';
  /** Overrides the chart's unit for this bar ("tx/s" among "req/s"). */
  readonly unit?: string;
}

export interface BarChart {
  readonly title: string;
  /** Appended to every value label: "req/s", "ms". */
  readonly unit: string;
  readonly bars: readonly Bar[];
  /** Log scale, when bars span orders of magnitude (req/s of a bare route vs. a legacy baseline). */
  readonly log?: boolean;
}

const COLORS = { ceiling: '#9aa0a6', measured: '#1a73e8', reference: '#e8710a' } as const;
const WIDTH = 760;
const LABEL_W = 250;
const BAR_H = 22;
const GAP = 8;
const TOP = 40;
const VALUE_W = 110;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/**
 * A horizontal bar chart as a standalone SVG document: one row per bar,
 * label on the left, value at the bar's end. No chart library: a handful of
 * rects and texts renders the same on GitHub, in a browser and in an IDE.
 */
export function barChart(chart: BarChart): string {
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const finite = chart.bars.map((bar) => (Number.isFinite(bar.value) && bar.value > 0 ? bar.value : 0));
  const max = Math.max(...finite, 1e-9);
  const min = Math.min(...finite.filter((v) => v > 0), max);
  // Log scale starts a decade below the smallest bar so that it still shows.
  const floor = Math.log10(min) - 1;
  const scale = (v: number) =>
    v <= 0 ? 0 : chart.log ? (plotW * (Math.log10(v) - floor)) / (Math.log10(max) - floor) : (plotW * v) / max;
  const height = TOP + chart.bars.length * (BAR_H + GAP) + 30;
  const rows = chart.bars.map((bar, i) => {
    const y = TOP + i * (BAR_H + GAP);
    const w = Math.max(1, scale(finite[i] ?? 0));
    return [
      `<text x="${LABEL_W - 8}" y="${y + BAR_H * 0.7}" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[bar.kind]}"/>`,
      `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H * 0.7}">${escape(`${formatNumber(bar.value)} ${bar.unit ?? chart.unit}`)}</text>`,
    ].join('');
  });
  const legend = (['ceiling', 'measured', 'reference'] as const)
    .filter((kind) => chart.bars.some((bar) => bar.kind === kind))
    .map((kind, i) => `<rect x="${LABEL_W + i * 120}" y="${height - 20}" width="12" height="12" fill="${COLORS[kind]}"/><text x="${LABEL_W + i * 120 + 16}" y="${height - 10}">${kind}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(chart.title)}${chart.log ? ' (log scale)' : ''}</text>`,
    ...rows,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * What a run measured: rows with a value per server (raw ws, Socket.IO,
 * Herald), the targets of the issue checked against them, profiles, and notes.
 * Printed as one table with the ratios of the same run, and written to
 * bench/RESULTS.md.
 */
import type { ServerKind } from './servers.js';

export interface Row {
  section: string;
  measure: string;
  unit: string;
  values: Partial<Record<ServerKind, number>>;
  /** Whether more is better (deliveries/s) or worse (latency, CPU, memory): only to word the ratios. */
  better: 'higher' | 'lower';
  note?: string;
  /** Listed in the ratio lines (the table shows every ratio anyway). */
  key?: boolean;
}

export interface TargetCheck {
  name: string;
  /** The measured value, as text. */
  measured: string;
  goal: string;
  met: boolean | undefined;
}

export class Results {
  readonly rows: Row[] = [];
  readonly targets: TargetCheck[] = [];
  readonly notes: string[] = [];
  readonly profiles: string[] = [];
  readonly failures: string[] = [];

  add(row: Row): void {
    const existing = this.rows.find((r) => r.section === row.section && r.measure === row.measure);
    if (existing) Object.assign(existing.values, row.values);
    else this.rows.push(row);
  }

  value(section: string, measure: string, kind: ServerKind): number | undefined {
    return this.rows.find((r) => r.section === section && r.measure === measure)?.values[kind];
  }

  target(check: TargetCheck): void {
    this.targets.push(check);
  }
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (unit === '/s' || unit === 'count') return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : a / b;
const formatRatio = (r: number | undefined) => (r === undefined ? '–' : `${r.toFixed(2)}×`);

/** A Markdown table (also readable as plain text). */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `| ${widths.map((w, i) => (i < 2 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`, ...rows.map(line)];
}

export const TABLE_HEADER = ['phase', 'measure', 'raw ws', 'Socket.IO', 'Herald', 'Herald/ws', 'Herald/Socket.IO'];
/** The columns added when a run measured another build beside this one (`--baseline`). */
export const BASELINE_HEADER = ['previous Herald', 'Herald/previous'];

/** The results table, the ratio lines and the targets, as text lines. */
export function renderResults(results: Results): string[] {
  const lines: string[] = [];
  const withBaseline = results.rows.some((r) => r.values.previous !== undefined);
  const rows = results.rows.map((r) => [
    r.section,
    `${r.measure} (${r.unit})`,
    format(r.values.ws, r.unit),
    format(r.values.sio, r.unit),
    format(r.values.herald, r.unit),
    formatRatio(ratio(r.values.herald, r.values.ws)),
    formatRatio(ratio(r.values.herald, r.values.sio)),
    ...(withBaseline ? [format(r.values.previous, r.unit), formatRatio(ratio(r.values.herald, r.values.previous))] : []),
  ]);
  lines.push(...table([...TABLE_HEADER, ...(withBaseline ? BASELINE_HEADER : [])], rows));
  const notes = results.rows.filter((r) => r.note).map((r) => `- ${r.section}, ${r.measure}: ${r.note}`);
  if (notes.length > 0) lines.push('', ...notes);

  lines.push('', 'Ratios of the key measures (same run; for latency, CPU and memory lower is better):');
  const kinds = [['ws', 'Herald/ws'], ['sio', 'Herald/Socket.IO'], ['previous', 'Herald/previous']] as const;
  for (const [kind, name] of kinds.filter(([kind]) => kind !== 'previous' || withBaseline)) {
    const parts = results.rows
      .filter((r) => r.key)
      .map((r) => ({ r, x: ratio(r.values.herald, r.values[kind]) }))
      .filter(({ x }) => x !== undefined)
      .map(({ r, x }) => `${r.section} ${r.measure} ${formatRatio(x)}`);
    lines.push(`${name}: ${parts.length > 0 ? parts.join('; ') : '(no common measure in this run)'}`);
  }

  lines.push('', 'Targets:');
  for (const t of results.targets) {
    const mark = t.met === undefined ? '[n/a]   ' : t.met ? '[met]   ' : '[MISSED]';
    lines.push(`${mark} ${t.name}: ${t.measured} (target ${t.goal})`);
  }
  if (results.notes.length > 0) lines.push('', 'Notes:', ...results.notes.map((n) => `- ${n}`));
  if (results.failures.length > 0) lines.push('', 'Failed phases:', ...results.failures.map((f) => `- ${f}`));
  return lines;
}

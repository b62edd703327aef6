import { stringify } from 'yaml';
import { CliError, ExitCode } from './errors';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Checks `--output`. @throws CliError exit 2 for another value. */
export function outputFormat(v: unknown): OutputFormat {
  if (v === undefined) return 'table';
  if (!OUTPUT_FORMATS.includes(v as OutputFormat)) throw new CliError(`--output must be one of ${OUTPUT_FORMATS.join(', ')}`, ExitCode.Usage);
  return v as OutputFormat;
}

/** Rows as an aligned text table with an upper-case header; `-` for empty cells. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join('\n');
}

/** Prints `data` as JSON or YAML, or calls `asTable` for the table. */
export function print(format: OutputFormat, data: unknown, asTable: () => string, out: (s: string) => void = (s) => process.stdout.write(s)): void {
  if (format === 'json') out(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') out(stringify(data));
  else out(`${asTable()}\n`);
}

/** `3s`, `4m12s`, `2h5m`, `3d` since an ISO time. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

/** `--timeout`: `90`, `90s`, `10m`, `1h`. @throws CliError exit 2. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new CliError(`${v} is not a duration (e.g. 90s, 10m, 1h)`, ExitCode.Usage);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
}

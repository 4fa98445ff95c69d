import { secondsBetween, typedHyperparameters } from './events';
import type { Goal, TuningSpec } from './spec';
import { TRIAL_STATUSES, type TrialStatus } from './status';
import { isBetter, selectBestTrial, type Trial } from './trial';

/**
 * A study is a job's trials seen together: the rows of a trial table, their order, a CSV export,
 * the best-so-far line and which parameters mattered. Pure (no Node modules): the CLI uses it and
 * the dashboard page bundles it, so both show the same numbers.
 */

/** A hyperparameter as a table shows it: numeric parameters as numbers, the rest as text. */
export type ParameterValue = string | number;

/** One trial as a row of the trial table. */
export interface TrialRow {
  readonly trialId: string;
  /** By hyperparameter name, typed by the spec (see `typedHyperparameters`). */
  readonly hyperparameters: Readonly<Record<string, ParameterValue>>;
  /** A finite objective value, or undefined. */
  readonly objectiveValue?: number;
  readonly status: TrialStatus;
  /** From `startedAt` to `endedAt`, when the trial has both. */
  readonly durationSeconds?: number;
  readonly stoppedEarly: boolean;
  readonly failureReason?: string;
  /** The job's best trial. At most one row of a study has it. */
  readonly best: boolean;
}

/** The keys a trial table sorts by besides its parameter names. */
export const SORT_FIELDS = ['trial', 'objective', 'duration', 'status'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export type SortDirection = 'asc' | 'desc';

const DIGITS = /(\d+)/;

/**
 * Compares ids as people read them: runs of digits by their number, the rest by character, so
 * `trial-2` comes before `trial-10`, `job-001-abc` before `job-002-abc` and `"2"` before `"10"`.
 * Equal numbers with different zero padding (`"01"`, `"1"`) and otherwise equal ids fall back to
 * a plain comparison, so the order is total and never depends on the input's order.
 *
 * @example ['trial-10', 'trial-2'].sort(naturalCompare) // ['trial-2', 'trial-10']
 */
export function naturalCompare(a: string, b: string): number {
  const partsA = a.split(DIGITS);
  const partsB = b.split(DIGITS);
  const shared = Math.min(partsA.length, partsB.length);
  for (let i = 0; i < shared; i++) {
    const [x, y] = [partsA[i] as string, partsB[i] as string];
    if (x === y) continue;
    // split() puts the digit runs at odd indexes
    const byNumber = i % 2 === 1 ? compareDigitRuns(x, y) : 0;
    if (byNumber !== 0) return byNumber;
    if (i % 2 === 0) return plainCompare(x, y);
  }
  if (partsA.length !== partsB.length) return partsA.length - partsB.length;
  return plainCompare(a, b);
}

/** Two runs of digits by the number they spell, however long (no precision lost past 2^53). */
function compareDigitRuns(x: string, y: string): number {
  const [u, v] = [x.replace(/^0+(?=\d)/, ''), y.replace(/^0+(?=\d)/, '')];
  if (u.length !== v.length) return u.length - v.length;
  return plainCompare(u, v);
}

function plainCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The trials as table rows, in natural trial order. The best trial is `bestTrialId` when given
 * (the job's record: what promotion used), else the one `selectBestTrial` picks for the spec's goal.
 *
 * @example trialRows(job.spec, trials, { bestTrialId: job.bestTrial?.trialId })
 */
export function trialRows(
  spec: Pick<TuningSpec, 'parameters' | 'objective'>,
  trials: readonly Trial[],
  options: { readonly bestTrialId?: string | undefined } = {},
): TrialRow[] {
  const listed = new Set(trials.map((t) => t.trialId));
  const bestId = options.bestTrialId !== undefined && listed.has(options.bestTrialId) ? options.bestTrialId : selectBestTrial(trials, spec.objective.goal)?.trialId;
  return [...trials]
    .sort((a, b) => naturalCompare(a.trialId, b.trialId))
    .map((trial) => {
      const durationSeconds = secondsBetween(trial.startedAt, trial.endedAt);
      const objective = trial.objectiveValue;
      return {
        trialId: trial.trialId,
        hyperparameters: typedHyperparameters(spec, trial.hyperparameters),
        ...(objective !== undefined && Number.isFinite(objective) ? { objectiveValue: objective } : {}),
        status: trial.status,
        ...(durationSeconds !== undefined ? { durationSeconds } : {}),
        stoppedEarly: trial.stoppedEarly,
        ...(trial.failureReason !== undefined ? { failureReason: trial.failureReason } : {}),
        best: trial.trialId === bestId,
      };
    });
}

/**
 * The parameter columns of a trial table: the spec's parameters in spec order (each is one
 * hyperparameter of its own name; a categorical one is still one column, whatever it counts
 * towards SageMaker's limit), then the other hyperparameters a provider reported (a SageMaker
 * training job lists its static hyperparameters too), in natural order.
 */
export function parameterColumns(spec: Pick<TuningSpec, 'parameters'>, rows: readonly Pick<TrialRow, 'hyperparameters'>[]): string[] {
  const names = spec.parameters.map((p) => p.name);
  const known = new Set(names);
  const extra = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row.hyperparameters)) if (!known.has(name)) extra.add(name);
  return [...names, ...[...extra].sort(naturalCompare)];
}

/** The keys `sortRows` takes for these parameter columns: the fixed fields first. */
export function sortKeys(parameters: readonly string[]): string[] {
  return [...SORT_FIELDS, ...parameters.filter((p) => !(SORT_FIELDS as readonly string[]).includes(p))];
}

/**
 * Rows sorted by a field (`trial`, `objective`, `duration`, `status`) or a parameter name; a
 * parameter named like a field is reached by the field. Missing values (no objective, no
 * duration, a parameter the trial does not have) sort last in both directions; ties keep natural
 * trial order. Statuses sort in the vocabulary's order (pending, running, succeeded, failed,
 * stopped, infeasible); parameter values numbers before text, text in natural order.
 *
 * @example sortRows(rows, 'objective', 'desc')[0] // the highest objective
 */
export function sortRows(rows: readonly TrialRow[], key: string, direction: SortDirection = 'asc'): TrialRow[] {
  const valueOf = sortValue(key);
  const sign = direction === 'desc' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const [x, y] = [valueOf(a), valueOf(b)];
    if (x === undefined || y === undefined) {
      if (x !== y) return x === undefined ? 1 : -1;
    } else {
      const order = compareValues(x, y);
      if (order !== 0) return sign * order;
    }
    return naturalCompare(a.trialId, b.trialId);
  });
}

/**
 * The `--sort` / `?sort=` syntax: a key, with a leading `-` for descending.
 *
 * @example parseSort('-objective') // { key: 'objective', direction: 'desc' }
 */
export function parseSort(text: string): { readonly key: string; readonly direction: SortDirection } {
  return text.startsWith('-') ? { key: text.slice(1), direction: 'desc' } : { key: text, direction: 'asc' };
}

function sortValue(key: string): (row: TrialRow) => ParameterValue | undefined {
  switch (key) {
    case 'trial':
      return (row) => row.trialId;
    case 'objective':
      return (row) => row.objectiveValue;
    case 'duration':
      return (row) => row.durationSeconds;
    case 'status':
      return (row) => TRIAL_STATUSES.indexOf(row.status);
    default:
      return (row) => {
        const value = Object.hasOwn(row.hyperparameters, key) ? row.hyperparameters[key] : undefined;
        return typeof value === 'number' && !Number.isFinite(value) ? undefined : value;
      };
  }
}

function compareValues(x: ParameterValue, y: ParameterValue): number {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'number') return -1;
  if (typeof y === 'number') return 1;
  return naturalCompare(x, y);
}

// ---- CSV --------------------------------------------------------------------------------------

export type CsvCell = string | number | boolean | undefined;

/** First characters that make a spreadsheet read a text cell as a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * CSV as RFC 4180 writes it: a header, then one record a row, records ended by CRLF (or
 * `newline`); a field holding a comma, a quote, CR or LF is quoted, its quotes doubled. Numbers
 * are written as JavaScript spells them (no rounding; a non-finite one as an empty field), and
 * `undefined` as an empty field. A text field that a spreadsheet would run as a formula (starting
 * with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`; numbers never do, so `-0.5` stays a number.
 *
 * @example toCsv(['trial', 'x'], [['t1', -0.5], ['=cmd', 2]]) // 'trial,x\r\nt1,-0.5\r\n\'=cmd,2\r\n'
 */
export function toCsv(columns: readonly string[], rows: readonly (readonly CsvCell[])[], options: { readonly newline?: '\r\n' | '\n' } = {}): string {
  const newline = options.newline ?? '\r\n';
  const record = (cells: readonly CsvCell[]) => cells.map(csvField).join(',') + newline;
  return record(columns) + rows.map(record).join('');
}

function csvField(cell: CsvCell): string {
  if (cell === undefined) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  if (typeof cell === 'boolean') return String(cell);
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A trial table as CSV: `trial`, the parameter columns, `objective`, `status`, `stoppedEarly`,
 * `durationSeconds`, `failureReason`, `best`; one record a row, in the rows' order.
 */
export function trialsCsv(parameters: readonly string[], rows: readonly TrialRow[], options: { readonly newline?: '\r\n' | '\n' } = {}): string {
  const columns = ['trial', ...parameters, 'objective', 'status', 'stoppedEarly', 'durationSeconds', 'failureReason', 'best'];
  const cells = rows.map((row) => [
    row.trialId,
    ...parameters.map((p) => (Object.hasOwn(row.hyperparameters, p) ? row.hyperparameters[p] : undefined)),
    row.objectiveValue,
    row.status,
    row.stoppedEarly,
    row.durationSeconds,
    row.failureReason,
    row.best,
  ]);
  return toCsv(columns, cells, options);
}

// ---- history and importance -------------------------------------------------------------------

/**
 * The best objective so far after each trial, for the optimization history's step line:
 * undefined until the first finite value; a missing or non-finite value repeats the best before it.
 *
 * @example bestSoFar([0.5, undefined, 0.4, 0.7], 'maximize') // [0.5, 0.5, 0.5, 0.7]
 */
export function bestSoFar(values: readonly (number | undefined)[], goal: Goal): (number | undefined)[] {
  let best: number | undefined;
  return values.map((value) => {
    if (value !== undefined && Number.isFinite(value) && (best === undefined || isBetter(goal, value, best))) best = value;
    return best;
  });
}

/** How much of the objective's spread one parameter accounts for. */
export interface ParameterImportance {
  readonly parameter: string;
  /** This parameter's share of the parameters' total: the importances of a study sum to 1 (or are all 0). */
  readonly importance: number;
  /** The correlation ratio η² itself, 0 to 1: the share of the objective's variance between its groups. */
  readonly etaSquared: number;
}

/** A numeric parameter with more distinct values than this is binned into this many quantile bins. */
export const IMPORTANCE_BINS = 5;

/**
 * Which parameters mattered, most important first (ties in spec order).
 *
 * The method, in the spirit of Optuna's fANOVA importances but with one parameter at a time and
 * nothing fitted, so the number can be explained:
 *
 * 1. Take the trials that finished (succeeded or stopped) with a finite objective; with fewer than
 *    two there is nothing to compare, and the answer is empty.
 * 2. For each spec parameter, group those trials by its value: categorical and discrete
 *    parameters by value; double and integer ones by value when they took at most 5 distinct
 *    values, else into 5 quantile bins (equal counts by rank; equal values always share a bin).
 *    Trials without the parameter form a group of their own.
 * 3. The parameter's η² (correlation ratio) is the share of the objective's variance that lies
 *    between the groups' means: Σ nᵍ(ȳᵍ − ȳ)² / Σ (yᵢ − ȳ)². A parameter that took one value has 0;
 *    when every objective is equal, every parameter has 0.
 * 4. Importance is η² divided by the sum over the parameters, so the bars add up to 1.
 *
 * Read it as "how much the objective moved with this parameter alone": interactions between
 * parameters are not separated, and a categorical parameter with many values and few trials
 * can look more important than it is (each trial is nearly its own group).
 *
 * @example parameterImportance(spec, rows)[0] // { parameter: 'max_depth', importance: 0.71, etaSquared: 0.64 }
 */
export function parameterImportance(spec: Pick<TuningSpec, 'parameters'>, rows: readonly TrialRow[]): ParameterImportance[] {
  const measured = rows.filter((r) => (r.status === 'succeeded' || r.status === 'stopped') && r.objectiveValue !== undefined && Number.isFinite(r.objectiveValue));
  if (measured.length < 2) return [];
  const ys = measured.map((r) => r.objectiveValue as number);
  const mean = ys.reduce((sum, y) => sum + y, 0) / ys.length;
  const total = ys.reduce((sum, y) => sum + (y - mean) ** 2, 0);
  const etas = spec.parameters.map((p) => {
    if (!(total > 0)) return 0;
    const values = measured.map((r) => (Object.hasOwn(r.hyperparameters, p.name) ? r.hyperparameters[p.name] : undefined));
    const groups = p.type === 'double' || p.type === 'integer' ? numericGroups(values) : values.map(groupOfValue);
    return clamp01(betweenGroups(groups, ys, mean) / total);
  });
  const sum = etas.reduce((s, e) => s + e, 0);
  return spec.parameters
    .map((p, i) => ({ parameter: p.name, importance: sum > 0 ? (etas[i] as number) / sum : 0, etaSquared: etas[i] as number, order: i }))
    .sort((a, b) => b.importance - a.importance || a.order - b.order)
    .map(({ order: _order, ...importance }) => importance);
}

const MISSING_GROUP = '\u0000missing';

function groupOfValue(value: ParameterValue | undefined): string {
  return value === undefined ? MISSING_GROUP : `${typeof value}:${value}`;
}

/** Group keys for a numeric parameter's values: by value when few, else by quantile bin. */
function numericGroups(values: readonly (ParameterValue | undefined)[]): string[] {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (new Set(numbers).size <= IMPORTANCE_BINS) return values.map(groupOfValue);
  // a bin starts at the value found at each k/5 of the ranks; equal values get the same bin
  const edges = [...new Set(Array.from({ length: IMPORTANCE_BINS - 1 }, (_, k) => numbers[Math.floor(((k + 1) * numbers.length) / IMPORTANCE_BINS)] as number))];
  return values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? `bin:${edges.filter((edge) => v >= edge).length}` : groupOfValue(v)));
}

function betweenGroups(groups: readonly string[], ys: readonly number[], mean: number): number {
  const sums = new Map<string, { n: number; sum: number }>();
  groups.forEach((group, i) => {
    const held = sums.get(group) ?? { n: 0, sum: 0 };
    sums.set(group, { n: held.n + 1, sum: held.sum + (ys[i] as number) });
  });
  let between = 0;
  for (const { n, sum } of sums.values()) between += n * (sum / n - mean) ** 2;
  return between;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

import type { TuningSpec } from '../../domain/spec';
import { bestSoFar, parameterColumns, parameterImportance, sortRows, trialRows, trialsCsv, type TrialRow } from '../../domain/study';
import type { Api, HistoryAnswer, JobView, LogsAnswer, TrialsAnswer } from './api';
import { Chart, historyOption, importanceOption, parallelOption, sliceOption, type Axis, type PlotPoint } from './charts';
import { formatDuration } from '../../domain/format';
import { age, badge, download, h, num, show } from './dom';

/** The page's state that outlives a refresh: how the table is sorted and filtered, which trial's log is open. */
interface TableState {
  sortKey: string;
  direction: 'asc' | 'desc';
  status: string;
  search: string;
  logsOf?: string;
}

/**
 * A job's page: what the ledger says of it, its plots, its trial table and its history. `refresh`
 * reads the API again and redraws in place, keeping the table's sort, filter and open log.
 */
export class JobPage {
  private readonly state: TableState = { sortKey: 'trial', direction: 'asc', status: '', search: '' };
  private spec?: TuningSpec;
  private rows: TrialRow[] = [];
  private parameters: string[] = [];
  private readonly charts = new Map<string, Chart>();
  private readonly sections = {
    head: h('section', { class: 'job-head' }),
    plots: h('section', { class: 'plots' }),
    slices: h('section', { class: 'slices' }),
    trials: h('section', { class: 'trials' }),
    logs: h('section', { class: 'logs', hidden: true }),
    timeline: h('section', { class: 'timeline' }),
    spec: h('details', { class: 'spec' }),
  };

  constructor(
    private readonly api: Api,
    readonly jobId: string,
    readonly root: HTMLElement,
  ) {
    show(root, h('a', { href: '#/jobs', class: 'back' }, '← all jobs'), ...Object.values(this.sections));
  }

  async refresh(): Promise<void> {
    const id = encodeURIComponent(this.jobId);
    const [job, trials, history] = await Promise.all([
      this.api.get<JobView>(`/jobs/${id}`),
      this.api.get<TrialsAnswer>(`/jobs/${id}/trials`),
      this.api.get<HistoryAnswer>(`/jobs/${id}/history`),
    ]);
    this.spec ??= (await this.api.get<{ spec: TuningSpec }>(`/jobs/${id}/spec`)).spec;
    const spec = this.spec;
    this.rows = trialRows(spec, trials.trials, { bestTrialId: job.bestTrial?.trialId });
    this.parameters = parameterColumns(spec, this.rows);
    this.drawHead(job, spec);
    this.drawPlots(spec);
    this.drawTable();
    this.drawTimeline(history);
    if (!this.sections.spec.childElementCount) show(this.sections.spec, h('summary', {}, 'Spec'), h('pre', {}, JSON.stringify(spec, null, 2)));
    if (this.state.logsOf) await this.drawLogs(this.state.logsOf);
  }

  dispose(): void {
    for (const chart of this.charts.values()) chart.dispose();
  }

  resize(): void {
    for (const chart of this.charts.values()) chart.resize();
  }

  private drawHead(job: JobView, spec: TuningSpec): void {
    const counts = Object.entries(job.trialCounts ?? {}).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`);
    const model = spec.promotion?.model;
    const fact = (term: string, ...value: (Node | string)[]) => [h('dt', {}, term), h('dd', {}, ...value)];
    show(
      this.sections.head,
      h('h1', {}, job.name, ' ', badge(job.status)),
      h(
        'dl',
        { class: 'facts' },
        ...fact('job', job.jobId),
        ...fact('provider', `${job.provider}: ${job.providerJobName}`),
        ...fact('objective', `${spec.objective.goal} ${spec.objective.metric}`),
        ...fact('search', `${spec.strategy}, ${spec.budget.maxTrials} trials, ${spec.budget.parallelTrials} at a time`),
        ...fact('best', job.bestTrial ? `${num(job.bestTrial.objectiveValue)} (${job.bestTrial.trialId})` : '-'),
        ...fact('trials', counts.length ? counts.join(', ') : 'none reported yet'),
        ...(job.endReason ? fact('ended', job.endReason) : []),
        ...(job.failureReason ? fact('failure', job.failureReason) : []),
        ...fact('created', `${job.createdAt} (${age(job.createdAt)} ago)`),
        ...fact('updated', job.updatedAt),
        ...(model ? fact('model', h('a', { href: `#/models/${encodeURIComponent(model)}` }, model)) : []),
      ),
    );
  }

  private chart(key: string, parent: HTMLElement, className = 'chart'): Chart {
    let chart = this.charts.get(key);
    if (!chart) {
      const box = h('div', { class: className, 'data-chart': key });
      parent.appendChild(box);
      chart = new Chart(box);
      this.charts.set(key, chart);
    }
    return chart;
  }

  private drawPlots(spec: TuningSpec): void {
    const { metric, goal } = spec.objective;
    const points: PlotPoint[] = this.rows.flatMap((row, i) =>
      row.objectiveValue === undefined ? [] : [{ index: i + 1, trialId: row.trialId, objective: row.objectiveValue, values: row.hyperparameters }],
    );
    const best = bestSoFar(points.map((p) => p.objective), goal);
    const axes = axesOf(spec, this.rows);
    this.chart('history', this.sections.plots).draw(historyOption(points, best, metric));
    this.chart('importance', this.sections.plots).draw(importanceOption(parameterImportance(spec, this.rows)));
    this.chart('parallel', this.sections.plots, 'chart wide').draw(parallelOption(axes, points, metric, goal));
    for (const axis of axes) this.chart(`slice:${axis.name}`, this.sections.slices, 'chart small').draw(sliceOption(axis, points, metric));
  }

  private visibleRows(): TrialRow[] {
    const search = this.state.search.trim().toLowerCase();
    const shown = this.rows.filter(
      (row) =>
        (!this.state.status || row.status === this.state.status) &&
        (!search || [row.trialId, ...Object.values(row.hyperparameters).map(String), row.failureReason ?? ''].some((text) => text.toLowerCase().includes(search))),
    );
    return sortRows(shown, this.state.sortKey, this.state.direction);
  }

  private drawTable(): void {
    const visible = this.visibleRows();
    const statuses = [...new Set(this.rows.map((r) => r.status))].sort();
    const heading = (key: string, label: string) => {
      const sorted = this.state.sortKey === key;
      return h(
        'th',
        { 'data-sort': key, 'aria-sort': sorted ? (this.state.direction === 'asc' ? 'ascending' : 'descending') : 'none' },
        h('button', { type: 'button', onclick: () => this.sortBy(key) }, label, sorted ? (this.state.direction === 'asc' ? ' ▲' : ' ▼') : ''),
      );
    };
    const toolbar = h(
      'div',
      { class: 'toolbar' },
      h('h2', {}, 'Trials'),
      h(
        'select',
        { 'aria-label': 'status', class: 'status-filter', onchange: (e) => this.filter({ status: (e.target as HTMLSelectElement).value }) },
        h('option', { value: '' }, 'every status'),
        ...statuses.map((s) => h('option', { value: s, selected: s === this.state.status }, s)),
      ),
      h('input', { type: 'search', placeholder: 'filter trials', value: this.state.search, 'aria-label': 'filter trials', class: 'trial-search', oninput: (e) => this.filter({ search: (e.target as HTMLInputElement).value }) }),
      h('span', { class: 'muted count' }, `${visible.length} of ${this.rows.length}`),
      h('button', { type: 'button', class: 'csv', onclick: () => download(`${this.jobId}-trials.csv`, trialsCsv(this.parameters, visible), 'text/csv') }, 'Download CSV'),
    );
    const table = h(
      'table',
      { id: 'trials' },
      h('thead', {}, h('tr', {}, h('th', { title: 'best trial' }, '★'), heading('trial', 'trial'), ...this.parameters.map((p) => heading(p, p)), heading('objective', 'objective'), heading('status', 'status'), heading('duration', 'duration'), h('th', {}, 'early stop'))),
      h(
        'tbody',
        {},
        ...visible.map((row) =>
          h(
            'tr',
            { 'data-trial': row.trialId, class: [row.best ? 'best' : '', row.trialId === this.state.logsOf ? 'open' : ''].join(' ').trim(), onclick: () => void this.openLogs(row.trialId), title: row.failureReason ?? 'show its log' },
            h('td', {}, row.best ? '★' : ''),
            h('td', { class: 'id' }, row.trialId),
            ...this.parameters.map((p) => h('td', { class: typeof row.hyperparameters[p] === 'number' ? 'n' : '' }, row.hyperparameters[p] === undefined ? '' : String(row.hyperparameters[p]))),
            h('td', { class: 'n objective' }, num(row.objectiveValue)),
            h('td', {}, badge(row.status)),
            h('td', { class: 'n' }, formatDuration(row.durationSeconds)),
            h('td', {}, row.stoppedEarly ? 'yes' : ''),
          ),
        ),
      ),
    );
    const focused = document.activeElement?.classList.contains('trial-search');
    show(this.sections.trials, toolbar, h('div', { class: 'scroll' }, table));
    if (focused) {
      const input = this.sections.trials.querySelector<HTMLInputElement>('.trial-search');
      input?.focus();
      input?.setSelectionRange(input.value.length, input.value.length);
    }
  }

  private sortBy(key: string): void {
    this.state.direction = this.state.sortKey === key && this.state.direction === 'asc' ? 'desc' : 'asc';
    this.state.sortKey = key;
    this.drawTable();
  }

  private filter(change: Partial<Pick<TableState, 'status' | 'search'>>): void {
    Object.assign(this.state, change);
    this.drawTable();
  }

  private async openLogs(trialId: string): Promise<void> {
    this.state.logsOf = trialId;
    this.drawTable();
    await this.drawLogs(trialId);
  }

  private async drawLogs(trialId: string): Promise<void> {
    const section = this.sections.logs;
    section.hidden = false;
    let logs: LogsAnswer;
    try {
      logs = await this.api.get<LogsAnswer>(`/jobs/${encodeURIComponent(this.jobId)}/trials/${encodeURIComponent(trialId)}/logs`);
    } catch (error) {
      show(section, h('h2', {}, `Log of ${trialId}`), h('p', { class: 'error' }, error instanceof Error ? error.message : String(error)));
      return;
    }
    if (this.state.logsOf !== trialId) return;
    show(
      section,
      h('div', { class: 'toolbar' }, h('h2', {}, `Log of ${trialId}`), h('button', { type: 'button', onclick: () => this.closeLogs() }, 'Close')),
      logs.truncated ? h('p', { class: 'muted' }, 'the last part of the log:') : null,
      logs.note ? h('p', { class: 'muted' }, logs.note) : null,
      logs.text !== undefined ? h('pre', { class: 'log' }, logs.text || '(empty)') : null,
      logs.links.length ? h('ul', { class: 'links' }, ...logs.links.map((l) => h('li', {}, h('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer' }, l.label)))) : null,
    );
  }

  private closeLogs(): void {
    delete this.state.logsOf;
    this.sections.logs.hidden = true;
    this.drawTable();
  }

  private drawTimeline(history: HistoryAnswer): void {
    show(
      this.sections.timeline,
      h('h2', {}, 'Status timeline'),
      h(
        'ol',
        { class: 'timeline' },
        ...timelineSteps(history.history).map((step) =>
          h(
            'li',
            { class: step.applied ? 'outcome-applied' : 'outcome-other' },
            h('time', { datetime: step.from }, shortTime(step.from)),
            step.to !== step.from ? h('span', { class: 'muted' }, ` – ${shortTime(step.to)}`) : '',
            ' ',
            step.status ? badge(step.status) : '',
            ' ',
            h('span', { class: 'muted' }, `${step.sources.join(', ')}: ${Object.entries(step.outcomes).map(([outcome, n]) => (n > 1 ? `${n} ${outcome}` : outcome)).join(', ')}`),
            step.detail ? h('span', { class: 'detail' }, ` — ${step.detail}`) : '',
          ),
        ),
      ),
    );
  }
}

/** Consecutive history entries that claim the same status, as one step of the timeline. */
interface TimelineStep {
  readonly status?: string;
  readonly from: string;
  to: string;
  readonly sources: string[];
  readonly outcomes: Record<string, number>;
  applied: boolean;
  detail?: string;
}

/**
 * The job's history as steps: each run of entries claiming one status becomes one step (a local
 * job reports RUNNING after every trial), with its time span, sources and outcome counts.
 */
function timelineSteps(history: HistoryAnswer['history']): TimelineStep[] {
  const steps: TimelineStep[] = [];
  for (const entry of history) {
    const last = steps.at(-1);
    const step: TimelineStep =
      last && last.status === entry.claimedStatus
        ? last
        : { ...(entry.claimedStatus ? { status: entry.claimedStatus } : {}), from: entry.receivedAt, to: entry.receivedAt, sources: [], outcomes: {}, applied: false };
    if (step !== last) steps.push(step);
    step.to = entry.receivedAt;
    if (!step.sources.includes(entry.source)) step.sources.push(entry.source);
    step.outcomes[entry.outcome] = (step.outcomes[entry.outcome] ?? 0) + 1;
    step.applied ||= entry.outcome === 'applied';
    if (entry.detail) step.detail = entry.detail;
  }
  return steps;
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The plots' axes: each spec parameter in spec order, by category or numeric (log where the spec searches on a log scale). */
function axesOf(spec: TuningSpec, rows: readonly TrialRow[]): Axis[] {
  return spec.parameters.map((p) => {
    if (p.type === 'categorical') return { name: p.name, kind: 'category', categories: p.values };
    const positive = rows.every((r) => typeof r.hyperparameters[p.name] !== 'number' || (r.hyperparameters[p.name] as number) > 0);
    const log = 'scale' in p && p.scale === 'log' && positive;
    return { name: p.name, kind: log ? 'log' : 'value' };
  });
}

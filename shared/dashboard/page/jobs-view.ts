import { trialCountsCell } from '../../domain/format';
import { JOB_STATUSES } from '../../domain/status';
import { PROVIDERS } from '../../domain/providers';
import type { Api, JobPage as JobList, JobView } from './api';
import { age, badge, h, num, show } from './dom';

/** How many jobs the list reads: the API's largest page. */
const LIST_LIMIT = 200;

/** The job list: status, provider, best objective, trial counts and age; filtered by status and provider, searched by name or id. */
export class JobsPage {
  private readonly filters = { status: '', provider: '', search: '' };
  private jobs: JobView[] = [];
  private more = false;
  private readonly list = h('section', { class: 'jobs' });

  constructor(
    private readonly api: Api,
    readonly root: HTMLElement,
  ) {
    const select = (label: string, key: 'status' | 'provider', values: readonly string[]) =>
      h(
        'select',
        { 'aria-label': label, class: `${key}-filter`, onchange: (e) => this.filter({ [key]: (e.target as HTMLSelectElement).value }) },
        h('option', { value: '' }, `every ${label}`),
        ...values.map((v) => h('option', { value: v }, v)),
      );
    show(
      root,
      h(
        'div',
        { class: 'toolbar' },
        h('h1', {}, 'Jobs'),
        select('status', 'status', JOB_STATUSES),
        select('provider', 'provider', PROVIDERS),
        h('input', { type: 'search', placeholder: 'search name or id', 'aria-label': 'search jobs', class: 'job-search', oninput: (e) => this.filter({ search: (e.target as HTMLInputElement).value }) }),
      ),
      this.list,
    );
  }

  async refresh(): Promise<void> {
    const query = new URLSearchParams({ limit: String(LIST_LIMIT) });
    if (this.filters.status) query.set('status', this.filters.status);
    if (this.filters.provider) query.set('provider', this.filters.provider);
    const page = await this.api.get<JobList>(`/jobs?${query}`);
    this.jobs = page.jobs;
    this.more = Boolean(page.next);
    this.draw();
  }

  dispose(): void {}

  resize(): void {}

  private filter(change: Partial<typeof this.filters>): void {
    const refetch = change.status !== undefined || change.provider !== undefined;
    Object.assign(this.filters, change);
    if (refetch) void this.refresh();
    else this.draw();
  }

  private draw(): void {
    const search = this.filters.search.trim().toLowerCase();
    const shown = this.jobs.filter((j) => !search || j.name.toLowerCase().includes(search) || j.jobId.toLowerCase().includes(search));
    if (shown.length === 0) {
      show(this.list, h('p', { class: 'muted empty' }, this.jobs.length ? 'no job matches' : 'no jobs yet: `npm start` runs the demo, `tunewire submit <spec>` a job of yours'));
      return;
    }
    show(
      this.list,
      h(
        'table',
        { id: 'jobs' },
        h('thead', {}, h('tr', {}, ...['job', 'status', 'provider', 'best', 'trials', 'age'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          ...shown.map((job) =>
            h(
              'tr',
              { 'data-job': job.jobId },
              h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.jobId)}` }, job.name), h('div', { class: 'muted id' }, job.jobId)),
              h('td', {}, badge(job.status)),
              h('td', {}, job.provider),
              h('td', { class: 'n' }, num(job.bestTrial?.objectiveValue)),
              h('td', {}, trialCountsCell(job)),
              h('td', { class: 'n', title: job.createdAt }, age(job.createdAt)),
            ),
          ),
        ),
      ),
      this.more ? h('p', { class: 'muted' }, `the ${this.jobs.length} newest jobs are shown`) : null,
    );
  }
}

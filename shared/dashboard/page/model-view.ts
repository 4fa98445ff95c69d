import type { Api, ModelAnswer } from './api';
import type { PromotionRecord } from '../../ports/ledger';
import { Chart, championOption, type DecisionPoint } from './charts';
import { h, num, show } from './dom';

/** A model's page: its champion, and every promotion decision with its reason. */
export class ModelPage {
  private chart?: Chart;
  private readonly head = h('section', { class: 'model-head' });
  private readonly plot = h('section', { class: 'plots' });
  private readonly decisions = h('section', { class: 'decisions' });

  constructor(
    private readonly api: Api,
    readonly model: string,
    readonly root: HTMLElement,
  ) {
    show(root, h('a', { href: '#/jobs', class: 'back' }, '← all jobs'), this.head, this.plot, this.decisions);
  }

  async refresh(): Promise<void> {
    const answer = await this.api.get<ModelAnswer>(`/models/${encodeURIComponent(this.model)}`);
    const { champion, promotions } = answer;
    const fact = (term: string, ...value: (Node | string)[]) => [h('dt', {}, term), h('dd', {}, ...value)];
    const jobLink = (jobId: string) => h('a', { href: `#/jobs/${encodeURIComponent(jobId)}` }, jobId);
    show(
      this.head,
      h('h1', {}, `Model ${this.model}`),
      champion
        ? h(
            'dl',
            { class: 'facts champion' },
            ...fact('champion', jobLink(champion.jobId), `, trial ${champion.trialId}`),
            ...fact('objective', `${champion.goal} = ${num(champion.objectiveValue)}`),
            ...fact('version', String(champion.version)),
            ...fact('promoted', champion.promotedAt),
          )
        : h('p', { class: 'muted' }, 'no champion yet'),
    );
    if (promotions.length) {
      this.chart ??= new Chart(this.plot.appendChild(h('div', { class: 'chart wide', 'data-chart': 'champions' })));
      this.chart.draw(championOption(decisionPoints(promotions)));
    }
    show(
      this.decisions,
      h('h2', {}, 'Promotion decisions'),
      promotions.length === 0
        ? h('p', { class: 'muted' }, 'no decisions yet')
        : h(
            'table',
            { id: 'promotions' },
            h('thead', {}, h('tr', {}, ...['decided', 'decision', 'job', 'trial', 'objective', 'reason'].map((c) => h('th', {}, c)))),
            h(
              'tbody',
              {},
              ...[...promotions].reverse().map((p) =>
                h(
                  'tr',
                  { 'data-decision': p.decision },
                  h('td', {}, p.decidedAt),
                  h('td', {}, h('span', { class: `badge decision-${p.decision}` }, p.decision)),
                  h('td', {}, jobLink(p.jobId)),
                  h('td', {}, p.trialId ?? '-'),
                  h('td', { class: 'n' }, num(p.objectiveValue)),
                  h('td', {}, p.reason),
                ),
              ),
            ),
          ),
    );
  }

  dispose(): void {
    this.chart?.dispose();
  }

  resize(): void {
    this.chart?.resize();
  }
}

/** Each decision with the champion's objective after it: a promotion's value, else the one before. */
function decisionPoints(promotions: readonly PromotionRecord[]): DecisionPoint[] {
  let champion: number | undefined;
  return promotions.map((p) => {
    if (p.decision === 'promoted' && p.objectiveValue !== undefined) champion = p.objectiveValue;
    return {
      at: p.decidedAt,
      decision: p.decision,
      ...(p.objectiveValue !== undefined ? { candidate: p.objectiveValue } : {}),
      ...(champion !== undefined ? { champion } : {}),
      label: `${p.jobId}${p.trialId ? ` ${p.trialId}` : ''}: ${p.decision}`,
    };
  });
}

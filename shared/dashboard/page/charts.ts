import { BarChart, LineChart, ParallelChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, ParallelComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import type { EChartsCoreOption } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

// Only what the dashboard draws: esbuild leaves the rest of ECharts out of the bundle.
echarts.use([ScatterChart, LineChart, BarChart, ParallelChart, GridComponent, LegendComponent, ParallelComponent, TitleComponent, TooltipComponent, SVGRenderer]);

/** One axis of the study's plots: a parameter (or the objective), numeric or by category, linear or log. */
export interface Axis {
  readonly name: string;
  readonly kind: 'value' | 'log' | 'category';
  /** The category values, in the spec's order, for a category axis. */
  readonly categories?: readonly string[];
}

/** A trial as the plots need it: its order, id, objective and parameter values. */
export interface PlotPoint {
  readonly index: number;
  readonly trialId: string;
  readonly objective: number;
  readonly values: Readonly<Record<string, string | number | undefined>>;
}

const COLORS = { point: '#3867d6', best: '#e1700f', muted: '#9aa5b1' };

/**
 * A chart in `container`, drawn with `option`; later options replace it (no animation, so a live
 * update does not flicker). After each draw the container's `data-points` says how many points
 * the chart's first series holds, as ECharts holds them after the draw (the browser test reads it).
 */
export class Chart {
  private readonly chart: echarts.ECharts;

  constructor(readonly container: HTMLElement) {
    this.chart = echarts.init(container, undefined, { renderer: 'svg' });
    this.chart.on('finished', () => {
      const series = (this.chart.getOption() as { series?: { data?: unknown[] }[] }).series?.[0];
      container.dataset.points = String(series?.data?.length ?? 0);
    });
  }

  draw(option: EChartsCoreOption): void {
    this.chart.setOption({ animation: false, ...option }, { notMerge: true });
  }

  resize(): void {
    this.chart.resize();
  }

  dispose(): void {
    this.chart.dispose();
  }
}

const grid = { left: 56, right: 16, top: 60, bottom: 40 };
const title = (text: string) => ({ text, left: 8, top: 4, textStyle: { fontSize: 13, fontWeight: 600 } });

/** Optimization history: each trial's objective in trial order, and the best so far as a step line. */
export function historyOption(points: readonly PlotPoint[], best: readonly (number | undefined)[], metric: string): EChartsCoreOption {
  return {
    title: title('Optimization history'),
    grid,
    tooltip: { trigger: 'item' },
    legend: { top: 4, right: 8, data: ['objective', 'best so far'] },
    xAxis: { type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 24, minInterval: 1 },
    yAxis: { type: 'value', name: metric, scale: true },
    series: [
      {
        name: 'objective',
        type: 'scatter',
        symbolSize: 8,
        itemStyle: { color: COLORS.point },
        data: points.map((p) => ({ value: [p.index, p.objective], name: p.trialId })),
      },
      {
        name: 'best so far',
        type: 'line',
        step: 'end',
        showSymbol: false,
        lineStyle: { color: COLORS.best, width: 2 },
        itemStyle: { color: COLORS.best },
        data: points.map((p, i) => [p.index, best[i] ?? null]),
      },
    ],
  };
}

/** Parallel coordinates: one axis per parameter and the objective last; each trial a line, coloured by its objective. */
export function parallelOption(axes: readonly Axis[], points: readonly PlotPoint[], metric: string, goal: 'minimize' | 'maximize'): EChartsCoreOption {
  const values = points.map((p) => p.objective);
  const [min, max] = [Math.min(...values), Math.max(...values)];
  return {
    title: title('Parallel coordinates'),
    parallel: { left: 48, right: 72, top: 56, bottom: 32 },
    parallelAxis: [
      ...axes.map((axis, dim) => ({ dim, name: axis.name, type: axis.kind, ...(axis.categories ? { data: [...axis.categories] } : {}), nameTextStyle: { fontSize: 11 } })),
      { dim: axes.length, name: metric, type: 'value', scale: true, nameTextStyle: { fontSize: 11, fontWeight: 600 } },
    ],
    series: [
      {
        type: 'parallel',
        lineStyle: { width: 1.5, opacity: 0.7 },
        data: points.map((p) => ({
          name: p.trialId,
          value: [...axes.map((a) => (a.kind === 'category' ? String(p.values[a.name] ?? '') : (p.values[a.name] ?? null))), p.objective],
          lineStyle: { color: shade(p.objective, min, max, goal) },
        })),
      },
    ],
  };
}

/** Objective against one parameter (a slice plot). */
export function sliceOption(axis: Axis, points: readonly PlotPoint[], metric: string): EChartsCoreOption {
  return {
    title: title(`${metric} against ${axis.name}`),
    grid: { ...grid, top: 36 },
    tooltip: { trigger: 'item' },
    xAxis: { type: axis.kind, name: axis.name, nameLocation: 'middle', nameGap: 24, scale: true, ...(axis.categories ? { data: [...axis.categories] } : {}) },
    yAxis: { type: 'value', scale: true },
    series: [
      {
        type: 'scatter',
        symbolSize: 7,
        itemStyle: { color: COLORS.point, opacity: 0.8 },
        data: points
          .filter((p) => p.values[axis.name] !== undefined)
          .map((p) => ({ value: [axis.kind === 'category' ? String(p.values[axis.name]) : p.values[axis.name], p.objective], name: p.trialId })),
      },
    ],
  };
}

/** Parameter importance as horizontal bars, the most important on top. */
export function importanceOption(entries: readonly { readonly parameter: string; readonly importance: number }[]): EChartsCoreOption {
  const shown = [...entries].reverse();
  return {
    title: title('Parameter importance'),
    grid: { left: 120, right: 24, top: 32, bottom: 28 },
    tooltip: { trigger: 'item' },
    xAxis: { type: 'value', max: 1, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } },
    yAxis: { type: 'category', data: shown.map((e) => e.parameter) },
    series: [{ type: 'bar', itemStyle: { color: COLORS.point }, data: shown.map((e) => Number(e.importance.toFixed(4))) }],
  };
}

/** One promotion decision, as the model's plot shows it. */
export interface DecisionPoint {
  readonly at: string;
  readonly decision: 'promoted' | 'skipped';
  readonly candidate?: number;
  readonly champion?: number;
  readonly label: string;
}

/**
 * A model's decisions in order: the champion's objective after each (a step line, the first
 * series) and each candidate's objective, promoted or kept out.
 */
export function championOption(points: readonly DecisionPoint[]): EChartsCoreOption {
  const labels = points.map((p) => p.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
  const candidates = (decision: DecisionPoint['decision']) => points.map((p) => (p.decision === decision && p.candidate !== undefined ? { value: p.candidate, name: p.label } : null));
  return {
    title: title('Champion and candidates by decision'),
    grid,
    tooltip: { trigger: 'item' },
    legend: { top: 4, right: 8, data: ['champion', 'promoted', 'skipped'] },
    xAxis: { type: 'category', data: labels, axisLabel: { fontSize: 10 } },
    yAxis: { type: 'value', scale: true },
    series: [
      { name: 'champion', type: 'line', step: 'end', showSymbol: false, lineStyle: { color: COLORS.best, width: 2 }, itemStyle: { color: COLORS.best }, data: points.map((p) => p.champion ?? null) },
      { name: 'promoted', type: 'scatter', symbolSize: 10, itemStyle: { color: '#2f9e44' }, data: candidates('promoted') },
      { name: 'skipped', type: 'scatter', symbolSize: 9, itemStyle: { color: COLORS.muted }, data: candidates('skipped') },
    ],
  };
}

/** Better objectives darker: from a light grey-blue to the point colour. */
function shade(value: number, min: number, max: number, goal: 'minimize' | 'maximize'): string {
  const span = max - min;
  const t = span > 0 ? (value - min) / span : 1;
  const good = goal === 'maximize' ? t : 1 - t;
  const mix = (a: number, b: number) => Math.round(a + (b - a) * good);
  return `rgb(${mix(200, 56)}, ${mix(210, 103)}, ${mix(225, 214)})`;
}

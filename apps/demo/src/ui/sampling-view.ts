import type { EstimatorName } from '@rarefy/correction';
import type { DesignName } from '@rarefy/sampling-core';
import {
  coefficientFigures,
  formatValue,
  piDistributionFigure,
  reliabilityFigure,
  xyChart,
} from '../charts/index.js';
import { escapeXml } from '../charts/svg.js';
import type { ExperimentResult, ExperimentSettings } from '../experiment/experiment.js';
import type { GeneratorSettings } from '../experiment/generator.js';
import type { DataSource, WorkerRequest, WorkerResponse } from '../experiment/protocol.js';
import { guessLabelColumn, headerColumns } from '../experiment/sources.js';
import { byId, fileBytes, numberCell, showError } from './dom.js';

/** Rounds to two significant digits (slider values such as 10^-1.7 become 0.02). */
export function twoSignificant(value: number): number {
  return Number(value.toPrecision(2));
}

/** The page's generator settings from its sliders. */
function generatorSettings(): GeneratorSettings {
  return {
    rows: twoSignificant(10 ** Number(byId('rows', HTMLInputElement).value)),
    positiveRate: Number(byId('positive-rate', HTMLInputElement).value) / 100,
    signal: Number(byId('signal', HTMLInputElement).value),
    seed: Math.trunc(Number(byId('data-seed', HTMLInputElement).value)),
  };
}

/** The page's experiment settings from its controls. */
function experimentSettings(): ExperimentSettings {
  return {
    design: byId('design', HTMLSelectElement).value as DesignName,
    estimator: byId('estimator', HTMLSelectElement).value as EstimatorName,
    samplingRate: twoSignificant(10 ** Number(byId('sampling-rate', HTMLInputElement).value)),
    pilotSize: Math.trunc(Number(byId('pilot-size', HTMLInputElement).value)),
    seed: Math.trunc(Number(byId('seed', HTMLInputElement).value)),
  };
}

function percent(value: number): string {
  return `${formatValue(100 * value, 3)}%`;
}

/** Writes the sliders' values beside them. */
function showSliderValues(): void {
  const generator = generatorSettings();
  byId('rows-value', HTMLOutputElement).value = generator.rows.toLocaleString('en-US');
  byId('positive-rate-value', HTMLOutputElement).value = percent(generator.positiveRate);
  byId('signal-value', HTMLOutputElement).value = String(generator.signal);
  byId('sampling-rate-value', HTMLOutputElement).value = percent(experimentSettings().samplingRate);
}

/** The scatter of two features: dropped negatives, kept negatives and positives. */
function scatterFigure(result: ExperimentResult): string {
  const { scatter } = result;
  const pairs = (flat: number[]) => {
    const points: Array<{ x: number; y: number }> = [];
    for (let k = 0; k + 1 < flat.length; k += 2)
      points.push({ x: flat[k] as number, y: flat[k + 1] as number });
    return points;
  };
  const shown = (group: number[], total: number) =>
    group.length / 2 < total
      ? ` (${(group.length / 2).toLocaleString('en-US')} of ${total.toLocaleString('en-US')})`
      : '';
  return xyChart({
    id: 'demo-scatter',
    title: `The sample: ${result.sample.negatives.toLocaleString('en-US')} of ${result.data.negatives.toLocaleString('en-US')} negatives kept (${result.settings.design})`,
    caption:
      result.settings.design === 'uniform'
        ? 'Uniform sampling keeps negatives anywhere; the informative ones near the positives are kept no more often.'
        : 'The design keeps the negatives that look like positives (high pilot probability) and drops the easy ones.',
    x: { label: scatter.features[0], unit: 'feature value' },
    y: { label: scatter.features[1], unit: 'feature value' },
    layers: [
      {
        kind: 'points',
        name: `dropped negatives${shown(scatter.dropped, scatter.totals.dropped)}`,
        points: pairs(scatter.dropped),
        radius: 1.6,
        opacity: 0.35,
        color: '#999999',
      },
      {
        kind: 'points',
        name: `kept negatives${shown(scatter.keptNegatives, scatter.totals.keptNegatives)}`,
        points: pairs(scatter.keptNegatives),
        radius: 2.2,
        opacity: 0.8,
        color: '#0072B2',
      },
      {
        kind: 'points',
        name: `positives${shown(scatter.positives, scatter.totals.positives)}`,
        points: pairs(scatter.positives),
        radius: 2.2,
        opacity: 0.8,
        color: '#D55E00',
      },
    ],
  });
}

/** Renders a result: the summary, the four figures and the tables. */
export function renderResult(result: ExperimentResult): void {
  const { data, sample } = result;
  byId('summary', HTMLDivElement).innerHTML = `
    <dl>
      <div><dt>Data</dt><dd data-testid="data-name">${escapeXml(data.name)}</dd></div>
      <div><dt>Rows</dt><dd data-testid="rows" data-value="${data.rows}">${data.rows.toLocaleString('en-US')}</dd></div>
      <div><dt>Positives</dt><dd data-testid="positives" data-value="${data.positives}">${data.positives.toLocaleString('en-US')} (${percent(data.positives / data.rows)})</dd></div>
      <div><dt>Expected negatives kept</dt><dd data-testid="expected-negatives" data-value="${sample.expectedNegatives}">${formatValue(sample.expectedNegatives, 5)}</dd></div>
      <div><dt>Kept negatives</dt><dd data-testid="kept-negatives" data-value="${sample.negatives}">${sample.negatives.toLocaleString('en-US')}</dd></div>
      <div><dt>Kept positives</dt><dd data-testid="kept-positives" data-value="${sample.positives}">${sample.positives.toLocaleString('en-US')}</dd></div>
      <div><dt>Run time</dt><dd>${formatValue(result.seconds, 2)} s</dd></div>
    </dl>`;
  byId('fig-scatter', HTMLDivElement).innerHTML = scatterFigure(result);
  byId('fig-reliability', HTMLDivElement).innerHTML = reliabilityFigure({
    id: 'demo-reliability',
    evaluatedOn: result.calibration.evaluatedOn,
    models: result.calibration.models,
  });
  byId('fig-pi', HTMLDivElement).innerHTML = piDistributionFigure({
    id: 'demo-pi',
    distribution: result.piDistribution,
  });
  byId('fig-coefficients', HTMLDivElement).innerHTML = coefficientFigures({
    id: 'demo-coefficients',
    sets: [
      { name: `${result.settings.design}, ${result.settings.estimator} corrected`, ...result.corrected },
      { name: `${result.settings.design}, naive`, ...result.naive },
    ],
    ...(result.truth ? { truth: result.truth } : {}),
  })
    .map((figure) => `<div class="figure-part">${figure}</div>`)
    .join('');
  const names = Object.keys(result.corrected.coefficients);
  byId('coefficients', HTMLDivElement).innerHTML = `
    <table class="table" data-testid="coefficient-table">
      <caption>Coefficients (log odds) with 95% intervals: corrected and naive fits of the same sample</caption>
      <thead><tr><th>term</th>${result.truth ? '<th>truth</th>' : ''}<th>corrected</th><th>95% interval</th><th>naive</th><th>95% interval</th></tr></thead>
      <tbody>${names
        .map(
          (name) =>
            `<tr><th scope="row">${escapeXml(name)}</th>${
              result.truth ? numberCell(result.truth[name] as number, `truth-${name}`) : ''
            }${numberCell(result.corrected.coefficients[name] as number, `corrected-${name}`)}<td class="number">[${formatValue(
              result.corrected.lower[name] as number,
              3,
            )}, ${formatValue(result.corrected.upper[name] as number, 3)}]</td>${numberCell(
              result.naive.coefficients[name] as number,
              `naive-${name}`,
            )}<td class="number">[${formatValue(result.naive.lower[name] as number, 3)}, ${formatValue(
              result.naive.upper[name] as number,
              3,
            )}]</td></tr>`,
        )
        .join('')}</tbody>
    </table>`;
  byId('calibration', HTMLDivElement).innerHTML = `
    <table class="table" data-testid="calibration-table">
      <caption>Calibration on ${escapeXml(result.calibration.evaluatedOn)} (observed rate ${percent(result.calibration.observedRate)})</caption>
      <thead><tr><th>model</th><th>mean predicted / observed</th><th>log loss</th><th>ROC AUC</th><th>ECE</th></tr></thead>
      <tbody>${result.calibration.models
        .map(
          (model, k) =>
            `<tr><th scope="row">${escapeXml(model.model)}</th>${numberCell(model.calibrationInTheLarge, `calibration-${k}`)}${numberCell(
              model.logLoss,
            )}${numberCell(model.rocAuc)}${numberCell(model.expectedCalibrationError)}</tr>`,
        )
        .join('')}</tbody>
    </table>`;
  const results = byId('results', HTMLDivElement);
  results.dataset.runs = String(Number(results.dataset.runs ?? '0') + 1);
  results.dataset.settings = JSON.stringify(result.settings);
}

/**
 * Wires the sampling view: every change of a control asks the worker for a new run (at most one
 * in flight; the latest settings win), results and errors are rendered as they arrive, and a CSV
 * dropped on the page (or picked) becomes the data set.
 *
 * @param worker - the experiment worker
 * @returns nothing
 */
export function startSamplingView(worker: Worker): void {
  const status = byId('status', HTMLDivElement);
  const errorBox = byId('error', HTMLDivElement);
  const labelSelect = byId('label-column', HTMLSelectElement);
  const csvChoice = byId('source-csv', HTMLInputElement);
  let nextId = 1;
  let inFlight: number | null = null;
  let inFlightSource: DataSource | null = null;
  let pending = false;
  let csv: { name: string; bytes: ArrayBuffer } | null = null;

  const source = (): DataSource => {
    const checked = document.querySelector<HTMLInputElement>('input[name="source"]:checked');
    return checked?.value === 'csv' && csv !== null
      ? { kind: 'csv' }
      : { kind: 'generator', settings: generatorSettings() };
  };
  const setState = (state: string, text: string) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  const send = (request: WorkerRequest) => {
    inFlight = request.id;
    worker.postMessage(request, request.type === 'load-csv' ? [request.bytes] : []);
  };
  const run = () => {
    showSliderValues();
    if (inFlight !== null) {
      pending = true;
      return;
    }
    pending = false;
    setState('running', 'computing…');
    inFlightSource = source();
    send({ type: 'run', id: nextId++, source: inFlightSource, settings: experimentSettings() });
  };
  const loadCsv = () => {
    if (csv === null) return;
    if (inFlight !== null) {
      pending = true;
      return;
    }
    setState('running', `reading ${csv.name}…`);
    // The bytes are transferred: keep a copy for a later change of the label column.
    send({
      type: 'load-csv',
      id: nextId++,
      name: csv.name,
      label: labelSelect.value,
      bytes: csv.bytes.slice(0),
    });
  };

  worker.addEventListener('message', (event: MessageEvent<WorkerResponse>) => {
    const response = event.data;
    if (response.id !== inFlight) return;
    inFlight = null;
    if (response.type === 'error') {
      setState('error', 'failed');
      showError(errorBox, response.error);
    } else if (response.type === 'loaded') {
      showError(errorBox, null);
      csvChoice.disabled = false;
      csvChoice.checked = true;
      byId('csv-name', HTMLDivElement).textContent =
        `${response.name}: ${response.rows.toLocaleString('en-US')} rows, ${response.positives.toLocaleString('en-US')} positives, features ${response.features.join(', ')}`;
      pending = true;
    } else {
      showError(errorBox, null);
      renderResult(response.result);
      // What the shown numbers were computed from, for anyone checking them (the browser tests do).
      byId('results', HTMLDivElement).dataset.source = JSON.stringify(inFlightSource);
      setState('done', `done in ${formatValue(response.result.seconds, 2)} s`);
    }
    if (pending) run();
  });
  worker.addEventListener('error', (event) => {
    inFlight = null;
    setState('error', 'failed');
    showError(errorBox, {
      code: 'RAREFY_INTERNAL',
      message: event.message,
      problem: event.message,
      fix: 'reload the page',
    });
  });

  const takeFile = async (file: File) => {
    const bytes = await fileBytes(file);
    const columns = headerColumns(new TextDecoder().decode(bytes.subarray(0, 65_536)));
    labelSelect.innerHTML = columns.map((name) => `<option>${escapeXml(name)}</option>`).join('');
    labelSelect.value = guessLabelColumn(columns) ?? '';
    labelSelect.disabled = columns.length === 0;
    csv = {
      name: file.name,
      bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    };
    byId('csv-name', HTMLDivElement).textContent = file.name;
    loadCsv();
  };
  const dropZone = byId('drop-zone', HTMLDivElement);
  for (const target of [document.body, dropZone]) {
    target.addEventListener('dragover', (event) => {
      event.preventDefault();
      dropZone.classList.add('dragging');
    });
  }
  document.body.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  document.body.addEventListener('drop', (event) => {
    event.preventDefault();
    dropZone.classList.remove('dragging');
    if (!byId('view-sampling', HTMLElement).hidden) {
      const file = event.dataTransfer?.files[0];
      if (file) void takeFile(file);
    }
  });
  byId('csv-file', HTMLInputElement).addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void takeFile(file);
  });
  labelSelect.addEventListener('change', loadCsv);
  const controls = byId('controls', HTMLFormElement);
  controls.addEventListener('submit', (event) => event.preventDefault());
  controls.addEventListener('input', (event) => {
    if (event.target === labelSelect || (event.target as HTMLElement).id === 'csv-file') return;
    run();
  });
  run();
}

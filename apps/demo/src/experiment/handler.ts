import { countClasses, RarefyError } from '@rarefy/sampling-core';
import { type ExperimentData, runExperiment } from './experiment.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';
import { toErrorMessage } from './protocol.js';
import { csvData, generatedData } from './sources.js';

/**
 * The worker's state and message handling, apart from the Worker global so tests can drive it:
 * it keeps the last generated data set (regenerated only when the sliders change) and the last
 * loaded CSV, and answers each request with one response.
 */
export class ExperimentHandler {
  private generated: { key: string; data: ExperimentData } | null = null;
  private csv: ExperimentData | null = null;

  /**
   * Answers one request.
   *
   * @param request - a load or a run
   * @returns the response to post back
   */
  handle(request: WorkerRequest): WorkerResponse {
    try {
      if (request.type === 'load-csv') {
        const data = csvData(new Uint8Array(request.bytes), { name: request.name, label: request.label });
        const counts = countClasses(data.y, request.name);
        this.csv = data;
        return {
          type: 'loaded',
          id: request.id,
          name: request.name,
          rows: data.x.rows,
          positives: counts.positives,
          features: data.x.names.filter((_, j) => !(data.x.intercept && j === 0)),
        };
      }
      const data = this.dataFor(request);
      return { type: 'result', id: request.id, result: runExperiment(data, request.settings) };
    } catch (error) {
      return { type: 'error', id: request.id, error: toErrorMessage(error) };
    }
  }

  private dataFor(request: Extract<WorkerRequest, { type: 'run' }>): ExperimentData {
    if (request.source.kind === 'csv') {
      if (this.csv === null) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          'CSV: no file is loaded',
          'drop a CSV file onto the page first',
          {
            input: 'CSV',
          },
        );
      }
      return this.csv;
    }
    const key = JSON.stringify(request.source.settings);
    if (this.generated?.key !== key) this.generated = { key, data: generatedData(request.source.settings) };
    return this.generated.data;
  }
}

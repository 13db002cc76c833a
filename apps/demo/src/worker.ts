// The page's Web Worker: the recipe, the fits and the metrics run here so the page stays responsive.
import { ExperimentHandler } from './experiment/handler.js';
import type { WorkerRequest, WorkerResponse } from './experiment/protocol.js';

/** The part of a dedicated worker's global scope used here (the project's lib is DOM's, not WebWorker's). */
interface WorkerScope {
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
  postMessage(message: WorkerResponse): void;
}

const scope = self as unknown as WorkerScope;
const handler = new ExperimentHandler();
scope.addEventListener('message', (event) => {
  scope.postMessage(handler.handle(event.data));
});

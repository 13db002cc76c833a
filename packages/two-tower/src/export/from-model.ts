import type { ModelSchema, TrainingRecord } from '@rarefy/model-kit';
import type { TwoTowerModel } from '../model/two-tower-model.js';
import type { RetrievalExport } from './format.js';
import { towerToOnnx } from './onnx.js';
import { retrievalTowerInputs } from './tower-inputs.js';

/** Options of {@link modelExport}. */
export interface ModelExportOptions {
  /** Also export both towers as ONNX with their input description (default true): cold start. */
  readonly towers?: boolean;
  /** Include the user embeddings (default true). */
  readonly users?: boolean;
  readonly schema?: ModelSchema;
  readonly training?: TrainingRecord;
}

/**
 * Everything a trained model exports: the catalogue's and the users' embeddings with their ids, and
 * (by default) both towers as ONNX with the description of their inputs, so a server embeds a new
 * user or item from its features. Hand the result to `writeRetrievalExport`.
 *
 * @param model - the trained model
 * @param options - what to include and the records to write
 * @returns the export
 * @example
 * ```ts
 * await writeRetrievalExport('models/movies', modelExport(model, { training }));
 * ```
 */
export function modelExport(model: TwoTowerModel, options: ModelExportOptions = {}): RetrievalExport {
  const towers = options.towers ?? true;
  const weights = towers ? model.weights() : undefined;
  return {
    dimension: model.dimension,
    temperature: model.temperature,
    items: { ids: model.itemIds, embeddings: model.embedAllItems() },
    ...(options.users === false ? {} : { users: { ids: model.userIds, embeddings: model.embedAllUsers() } }),
    ...(weights
      ? {
          userTower: towerToOnnx(weights.user, { side: 'user', describeInputs: false }),
          itemTower: towerToOnnx(weights.item, { side: 'item', describeInputs: false }),
          towerInputs: retrievalTowerInputs(weights),
        }
      : {}),
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.training ? { training: options.training } : {}),
  };
}

import { barChart, escapeXml, formatValue } from '../charts/index.js';
import { toErrorMessage } from '../experiment/protocol.js';
import {
  BUCKETS,
  countItemInteractions,
  type LoadedRetrievalModel,
  loadRetrievalModel,
  nearestItems,
  type PickedFile,
  type PopularityBuckets,
  popularityBuckets,
  recommendationSpread,
  webCryptoSha256,
} from '../retrieval/model.js';
import { byId, fileBytes, numberCell, showError } from './dom.js';

/** Reads the files of a folder entry dropped on the page (recursively). */
async function entryFiles(entry: FileSystemEntry, prefix: string): Promise<PickedFile[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject),
    );
    return [{ path: `${prefix}${entry.name}`, bytes: await fileBytes(file) }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const children: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) break;
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((child) => entryFiles(child, `${prefix}${entry.name}/`)));
  return nested.flat();
}

/** The files of a file input (a picked folder keeps its relative paths). */
async function inputFiles(input: HTMLInputElement): Promise<PickedFile[]> {
  const files = [...(input.files ?? [])];
  return Promise.all(
    files.map(async (file) => ({ path: file.webkitRelativePath || file.name, bytes: await fileBytes(file) })),
  );
}

/**
 * Wires the retrieval view: load one or two exports (picked or dropped), an optional interactions
 * file for popularity, then show the nearest items to the chosen item or user in each model, and
 * how each model's top-10 lists spread over head, torso and tail items.
 *
 * @returns nothing
 */
export function startRetrievalView(): void {
  const status = byId('retrieval-status', HTMLDivElement);
  const errorBox = byId('retrieval-error', HTMLDivElement);
  const queryKind = byId('query-kind', HTMLSelectElement);
  const queryId = byId('query-id', HTMLInputElement);
  const topK = byId('top-k', HTMLInputElement);
  const models: Array<LoadedRetrievalModel | null> = [null, null];
  let counts: { name: string; column: string; counts: Map<string, number> } | null = null;

  const setState = (state: string, text: string) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  const fail = (error: unknown) => {
    setState('error', 'failed');
    showError(errorBox, toErrorMessage(error));
  };

  const loaded = () => models.filter((model): model is LoadedRetrievalModel => model !== null);

  const bucketsOf = (model: LoadedRetrievalModel): PopularityBuckets | null =>
    counts === null ? null : popularityBuckets(model.model.items.ids, counts.counts);

  const showSummary = () => {
    const list = loaded();
    byId('model-list', HTMLDivElement).textContent = list
      .map((model, k) => `${'AB'[k]}: ${model.name}`)
      .join(' · ');
    byId('model-summary', HTMLDivElement).innerHTML = list
      .map((model, k) => {
        const training = model.manifest.training;
        return `<dl data-testid="model-${k}">
          <div><dt>Model ${'AB'[k]}</dt><dd>${escapeXml(model.name)}</dd></div>
          <div><dt>Items</dt><dd data-testid="model-${k}-items">${model.model.items.ids.length.toLocaleString('en-US')}</dd></div>
          <div><dt>Users</dt><dd>${(model.model.users?.ids.length ?? 0).toLocaleString('en-US')}</dd></div>
          <div><dt>Dimension</dt><dd>${model.model.dimension}</dd></div>
          <div><dt>Trained</dt><dd>${escapeXml(`${training.design}, ${training.estimator}`)}</dd></div>
          <div><dt>Checksums</dt><dd>${model.checksumsVerified ? 'SHA-256 verified' : 'sizes checked (no WebCrypto here)'}</dd></div>
        </dl>`;
      })
      .join('');
    const first = list[0];
    const ids = queryKind.value === 'user' ? (first?.model.users?.ids ?? []) : (first?.model.items.ids ?? []);
    byId('query-ids', HTMLDataListElement).innerHTML = ids
      .slice(0, 2000)
      .map((id) => `<option value="${escapeXml(id)}"></option>`)
      .join('');
    if (first && !ids.includes(queryId.value)) queryId.value = ids[0] ?? '';
  };

  const showNeighbours = () => {
    const list = loaded();
    const k = Math.max(1, Math.min(100, Math.trunc(Number(topK.value)) || 10));
    const id = queryId.value;
    const columns = list.map((model, m) => {
      const side = queryKind.value === 'user' ? model.model.users : model.model.items;
      if (side === undefined)
        return `<div class="neighbour-list"><h3>Model ${'AB'[m]}</h3><p>This export has no user embeddings.</p></div>`;
      const row = side.ids.indexOf(id);
      if (row < 0) {
        return `<div class="neighbour-list"><h3>Model ${'AB'[m]}</h3><p>No ${queryKind.value} ${escapeXml(JSON.stringify(id))} in ${escapeXml(model.name)}.</p></div>`;
      }
      const dimension = model.model.dimension;
      const vector = side.embeddings.subarray(row * dimension, (row + 1) * dimension);
      const neighbours = nearestItems(
        model.model.items.embeddings,
        dimension,
        vector,
        k,
        queryKind.value === 'item' ? row : -1,
      );
      const buckets = bucketsOf(model);
      return `<div class="neighbour-list"><h3>Model ${'AB'[m]}: ${escapeXml(model.name)}</h3>
        <table class="table" data-testid="neighbours-${m}"><thead><tr><th>#</th><th>item</th><th>score</th>${buckets ? '<th>popularity</th>' : ''}</tr></thead>
        <tbody>${neighbours
          .map(
            (neighbour, rank) =>
              `<tr><td>${rank + 1}</td><td data-testid="neighbour-${m}-${rank}">${escapeXml(model.model.items.ids[neighbour.index] as string)}</td>${numberCell(neighbour.score)}${
                buckets ? `<td>${BUCKETS[buckets.bucketOf[neighbour.index] as number]}</td>` : ''
              }</tr>`,
          )
          .join('')}</tbody></table></div>`;
    });
    byId('neighbours', HTMLDivElement).innerHTML = columns.join('');
  };

  const showPopularity = () => {
    const list = loaded();
    const slot = byId('fig-popularity', HTMLDivElement);
    if (list.length === 0) {
      slot.innerHTML = '';
      return;
    }
    const spreads = list.map((model) => ({ model, buckets: bucketsOf(model) }));
    const rows = spreads.map(({ model, buckets }) => ({
      model,
      buckets,
      spread: recommendationSpread(model.model, buckets),
    }));
    const first = rows[0];
    if (counts === null || first === undefined || first.buckets === null) {
      slot.innerHTML = `<p class="hint" data-testid="coverage">Catalogue coverage of the top-10 lists: ${rows
        .map((row, m) => `model ${'AB'[m]} ${formatValue(100 * row.spread.coverage, 3)}%`)
        .join(', ')}. Load the interactions file to split the items into head, torso and tail.</p>`;
      return;
    }
    slot.innerHTML = barChart({
      id: 'demo-popularity',
      title: `Where the top-10 lists of ${first.spread.queries} ${first.spread.queryKind} land, by item popularity`,
      caption:
        'A model that chases popularity puts most of its lists in the head; the logQ correction moves recommendations toward the torso and tail.',
      categories: [...BUCKETS],
      categoryLabel: `Item-popularity bucket (from ${counts.name})`,
      y: { label: 'Share of recommended items', unit: '%' },
      series: [
        {
          name: 'share of interactions',
          values: first.buckets.interactionShare.map((share) => 100 * share),
          color: '#999999',
        },
        ...rows.map((row, m) => ({
          name: `model ${'AB'[m]}: ${row.model.name}`,
          values: row.spread.share.map((share) => 100 * share),
        })),
      ],
    });
  };

  const refresh = () => {
    try {
      showSummary();
      showNeighbours();
      showPopularity();
      showError(errorBox, null);
      const list = loaded();
      setState(
        list.length > 0 ? 'done' : 'idle',
        list.length > 0 ? `${list.length} model(s) loaded` : 'no model loaded',
      );
    } catch (error) {
      fail(error);
    }
  };

  const load = async (slot: 0 | 1, files: PickedFile[]) => {
    setState('running', 'reading the export…');
    try {
      models[slot] = await loadRetrievalModel(files, webCryptoSha256());
      refresh();
    } catch (error) {
      fail(error);
    }
  };

  byId('model-a', HTMLInputElement).addEventListener('change', async (event) => {
    await load(0, await inputFiles(event.target as HTMLInputElement));
  });
  byId('model-b', HTMLInputElement).addEventListener('change', async (event) => {
    await load(1, await inputFiles(event.target as HTMLInputElement));
  });
  byId('interactions', HTMLInputElement).addEventListener('change', async (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const text = new TextDecoder().decode(await fileBytes(file));
      const counted = countItemInteractions(text, { name: file.name });
      counts = { name: file.name, column: counted.column, counts: counted.counts };
      refresh();
    } catch (error) {
      fail(error);
    }
  });
  const dropZone = byId('model-drop', HTMLDivElement);
  dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    event.stopPropagation();
    dropZone.classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', async (event) => {
    event.preventDefault();
    event.stopPropagation();
    dropZone.classList.remove('dragging');
    const entries = [...(event.dataTransfer?.items ?? [])]
      .map((item) => item.webkitGetAsEntry())
      .filter((entry): entry is FileSystemEntry => entry !== null);
    try {
      const files = (await Promise.all(entries.map((entry) => entryFiles(entry, '')))).flat();
      await load(models[0] === null ? 0 : 1, files);
    } catch (error) {
      fail(error);
    }
  });
  for (const control of [queryKind, queryId, topK]) control.addEventListener('input', refresh);
  byId('retrieval-controls', HTMLFormElement).addEventListener('submit', (event) => event.preventDefault());
}

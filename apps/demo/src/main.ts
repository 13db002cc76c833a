// The demo page: two views (sampling and correction; a retrieval model) behind tabs.
import './styles.css';
import { byId } from './ui/dom.js';
import { startRetrievalView } from './ui/retrieval-view.js';
import { startSamplingView } from './ui/sampling-view.js';

const views = [
  { tab: byId('tab-sampling', HTMLButtonElement), panel: byId('view-sampling', HTMLElement) },
  { tab: byId('tab-retrieval', HTMLButtonElement), panel: byId('view-retrieval', HTMLElement) },
];
for (const view of views) {
  view.tab.addEventListener('click', () => {
    for (const other of views) {
      other.tab.setAttribute('aria-selected', String(other === view));
      other.panel.hidden = other !== view;
    }
  });
}

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
startSamplingView(worker);
startRetrievalView();

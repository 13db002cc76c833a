import { escapeXml, formatValue } from '../charts/index.js';
import type { ErrorMessage } from '../experiment/protocol.js';

/**
 * The element with this id, typed; throws when the page lacks it (a broken index.html).
 *
 * @param id - the element's id
 * @param type - the expected element class
 * @returns the element
 * @example
 * ```ts
 * const rate = byId('sampling-rate', HTMLInputElement);
 * ```
 */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`index.html: #${id} is missing or not a ${type.name}`);
  return found;
}

/**
 * Shows an error as "CODE: problem" and its fix on a line of its own, or hides the box.
 *
 * @param box - the error element
 * @param error - the error, or null to hide it
 * @returns nothing
 * @example
 * ```ts
 * showError(byId('error', HTMLDivElement), toErrorMessage(error));
 * ```
 */
export function showError(box: HTMLElement, error: ErrorMessage | null): void {
  if (error === null) {
    box.hidden = true;
    box.textContent = '';
    delete box.dataset.code;
    return;
  }
  box.hidden = false;
  box.dataset.code = error.code;
  box.innerHTML =
    `<strong>${escapeXml(error.code)}</strong>: ${escapeXml(error.problem)}` +
    (error.fix ? `<div class="fix">Fix: ${escapeXml(error.fix)}</div>` : '');
}

/**
 * A number for a table cell: the short form as text, the exact value in `data-value` (what tests
 * compare against the library).
 *
 * @param value - the number
 * @param testId - the cell's `data-testid`, or undefined
 * @param digits - significant digits shown (default 4)
 * @returns the cell's markup
 * @example
 * ```ts
 * numberCell(-0.4932, 'corrected-x1'); // '<td data-testid="corrected-x1" data-value="-0.4932">-0.4932</td>'
 * ```
 */
export function numberCell(value: number, testId?: string, digits = 4): string {
  const id = testId === undefined ? '' : ` data-testid="${escapeXml(testId)}"`;
  return `<td class="number"${id} data-value="${String(value)}">${escapeXml(formatValue(value, digits))}</td>`;
}

/**
 * Reads a dropped or picked file's bytes.
 *
 * @param file - the file
 * @returns its bytes
 */
export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

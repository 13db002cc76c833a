/**
 * Escapes text for an XML or HTML text node or a double-quoted attribute.
 *
 * @param text - any text
 * @returns the text with `& < > " '` escaped
 * @example
 * ```ts
 * escapeXml('a < b & "c"'); // 'a &lt; b &amp; &quot;c&quot;'
 * ```
 */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** An attribute value: numbers are rounded to 0.01 px, text is escaped, null/undefined/false drop the attribute. */
export type AttributeValue = string | number | boolean | null | undefined;

/**
 * One SVG (or HTML) element as text.
 *
 * @param name - the tag name
 * @param attributes - attribute values (see {@link AttributeValue})
 * @param children - inner markup, already escaped; omitted for a self-closing element
 * @returns the markup
 * @example
 * ```ts
 * element('circle', { cx: 1, cy: 2, r: 3 }); // '<circle cx="1" cy="2" r="3"/>'
 * ```
 */
export function element(name: string, attributes: Record<string, AttributeValue>, children?: string): string {
  let text = `<${name}`;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    const rendered =
      value === true ? key : typeof value === 'number' ? String(round2(value)) : escapeXml(value);
    text += ` ${key}="${rendered}"`;
  }
  return children === undefined ? `${text}/>` : `${text}>${children}</${name}>`;
}

/** Rounds a coordinate to 0.01 (shorter markup, no visible change). */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * The `d` attribute of a polyline through the points.
 *
 * @param points - pixel positions
 * @returns `M x y L x y ...`, or '' for no points
 * @example
 * ```ts
 * pathThrough([[0, 0], [10, 5]]); // 'M0 0L10 5'
 * ```
 */
export function pathThrough(points: ReadonlyArray<readonly [number, number]>): string {
  return points.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${round2(x)} ${round2(y)}`).join('');
}

/** Colours that stay apart for colour-blind readers (Okabe and Ito), in the order series get them. */
export const PALETTE: readonly string[] = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#999999',
];

/**
 * The colour of the k-th series.
 *
 * @param index - the series' position
 * @returns a CSS colour
 * @example
 * ```ts
 * seriesColor(0); // '#0072B2'
 * ```
 */
export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

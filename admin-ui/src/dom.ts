/**
 * The only way this UI builds DOM: elements with attributes, and text nodes for
 * every string. Nothing here (or anywhere in the UI) parses HTML, so text that
 * users or publishers supplied is always shown as the characters it is; the
 * page's Trusted Types policy makes any HTML sink throw besides.
 */

export type Child = Node | string | number | null | undefined | false;

type Listener = (event: Event) => void;

export interface Props {
  class?: string;
  /** Event listeners by event name. */
  on?: Record<string, Listener>;
  [attribute: string]: string | number | boolean | null | undefined | Record<string, Listener>;
}

/**
 * Creates an element. Attributes with `false`, `null` or `undefined` are left
 * out; `true` sets an empty attribute.
 *
 * @example
 * h('button', { type: 'button', on: { click: save } }, 'Save')
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'on') {
      for (const [event, listener] of Object.entries(value as Record<string, Listener>)) el.addEventListener(event, listener);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(name, String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `parent`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Sets the text of `el` only when it changed (keeps selections and screen readers quiet). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** A labelled form field: `<label for>` and the control, in one wrapper. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLDivElement {
  control.id ||= `f-${Math.random().toString(36).slice(2, 10)}`;
  const hintEl = hint ? h('small', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A table whose body the caller fills; `columns` are the header texts. */
export function table(caption: string, columns: (string | { text: string; class: string })[]): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h('tbody');
  const head = h(
    'tr',
    {},
    ...columns.map((c) => (typeof c === 'string' ? h('th', { scope: 'col' }, c) : h('th', { scope: 'col', class: c.class }, c.text))),
  );
  return { table: h('table', {}, h('caption', { class: 'visually-hidden' }, caption), h('thead', {}, head), body), body };
}

/** A row spanning the whole table, for "nothing here" and "loading". */
export function emptyRow(columns: number, text: string): HTMLTableRowElement {
  return h('tr', { class: 'empty' }, h('td', { colspan: columns }, text));
}

/** Calls `fn` once input has been quiet for `ms`. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: number | undefined;
  return (...args: A) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
}

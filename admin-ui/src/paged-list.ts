import { emptyRow, fill, h, setText, table } from './dom.js';
import { formatClock } from './format.js';
import type { Page } from './types.js';
import { describeError } from './view.js';

export interface PagedListOptions<T> {
  caption: string;
  columns: (string | { text: string; class: string })[];
  /** Loads the page that starts at `cursor` (undefined: the first). */
  fetch(cursor: string | undefined): Promise<Page<T>>;
  row(item: T): HTMLTableRowElement;
  /** What the table says when a page is empty. */
  empty: string;
}

/**
 * A table filled one page at a time from a cursor API, with Previous/Next, a
 * refresh that keeps the current page, and answers that arrive out of order
 * discarded (a filter may change while a page loads).
 */
export class PagedList<T> {
  readonly element: HTMLElement;
  /** When the shown page was loaded (ms since the epoch), 0 before the first. */
  loadedAt = 0;
  private readonly body: HTMLTableSectionElement;
  private readonly status: HTMLElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly pageLabel: HTMLElement;
  /** The cursor of each page from the first to the shown one. */
  private cursors: (string | undefined)[] = [undefined];
  private nextCursor: string | null = null;
  private generation = 0;
  private loading = false;
  /** The rendered rows, each with its item serialized; empty while the body shows a message. */
  private rows: { key: string; el: HTMLTableRowElement }[] = [];

  constructor(private readonly opts: PagedListOptions<T>) {
    const { table: tableEl, body } = table(opts.caption, opts.columns);
    this.body = body;
    fill(body, emptyRow(opts.columns.length, 'Loading…'));
    this.prev = h('button', { type: 'button', class: 'secondary', on: { click: () => this.back() } }, '← Previous');
    this.next = h('button', { type: 'button', class: 'secondary', on: { click: () => this.forward() } }, 'Next →');
    this.pageLabel = h('span', { class: 'page-label' }, 'Page 1');
    this.status = h('span', { class: 'muted' });
    const pager = h('nav', { class: 'pager', 'aria-label': `${opts.caption} pages` }, this.prev, this.pageLabel, this.next, this.status);
    this.element = h('div', { class: 'paged card' }, h('div', { class: 'table-scroll' }, tableEl), pager);
    this.updatePager();
  }

  get busy(): boolean {
    return this.loading;
  }

  /** Loads the first page again (after a filter changed). */
  restart(): Promise<void> {
    this.cursors = [undefined];
    return this.load();
  }

  /** Loads the shown page again. */
  refresh(): Promise<void> {
    return this.load();
  }

  private forward(): void {
    if (this.nextCursor === null) return;
    this.cursors.push(this.nextCursor);
    void this.load();
  }

  private back(): void {
    if (this.cursors.length <= 1) return;
    this.cursors.pop();
    void this.load();
  }

  private async load(): Promise<void> {
    const generation = ++this.generation;
    this.loading = true;
    try {
      const page = await this.opts.fetch(this.cursors.at(-1));
      if (generation !== this.generation) return;
      // A refreshed page may have emptied (its rows left): step back to the last page that has rows.
      if (page.items.length === 0 && this.cursors.length > 1) {
        this.cursors.pop();
        return void (await this.load());
      }
      this.nextCursor = page.nextCursor;
      this.loadedAt = Date.now();
      this.render(page.items);
      setText(this.status, `${page.items.length} shown · updated ${formatClock(this.loadedAt)}`);
    } catch (err) {
      if (generation !== this.generation) return;
      this.rows = [];
      fill(this.body, emptyRow(this.opts.columns.length, describeError(err)));
      setText(this.status, '');
    } finally {
      if (generation === this.generation) this.loading = false;
      this.updatePager();
    }
  }

  /**
   * Shows `items`, keeping each row whose item and markup did not change: a live refresh must not swap a row
   * under the pointer (a click whose press and release land on two different elements is lost).
   */
  private render(items: T[]): void {
    if (items.length === 0) {
      this.rows = [];
      return fill(this.body, emptyRow(this.opts.columns.length, this.opts.empty));
    }
    const rows = items.map((item, i) => {
      const el = this.opts.row(item);
      const key = JSON.stringify(item);
      const old = this.rows[i];
      return old?.key === key && old.el.isEqualNode(el) ? old : { key, el };
    });
    if (rows.length !== this.rows.length) fill(this.body, ...rows.map((row) => row.el));
    else rows.forEach((row, i) => row !== this.rows[i] && this.rows[i]!.el.replaceWith(row.el));
    this.rows = rows;
  }

  private updatePager(): void {
    this.prev.disabled = this.cursors.length <= 1;
    this.next.disabled = this.nextCursor === null;
    setText(this.pageLabel, `Page ${this.cursors.length}`);
  }
}

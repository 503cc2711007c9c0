import { emptyRow, field, fill, h, setText, table } from '../dom.js';
import { formatClock, formatDateTime, formatInt } from '../format.js';
import type { RecentNotification } from '../types.js';
import type { View, ViewContext } from '../view.js';

/** How a target reads in the list: `user alice`, `topic news`, `7 users: a, b, …`, `everyone`. */
export function describeTarget(target: RecentNotification['target']): string {
  switch (target.kind) {
    case 'user':
      return `user ${target.names[0] ?? ''}`;
    case 'topic':
      return `topic ${target.names[0] ?? ''}`;
    case 'users':
      return `${formatInt(target.count)} users: ${target.names.join(', ')}${target.count > target.names.length ? ', …' : ''}`;
    case 'all':
      return 'everyone';
  }
}

/** The last 100 notifications published through this node, live. */
export function notificationsView(ctx: ViewContext): View {
  const filter = h('input', { type: 'search', name: 'filter', autocomplete: 'off', spellcheck: 'false', placeholder: 'title, type, target or publisher' });
  const count = h('p', { class: 'muted' });
  const filterField = field('Filter', filter);
  filterField.classList.add('wide');
  const { table: tableEl, body } = table('Latest notifications', ['Time', 'Type', 'Title', 'Target', 'Publisher', { text: 'Delivered', class: 'num' }]);
  let seen: Set<string> | undefined;

  const render = () => {
    const needle = filter.value.trim().toLowerCase();
    const items = ctx.live.recent.filter(
      (n) => !needle || [n.title, n.type, n.publisher, describeTarget(n.target)].some((text) => text.toLowerCase().includes(needle)),
    );
    const previous = seen;
    seen = new Set(ctx.live.recent.map((n) => n.id));
    const node = (ctx.live.stats?.nodes.length ?? 1) > 1 ? ` published through node ${ctx.live.ready?.node ?? ''}` : '';
    setText(count, `${ctx.live.recent.length} most recent${node}${needle ? `, ${items.length} matching` : ''} · newest first`);
    if (items.length === 0) {
      fill(body, emptyRow(6, ctx.live.recent.length ? 'No notification matches.' : 'No notification has been published through this node yet.'));
      return;
    }
    fill(
      body,
      ...items.map((n) =>
        h(
          'tr',
          { class: previous && !previous.has(n.id) ? 'fresh' : '', 'data-id': n.id },
          h('td', { title: formatDateTime(n.createdAt) }, h('time', { datetime: n.createdAt }, formatClock(n.createdAt))),
          h('td', {}, h('code', {}, n.type)),
          h('td', { class: 'title' }, n.title),
          h('td', {}, describeTarget(n.target)),
          h('td', {}, n.publisher),
          h('td', { class: 'num' }, formatInt(n.deliveries)),
        ),
      ),
    );
  };
  filter.addEventListener('input', render);
  render();

  return {
    title: 'Latest notifications',
    element: h(
      'div',
      { class: 'notifications' },
      h('form', { class: 'toolbar card', role: 'search', 'aria-label': 'Filter notifications', on: { submit: (e) => e.preventDefault() } }, filterField, count),
      h('div', { class: 'card' }, h('div', { class: 'table-scroll' }, tableEl)),
    ),
    update(change) {
      if (change === 'notifications' || change === 'ready') render();
    },
  };
}

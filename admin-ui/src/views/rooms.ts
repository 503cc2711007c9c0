import { topicRoom, userRoom } from '../../../protocol/rooms.js';
import { debounce, field, h } from '../dom.js';
import { formatInt } from '../format.js';
import { PagedList } from '../paged-list.js';
import type { RoomInfo } from '../types.js';
import { describeError, type View, type ViewContext } from '../view.js';

const PAGE_SIZE = 50;
/** The name prefix each choice searches by. */
const KINDS = { topic: topicRoom(''), user: userRoom(''), all: '' } as const;
type Kind = keyof typeof KINDS;

/** Rooms and topics, largest first, searched by name prefix and paged. */
export function roomsView(ctx: ViewContext): View {
  const initialKind = (ctx.params.get('kind') ?? 'topic') as Kind;
  const kind = h(
    'select',
    { name: 'kind' },
    h('option', { value: 'topic' }, 'Topics'),
    h('option', { value: 'user' }, 'Users'),
    h('option', { value: 'all' }, 'All rooms'),
  );
  kind.value = initialKind in KINDS ? initialKind : 'topic';
  const search = h('input', { type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false', maxlength: 128, value: ctx.params.get('q') ?? '' });
  const auto = h('input', { type: 'checkbox', id: 'rooms-auto', checked: true });
  let largest = 1;

  const prefix = () => {
    const text = search.value.trim();
    const k = kind.value as Kind;
    // Typing the full name ("topic:news") works whatever the kind.
    return k === 'all' || text.startsWith(KINDS[k]) ? text : KINDS[k] + text;
  };

  const list = new PagedList<RoomInfo>({
    caption: 'Rooms',
    columns: ['Room', 'Kind', { text: 'Sockets', class: 'num' }, 'Actions'],
    empty: 'No room matches.',
    fetch: async (cursor) => {
      const page = await ctx.api.rooms({ prefix: prefix() || undefined, limit: PAGE_SIZE, cursor });
      if (!cursor) largest = Math.max(1, page.items[0]?.size ?? 1);
      return page;
    },
    row: (room) => {
      const name = room.name.slice(room.kind.length + 1);
      const actions = h(
        'td',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', class: 'link', 'aria-label': `Connections in ${room.name}`, on: { click: () => ctx.navigate('connections', { room: room.name }) } },
          'Connections',
        ),
      );
      if (ctx.canAct) {
        actions.append(
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              'aria-label': `Send a notification to ${room.kind} ${name}`,
              on: { click: () => ctx.navigate('actions', { to: room.kind, name }) },
            },
            'Send…',
          ),
        );
        if (room.kind === 'user') {
          actions.append(
            h(
              'button',
              { type: 'button', class: 'link danger', 'aria-label': `Disconnect user ${name}`, on: { click: () => void disconnectUser(name) } },
              'Disconnect',
            ),
          );
        }
      }
      const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
      bar.style.width = `${Math.max(2, Math.round((room.size / largest) * 100))}%`;
      return h(
        'tr',
        {},
        h('td', {}, h('code', { class: 'room-name' }, room.name)),
        h('td', {}, h('span', { class: `badge ${room.kind}` }, room.kind)),
        h('td', { class: 'num size' }, h('span', { class: 'bar-track' }, bar), formatInt(room.size)),
        actions,
      );
    },
  });

  const disconnectUser = async (userId: string) => {
    if (!(await ctx.confirm(`Disconnect every socket of user “${userId}”?`, 'Disconnect user'))) return;
    try {
      const { disconnected } = await ctx.api.disconnectUser(userId);
      ctx.notify(`Disconnected ${disconnected} socket${disconnected === 1 ? '' : 's'} of ${userId}.`);
      await list.refresh();
    } catch (err) {
      ctx.notify(describeError(err), 'error');
    }
  };

  const apply = () => {
    ctx.remember({ kind: kind.value, q: search.value.trim() || undefined });
    void list.restart();
  };
  kind.addEventListener('change', apply);
  search.addEventListener('input', debounce(apply, 250));

  const toolbar = h(
    'form',
    { class: 'toolbar card', role: 'search', 'aria-label': 'Search rooms', on: { submit: (e) => (e.preventDefault(), apply()) } },
    field('Show', kind),
    field('Name starts with', search),
    h('div', { class: 'field inline push' }, auto, h('label', { for: auto.id }, 'Live updates')),
  );
  search.placeholder = 'e.g. news';

  void list.restart();
  let lastCounts = '';

  return {
    title: 'Rooms and topics',
    element: h('div', { class: 'rooms' }, toolbar, list.element),
    update(change) {
      if (change !== 'stats' || !auto.checked || list.busy || !ctx.live.stats) return;
      const { rooms, connections } = ctx.live.stats;
      const counts = `${rooms}/${connections}`;
      const age = Date.now() - list.loadedAt;
      // Pull the shown page again when the counts moved (at most every 1.5 s), else every 10 s.
      if ((counts !== lastCounts && age > 1500) || age > 10_000) {
        lastCounts = counts;
        void list.refresh();
      }
    },
  };
}

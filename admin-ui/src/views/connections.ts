import { roomKind } from '../../../protocol/rooms.js';
import { debounce, field, h, type Child } from '../dom.js';
import { formatAgo, formatDateTime } from '../format.js';
import { PagedList } from '../paged-list.js';
import type { ConnectionInfo } from '../types.js';
import { describeError, type View, type ViewContext } from '../view.js';

const PAGE_SIZE = 50;
const ROOMS_SHOWN = 4;

/** Sockets, filtered by user, room and node, paged, with per-socket actions for admins. */
export function connectionsView(ctx: ViewContext): View {
  const user = h('input', { type: 'search', name: 'user', autocomplete: 'off', spellcheck: 'false', maxlength: 128, placeholder: 'any user', value: ctx.params.get('user') ?? '' });
  const room = h('input', { type: 'search', name: 'room', autocomplete: 'off', spellcheck: 'false', maxlength: 140, placeholder: 'e.g. topic:news', value: ctx.params.get('room') ?? '' });
  const node = h('select', { name: 'node' }, h('option', { value: '' }, 'All nodes'));
  const wantedNode = ctx.params.get('node') ?? '';
  const auto = h('input', { type: 'checkbox', id: 'connections-auto', checked: true });

  const syncNodes = () => {
    const ids = ctx.live.stats?.nodes.map((n) => n.id) ?? [];
    if (wantedNode && !ids.includes(wantedNode)) ids.push(wantedNode);
    const known = new Set(Array.from(node.options, (o) => o.value));
    for (const id of ids) if (!known.has(id)) node.append(h('option', { value: id }, id));
  };
  syncNodes();
  node.value = wantedNode;

  const filterBy = (name: 'user' | 'room', value: string) => {
    (name === 'user' ? user : room).value = value;
    apply();
  };

  const roomChip = (name: string) =>
    h('button', { type: 'button', class: 'chip', title: `Show connections in ${name}`, on: { click: () => filterBy('room', name) } }, name);

  const roomsCell = (rooms: string[]): Child => {
    // The user's own room first, then the topics by name.
    const sorted = [...rooms].sort((a, b) => (roomKind(a) === 'user' ? -1 : roomKind(b) === 'user' ? 1 : a < b ? -1 : 1));
    const shown = sorted.slice(0, ROOMS_SHOWN).map(roomChip);
    const rest = sorted.slice(ROOMS_SHOWN);
    if (rest.length === 0) return h('div', { class: 'chips' }, ...shown);
    return h('div', { class: 'chips' }, ...shown, h('details', {}, h('summary', {}, `+${rest.length} more`), h('div', { class: 'chips' }, ...rest.map(roomChip))));
  };

  const list = new PagedList<ConnectionInfo>({
    caption: 'Connections',
    columns: ctx.canAct
      ? ['User', 'Rooms', 'Transport and address', 'User agent', 'Connected', 'Socket and node', 'Actions']
      : ['User', 'Rooms', 'Transport and address', 'User agent', 'Connected', 'Socket and node'],
    empty: 'No connection matches.',
    fetch: (cursor) =>
      ctx.api.connections({ user: user.value.trim() || undefined, room: room.value.trim() || undefined, node: node.value || undefined, limit: PAGE_SIZE, cursor }),
    row: (c) =>
      h(
        'tr',
        { 'data-socket-id': c.socketId },
        h('td', {}, h('button', { type: 'button', class: 'link user', title: `Show connections of ${c.userId}`, on: { click: () => filterBy('user', c.userId) } }, c.userId)),
        h('td', {}, roomsCell(c.rooms)),
        h('td', {}, h('span', { class: 'badge' }, c.transport), h('div', { class: 'muted mono' }, c.address)),
        h('td', { class: 'ua' }, h('span', { title: c.userAgent }, c.userAgent || '–')),
        h('td', { title: formatDateTime(c.connectedAt) }, h('time', { datetime: c.connectedAt }, formatAgo(c.connectedAt))),
        h('td', {}, h('code', { class: 'socket-id' }, c.socketId), h('div', { class: 'muted' }, c.node)),
        ctx.canAct
          ? h(
              'td',
              { class: 'actions' },
              h(
                'button',
                { type: 'button', class: 'danger small', 'aria-label': `Disconnect socket ${c.socketId} of ${c.userId}`, on: { click: () => void disconnectSocket(c) } },
                'Disconnect',
              ),
              h(
                'button',
                { type: 'button', class: 'link danger', 'aria-label': `Disconnect every socket of ${c.userId}`, on: { click: () => void disconnectUser(c.userId) } },
                'All of user',
              ),
            )
          : null,
      ),
  });

  const disconnectSocket = async (c: ConnectionInfo) => {
    if (!(await ctx.confirm(`Disconnect socket ${c.socketId} of user “${c.userId}”? The client may reconnect.`, 'Disconnect socket'))) return;
    try {
      await ctx.api.disconnectSocket(c.socketId);
      ctx.notify(`Disconnected socket ${c.socketId} of ${c.userId}.`);
    } catch (err) {
      ctx.notify(describeError(err), 'error');
    }
    await list.refresh();
  };

  const disconnectUser = async (userId: string) => {
    if (!(await ctx.confirm(`Disconnect every socket of user “${userId}”?`, 'Disconnect user'))) return;
    try {
      const { disconnected } = await ctx.api.disconnectUser(userId);
      ctx.notify(`Disconnected ${disconnected} socket${disconnected === 1 ? '' : 's'} of ${userId}.`);
    } catch (err) {
      ctx.notify(describeError(err), 'error');
    }
    await list.refresh();
  };

  const apply = () => {
    ctx.remember({ user: user.value.trim() || undefined, room: room.value.trim() || undefined, node: node.value || undefined });
    void list.restart();
  };
  const applySoon = debounce(apply, 250);
  user.addEventListener('input', applySoon);
  room.addEventListener('input', applySoon);
  node.addEventListener('change', apply);
  const clear = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      on: {
        click: () => {
          user.value = '';
          room.value = '';
          node.value = '';
          apply();
        },
      },
    },
    'Clear filters',
  );

  const toolbar = h(
    'form',
    { class: 'toolbar card', role: 'search', 'aria-label': 'Filter connections', on: { submit: (e) => (e.preventDefault(), apply()) } },
    field('User', user),
    field('Room', room),
    field('Node', node),
    h('div', { class: 'field inline' }, clear),
    h('div', { class: 'field inline push' }, auto, h('label', { for: auto.id }, 'Live updates')),
  );

  void list.restart();
  let lastCount = -1;

  return {
    title: 'Connections',
    element: h('div', { class: 'connections' }, toolbar, list.element),
    update(change) {
      if (change !== 'stats' || !ctx.live.stats) return;
      syncNodes();
      if (!auto.checked || list.busy) return;
      const age = Date.now() - list.loadedAt;
      const count = ctx.live.stats.connections;
      if ((count !== lastCount && age > 1000) || age > 10_000) {
        lastCount = count;
        void list.refresh();
      }
    },
  };
}

import { TimeChart } from '../charts.js';
import { emptyRow, fill, h, setText, table } from '../dom.js';
import { formatBytes, formatDecimal, formatDuration, formatInt } from '../format.js';
import type { AdminStats } from '../types.js';
import type { View, ViewContext } from '../view.js';

interface StatCard {
  element: HTMLElement;
  value: HTMLElement;
  sub: HTMLElement;
}

function statCard(id: string, label: string): StatCard {
  const value = h('p', { class: 'stat-value' }, '–');
  const sub = h('p', { class: 'stat-sub' });
  const labelId = `stat-${id}-label`;
  const element = h('section', { class: 'stat card', 'aria-labelledby': labelId, 'data-testid': `stat-${id}` }, h('h2', { id: labelId }, label), value, sub);
  return { element, value, sub };
}

/** Nodes, totals, and charts of the last ten minutes. */
export function overviewView(ctx: ViewContext): View {
  const cards = {
    connections: statCard('connections', 'Connections'),
    users: statCard('users', 'Users online'),
    topics: statCard('topics', 'Topics in use'),
    published: statCard('published', 'Published'),
    delivered: statCard('delivered', 'Delivered'),
  };
  const connectionsChart = new TimeChart({ title: 'Connections, last 10 minutes', series: [{ label: 'Connections', color: '#4f46e5' }] });
  const notificationsChart = new TimeChart({
    title: 'Notifications per second, last 10 minutes',
    series: [
      { label: 'Published/s', color: '#0e7490', scale: 'pub', axisLabel: 'published/s' },
      { label: 'Delivered/s', color: '#c2410c', scale: 'del', axisLabel: 'delivered/s' },
    ],
  });
  const nodes = table('Nodes', [
    'Node',
    'Status',
    'Uptime',
    { text: 'Connections', class: 'num' },
    { text: 'Event-loop lag', class: 'num' },
    { text: 'Memory (RSS)', class: 'num' },
    { text: 'Heap used', class: 'num' },
  ]);
  fill(nodes.body, emptyRow(7, 'Waiting for the first stats…'));

  // Totals cover the cluster; the per-second history is that of the node this page is connected to.
  const chartsNote = h('p', { class: 'muted small', hidden: true });
  const element = h(
    'div',
    { class: 'overview' },
    h('div', { class: 'stats-grid' }, ...Object.values(cards).map((c) => c.element)),
    chartsNote,
    h('div', { class: 'charts-grid' }, connectionsChart.element, notificationsChart.element),
    h('section', { class: 'card', 'aria-labelledby': 'nodes-heading' }, h('h2', { id: 'nodes-heading', class: 'card-title' }, 'Nodes'), h('div', { class: 'table-scroll' }, nodes.table)),
  );

  const renderStats = (stats: AdminStats) => {
    setText(cards.connections.value, formatInt(stats.connections));
    setText(cards.connections.sub, `on ${stats.nodes.length} node${stats.nodes.length === 1 ? '' : 's'}`);
    setText(cards.users.value, formatInt(stats.users));
    setText(cards.users.sub, `${formatInt(stats.rooms)} rooms in all`);
    setText(cards.topics.value, formatInt(stats.topics));
    setText(cards.topics.sub, 'with a connected subscriber');
    setText(cards.published.value, formatInt(stats.notifications.published));
    setText(cards.published.sub, `${formatDecimal(stats.notifications.ratePerSec)} per second now`);
    setText(cards.delivered.value, formatInt(stats.notifications.delivered));
    setText(cards.delivered.sub, 'live, to sockets');
    chartsNote.hidden = stats.nodes.length < 2;
    setText(chartsNote, `The charts show node ${ctx.live.ready?.node ?? ''}, the one this page is connected to.`);
    fill(
      nodes.body,
      ...stats.nodes.map((node) =>
        h(
          'tr',
          {},
          h('td', {}, h('code', {}, node.id)),
          h('td', {}, h('span', { class: `badge ${node.healthy ? 'ok' : 'bad'}` }, node.healthy ? 'healthy' : 'unhealthy')),
          h('td', {}, formatDuration(node.uptimeSec)),
          h('td', { class: 'num' }, formatInt(node.connections)),
          h('td', { class: `num ${node.eventLoopLagMs > 100 ? 'warn' : ''}` }, `${formatDecimal(node.eventLoopLagMs)} ms`),
          h('td', { class: 'num' }, formatBytes(node.memory.rss)),
          h('td', { class: 'num' }, formatBytes(node.memory.heapUsed)),
        ),
      ),
    );
  };

  const renderCharts = () => {
    const history = ctx.live.history;
    const times = history.map((s) => s.t / 1000);
    const connections = history.map((s) => s.connections);
    const published = history.map((s) => s.published);
    const delivered = history.map((s) => s.delivered);
    const peak = connections.length ? Math.max(...connections) : 0;
    connectionsChart.setData(times, [connections], `Now ${connections.at(-1) ?? 0} connections; peak ${peak} in the last 10 minutes.`);
    notificationsChart.setData(
      times,
      [published, delivered],
      `In the last second ${published.at(-1) ?? 0} published and ${delivered.at(-1) ?? 0} delivered; ${published.reduce((a, b) => a + b, 0)} published in the last 10 minutes.`,
    );
  };

  if (ctx.live.stats) renderStats(ctx.live.stats);
  // Charts measure their container, so they are first drawn once the view is in the page.
  requestAnimationFrame(renderCharts);

  return {
    title: 'Overview',
    element,
    update(change) {
      if ((change === 'stats' || change === 'ready') && ctx.live.stats) renderStats(ctx.live.stats);
      if (change === 'activity' || change === 'ready') renderCharts();
    },
    destroy() {
      connectionsChart.destroy();
      notificationsChart.destroy();
    },
  };
}

import type { Api } from './api.js';
import { ConfirmDialog } from './confirm.js';
import { fill, h, setText } from './dom.js';
import { formatClock, formatDateTime } from './format.js';
import type { Live, LiveChange } from './live.js';
import type { Session } from './session.js';
import type { View, ViewContext, ViewFactory } from './view.js';
import { actionsView } from './views/actions.js';
import { connectionsView } from './views/connections.js';
import { notificationsView } from './views/notifications.js';
import { overviewView } from './views/overview.js';
import { roomsView } from './views/rooms.js';

interface Route {
  name: string;
  label: string;
  view: ViewFactory;
  /** Shown only to tokens that may act. */
  acts?: boolean;
}

const ROUTES: Route[] = [
  { name: 'overview', label: 'Overview', view: overviewView },
  { name: 'rooms', label: 'Rooms and topics', view: roomsView },
  { name: 'connections', label: 'Connections', view: connectionsView },
  { name: 'notifications', label: 'Latest notifications', view: notificationsView },
  { name: 'actions', label: 'Send and manage', view: actionsView, acts: true },
];

/** `at 14:05`, or `on 23 Nov 2026, 14:05:00` when not today. */
const formatExpiry = (ms: number): string =>
  new Date(ms).toDateString() === new Date().toDateString() ? `at ${formatClock(ms).slice(0, 5)}` : `on ${formatDateTime(ms)}`;

const parseHash = (hash: string): { name: string; params: URLSearchParams } => {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  return { name: path, params: new URLSearchParams(search) };
};

/**
 * The signed-in page: sidebar navigation, a header with the live status, and
 * the view of the current `#/route`, which receives every live change.
 */
export class Shell {
  private readonly main: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly statusText: HTMLElement;
  private readonly statusDot: HTMLElement;
  private readonly notices: HTMLElement;
  private readonly links = new Map<string, HTMLAnchorElement>();
  private readonly confirmDialog = new ConfirmDialog();
  private readonly routes: Route[];
  private view: View | undefined;
  private readonly stopLive: () => void;
  private readonly onHashChange = () => this.route();
  private readonly ticker: number;

  constructor(
    private readonly root: HTMLElement,
    private readonly deps: { live: Live; api: Api; session: Session; signOut(): void },
  ) {
    const ready = deps.live.ready!;
    this.routes = ROUTES.filter((r) => !r.acts || ready.canAct);
    const nav = h(
      'nav',
      { 'aria-label': 'Admin sections' },
      h(
        'ul',
        {},
        ...this.routes.map((r) => {
          const link = h('a', { href: `#/${r.name}` }, r.label);
          this.links.set(r.name, link);
          return h('li', {}, link);
        }),
      ),
    );
    const expires = deps.session.claims()?.exp;
    this.statusText = h('span', {}, 'Connecting…');
    this.statusDot = h('span', { class: 'dot', 'aria-hidden': 'true' });
    this.heading = h('h1', { tabindex: '-1' });
    this.notices = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' });
    this.main = h('div', { class: 'view' });
    const sidebar = h(
      'aside',
      { class: 'sidebar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'H'), h('span', {}, 'Herald ', h('span', { class: 'brand-sub' }, 'admin'))),
      nav,
      h(
        'div',
        { class: 'whoami' },
        h('p', {}, 'Signed in as ', h('strong', {}, ready.userId)),
        h('p', {}, h('span', { class: `badge ${ready.canAct ? 'role-admin' : 'role-read'}` }, ready.canAct ? 'admin' : 'read-only')),
        expires ? h('p', { class: 'small', title: formatDateTime(expires * 1000) }, `Token expires ${formatExpiry(expires * 1000)}`) : null,
        h('button', { type: 'button', class: 'secondary small', on: { click: () => deps.signOut() } }, 'Sign out'),
      ),
    );
    const header = h('header', { class: 'topbar' }, this.heading, h('p', { class: 'live-status' }, this.statusDot, this.statusText));
    fill(
      root,
      h('a', { class: 'skip-link', href: '#main-content', on: { click: (e) => (e.preventDefault(), this.heading.focus()) } }, 'Skip to content'),
      h('div', { class: 'layout' }, sidebar, h('main', { id: 'main-content' }, header, this.notices, this.main)),
      this.confirmDialog.element,
    );
    this.stopLive = deps.live.on((change) => this.onLive(change));
    window.addEventListener('hashchange', this.onHashChange);
    this.ticker = window.setInterval(() => this.renderStatus(), 1000);
    this.route();
    this.renderStatus();
  }

  destroy(): void {
    this.stopLive();
    window.removeEventListener('hashchange', this.onHashChange);
    window.clearInterval(this.ticker);
    this.view?.destroy?.();
    this.view = undefined;
  }

  private onLive(change: LiveChange): void {
    if (change === 'status' || change === 'stats') this.renderStatus();
    this.view?.update?.(change);
  }

  private renderStatus(): void {
    const { live } = this.deps;
    const node = live.ready?.node ?? '';
    const age = Date.now() - live.statsAt;
    const stale = live.status === 'live' && age > Math.max(5000, (live.ready?.statsIntervalMs ?? 1000) * 5);
    const state = live.status !== 'live' ? 'reconnecting' : stale ? 'stale' : 'live';
    this.statusDot.className = `dot ${state}`;
    setText(
      this.statusText,
      state === 'live'
        ? `Live · node ${node} · updated ${formatClock(live.statsAt)}`
        : state === 'stale'
          ? `No update since ${formatClock(live.statsAt)}`
          : 'Reconnecting…',
    );
  }

  private route(): void {
    const { name, params } = parseHash(location.hash);
    const route = this.routes.find((r) => r.name === name) ?? this.routes[0]!;
    if (route.name !== name) history.replaceState(null, '', `#/${route.name}`);
    for (const [key, link] of this.links) {
      if (key === route.name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    this.view?.destroy?.();
    const ctx: ViewContext = {
      live: this.deps.live,
      api: this.deps.api,
      canAct: this.deps.live.ready?.canAct ?? false,
      params,
      navigate: (to, query = {}) => {
        const search = new URLSearchParams(query).toString();
        location.hash = `#/${to}${search ? `?${search}` : ''}`;
      },
      remember: (query) => {
        // A view's late timer (a debounced search) must not rewrite the address of the view that replaced it.
        if (this.view !== view) return;
        const search = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => !!e[1])).toString();
        history.replaceState(null, '', `#/${route.name}${search ? `?${search}` : ''}`);
      },
      notify: (text, kind = 'ok') => this.notify(text, kind),
      confirm: (question, label) => this.confirmDialog.ask(question, label),
    };
    const view = route.view(ctx);
    this.view = view;
    setText(this.heading, this.view.title);
    document.title = `${this.view.title} · Herald admin`;
    fill(this.main, this.view.element);
  }

  private notify(text: string, kind: 'ok' | 'error'): void {
    const notice = h('p', { class: `notice ${kind}` }, text, h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', on: { click: () => notice.remove() } }, '×'));
    this.notices.prepend(notice);
    while (this.notices.childElementCount > 3) this.notices.lastElementChild?.remove();
    window.setTimeout(() => notice.remove(), kind === 'error' ? 15_000 : 6000);
  }
}

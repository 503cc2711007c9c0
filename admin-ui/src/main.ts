import './zod-jitless.js';
import { Api } from './api.js';
import { fill, h } from './dom.js';
import { Live, type Refusal } from './live.js';
import { Session } from './session.js';
import { Shell } from './shell.js';
import './styles.css';
import { refusalMessage, signInView } from './views/sign-in.js';

/**
 * Start-up: a token from the start-up link is taken out of the address bar
 * first thing, then the admin socket connects; its `ready` shows the page, a
 * refusal shows the sign-in form with the reason.
 */
class AdminApp {
  private live: Live | undefined;
  private shell: Shell | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly session: Session,
  ) {}

  start(): void {
    this.stop();
    const token = this.session.token;
    if (!token) return this.showSignIn();
    fill(this.root, h('main', { class: 'sign-in' }, h('p', { class: 'card connecting', role: 'status' }, 'Connecting to Herald…')));
    const api = new Api(
      () => this.session.token,
      (err) => this.refuse({ code: err.code, message: err.message }),
    );
    const live = new Live(token, (refusal) => this.refuse(refusal));
    this.live = live;
    live.on((change) => {
      if (change !== 'ready' || this.shell) return;
      this.shell = new Shell(this.root, { live, api, session: this.session, signOut: () => this.signOut() });
    });
  }

  private stop(): void {
    this.shell?.destroy();
    this.shell = undefined;
    this.live?.close();
    this.live = undefined;
  }

  private refuse(refusal: Refusal): void {
    this.session.signOut();
    this.showSignIn(refusalMessage(refusal.code, refusal.message));
  }

  private signOut(): void {
    this.session.signOut();
    this.showSignIn();
  }

  private showSignIn(message?: string): void {
    this.stop();
    history.replaceState(null, '', location.pathname);
    document.title = 'Sign in · Herald admin';
    fill(
      this.root,
      signInView({
        message,
        onToken: (token) => {
          this.session.signIn(token);
          history.replaceState(null, '', `${location.pathname}#/overview`);
          this.start();
        },
      }),
    );
    this.root.querySelector<HTMLInputElement>('input[name="token"]')?.focus();
  }
}

const session = new Session(sessionStorage);
const linked = Session.takeTokenFromLocation(location, history);
if (linked) session.signIn(linked);
new AdminApp(document.getElementById('app')!, session).start();

import type { Api } from './api.js';
import { ApiError } from './api.js';
import type { LiveChange, Live } from './live.js';

/** What every view is given by the shell. */
export interface ViewContext {
  live: Live;
  api: Api;
  /** Whether this token has the `admin` role (actions), not only `admin:read`. */
  canAct: boolean;
  /** The query of the view's address (`#/connections?user=bob`). */
  params: URLSearchParams;
  /** Goes to another view (a history entry). */
  navigate(route: string, params?: Record<string, string>): void;
  /** Keeps the address in step with the view's filters (no history entry). */
  remember(params: Record<string, string | undefined>): void;
  /** Shows a short message in the page's live region. */
  notify(text: string, kind?: 'ok' | 'error'): void;
  /** Asks before a destructive action. */
  confirm(question: string, confirmLabel: string): Promise<boolean>;
}

export interface View {
  readonly title: string;
  readonly element: HTMLElement;
  /** Called on every live change while the view is shown. */
  update?(change: LiveChange): void;
  destroy?(): void;
}

export type ViewFactory = (ctx: ViewContext) => View;

/** The message of a failed call, for people. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return `Refused: ${err.message}.`;
    return err.message.endsWith('.') ? err.message : `${err.message}.`;
  }
  return 'Something went wrong; try again.';
}

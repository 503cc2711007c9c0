import { field, h } from '../dom.js';

/** Why a sign-in failed, in words an operator can act on. */
export function refusalMessage(code: string, message: string): string {
  switch (code) {
    case 'token_expired':
      return 'This token has expired. Sign in again with a fresh admin link (npm start prints one) or a new token.';
    case 'token_invalid':
      return `The server does not accept this token: ${message.replace(/^the token is invalid: /, '')}.`;
    case 'token_missing':
      return 'Paste an admin token to sign in.';
    case 'forbidden':
      return 'This token is valid, but it has neither the admin nor the admin:read role.';
    case 'forbidden_origin':
      return 'The server does not allow this page’s origin (see CORS_ORIGINS).';
    case 'too_many_connections':
      return 'This user has too many open connections. Close other admin tabs and try again.';
    default:
      return `Sign-in failed: ${message}`;
  }
}

/** The sign-in page: paste a token (a start-up link signs in without it). */
export function signInView(opts: { message?: string; onToken(token: string): void }): HTMLElement {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-required': 'true' });
  const error = opts.message ? h('p', { class: 'outcome error', role: 'alert' }, opts.message) : null;
  return h(
    'main',
    { class: 'sign-in' },
    h(
      'form',
      {
        class: 'card sign-in-card',
        'aria-labelledby': 'sign-in-heading',
        on: {
          submit: (e) => {
            e.preventDefault();
            const value = token.value.trim();
            if (value) opts.onToken(value);
          },
        },
      },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'H'), h('span', {}, 'Herald ', h('span', { class: 'muted' }, 'admin'))),
      h('h1', { id: 'sign-in-heading' }, 'Sign in'),
      h('p', { class: 'muted' }, 'Open the admin link that ', h('code', {}, 'npm start'), ' prints, or paste a token with the admin or admin:read role.'),
      error,
      field('Admin token', token, 'Kept in this tab only (sessionStorage), sent in the Authorization header.'),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Sign in')),
      h('p', { class: 'muted small' }, 'Sign a token: ', h('code', {}, 'npm run token -- --sub you --roles admin')),
    ),
  );
}

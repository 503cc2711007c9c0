import { field, fill, h, setText } from '../dom.js';
import { formatClock } from '../format.js';
import type { PublishInput } from '../api.js';
import type { Target } from '../types.js';
import { describeError, type View, type ViewContext } from '../view.js';

type To = 'user' | 'topic' | 'all';

/** A message line under a form: `role="status"` for results, `role="alert"` for errors. */
function outcome(): { element: HTMLElement; ok(text: string): void; error(text: string): void; clear(): void } {
  const element = h('p', { class: 'outcome', role: 'status' });
  return {
    element,
    ok(text) {
      element.className = 'outcome ok';
      element.setAttribute('role', 'status');
      setText(element, text);
    },
    error(text) {
      element.className = 'outcome error';
      element.setAttribute('role', 'alert');
      setText(element, text);
    },
    clear() {
      element.className = 'outcome';
      setText(element, '');
    },
  };
}

/** Runs `work` with `button` disabled, so a double click acts once. */
async function busy(button: HTMLButtonElement, work: () => Promise<void>): Promise<void> {
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

function sendForm(ctx: ViewContext): HTMLElement {
  const initialTo = (['user', 'topic', 'all'] as const).find((t) => t === ctx.params.get('to')) ?? 'user';
  const radios = (['user', 'topic', 'all'] as const).map((value) => {
    const input = h('input', { type: 'radio', name: 'to', value, id: `send-to-${value}`, checked: value === initialTo });
    return { value, input, label: h('label', { class: 'radio' }, input, { user: 'A user', topic: 'A topic', all: 'Everyone' }[value]) };
  });
  const recipient = h('input', { type: 'text', name: 'recipient', autocomplete: 'off', spellcheck: 'false', maxlength: 128, value: ctx.params.get('name') ?? '' });
  const recipientField = field('User id', recipient);
  const type = h('input', { type: 'text', name: 'type', autocomplete: 'off', spellcheck: 'false', maxlength: 64, pattern: '[a-z0-9._\\-]{1,64}', placeholder: 'message' });
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: 200, autocomplete: 'off' });
  const body = h('textarea', { name: 'body', rows: 3, maxlength: 4000 });
  const data = h('textarea', { name: 'data', rows: 2, spellcheck: 'false', placeholder: '{"orderId": 42}', class: 'mono' });
  const submit = h('button', { type: 'submit' }, 'Send notification');
  const result = outcome();

  const to = (): To => radios.find((r) => r.input.checked)?.value ?? 'user';
  const syncRecipient = () => {
    const kind = to();
    recipientField.hidden = kind === 'all';
    recipient.required = kind !== 'all';
    setText(recipientField.querySelector('label')!, kind === 'topic' ? 'Topic' : 'User id');
    recipient.placeholder = kind === 'topic' ? 'e.g. news' : 'e.g. alice';
  };
  for (const r of radios) r.input.addEventListener('change', syncRecipient);
  syncRecipient();

  const send = async () => {
    result.clear();
    const kind = to();
    const name = recipient.value.trim();
    const target: Target = kind === 'user' ? { user: name } : kind === 'topic' ? { topic: name } : { all: true };
    const input: PublishInput = { to: target, title: title.value };
    if (type.value.trim()) input.type = type.value.trim();
    if (body.value) input.body = body.value;
    if (data.value.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.value);
      } catch {
        return result.error('Data must be valid JSON.');
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return result.error('Data must be a JSON object, such as {"orderId": 42}.');
      input.data = parsed as Record<string, unknown>;
    }
    if (kind === 'all' && !(await ctx.confirm('Send this notification to every user? It is stored in everyone’s feed.', 'Send to everyone'))) return;
    try {
      const sent = await ctx.api.publish(input);
      const who = kind === 'all' ? 'everyone' : `${kind} ${name}`;
      result.ok(`Sent to ${who} at ${formatClock(sent.createdAt)} (id ${sent.id}).`);
      title.value = '';
      body.value = '';
      data.value = '';
    } catch (err) {
      result.error(describeError(err));
    }
  };

  return h(
    'form',
    {
      class: 'card form',
      'aria-labelledby': 'send-heading',
      on: {
        submit: (e) => {
          e.preventDefault();
          void busy(submit, send);
        },
      },
    },
    h('h2', { id: 'send-heading', class: 'card-title' }, 'Send a notification'),
    h('fieldset', { class: 'radios' }, h('legend', {}, 'Send to'), h('div', { class: 'radio-row' }, ...radios.map((r) => r.label))),
    recipientField,
    h('div', { class: 'row' }, field('Title', title), field('Type', type, 'Optional; lower case, e.g. order.shipped')),
    field('Body', body, 'Optional, up to 4,000 characters'),
    field('Data (JSON object)', data, 'Optional'),
    h('div', { class: 'form-actions' }, submit),
    result.element,
  );
}

function subscriptionsForm(ctx: ViewContext): HTMLElement {
  const user = h('input', { type: 'text', name: 'user', autocomplete: 'off', spellcheck: 'false', maxlength: 128, required: true, placeholder: 'e.g. alice' });
  const topic = h('input', { type: 'text', name: 'topic', autocomplete: 'off', spellcheck: 'false', maxlength: 128, placeholder: 'e.g. news' });
  const subscribe = h('button', { type: 'submit' }, 'Subscribe');
  const unsubscribe = h('button', { type: 'button', class: 'secondary' }, 'Unsubscribe');
  const show = h('button', { type: 'button', class: 'secondary' }, 'Show topics');
  const topicsList = h('ul', { class: 'chips topics', 'aria-label': 'Subscribed topics' });
  const result = outcome();

  const showTopics = (userId: string, topics: string[], done: string) => {
    fill(
      topicsList,
      ...topics.map((t) =>
        h(
          'li',
          {},
          h('span', { class: 'chip static' }, t),
          h('button', { type: 'button', class: 'link danger', 'aria-label': `Unsubscribe ${userId} from ${t}`, on: { click: () => void change('unsubscribe', t) } }, 'Remove'),
        ),
      ),
    );
    const now = topics.length ? `${userId} is subscribed to ${topics.length} topic${topics.length === 1 ? '' : 's'}.` : `${userId} has no topic subscription.`;
    result.ok(`${done}${now}`);
  };

  const change = async (action: 'subscribe' | 'unsubscribe' | 'list', topicName = topic.value.trim()) => {
    result.clear();
    const userId = user.value.trim();
    if (!userId) return result.error('Enter a user id.');
    if (action !== 'list' && !topicName) return result.error('Enter a topic.');
    try {
      const { topics } =
        action === 'list'
          ? await ctx.api.subscriptions(userId)
          : action === 'subscribe'
            ? await ctx.api.subscribe(userId, topicName)
            : await ctx.api.unsubscribe(userId, topicName);
      const done = action === 'subscribe' ? `Subscribed ${userId} to ${topicName}. ` : action === 'unsubscribe' ? `Unsubscribed ${userId} from ${topicName}. ` : '';
      showTopics(userId, topics, done);
    } catch (err) {
      result.error(describeError(err));
    }
  };
  unsubscribe.addEventListener('click', () => void busy(unsubscribe, () => change('unsubscribe')));
  show.addEventListener('click', () => void busy(show, () => change('list')));

  return h(
    'form',
    {
      class: 'card form',
      'aria-labelledby': 'subs-heading',
      on: {
        submit: (e) => {
          e.preventDefault();
          void busy(subscribe, () => change('subscribe'));
        },
      },
    },
    h('h2', { id: 'subs-heading', class: 'card-title' }, 'Topic subscriptions'),
    h('div', { class: 'row' }, field('User id', user), field('Topic', topic)),
    h('div', { class: 'form-actions' }, subscribe, unsubscribe, show),
    result.element,
    topicsList,
  );
}

function disconnectForm(ctx: ViewContext): HTMLElement {
  const user = h('input', { type: 'text', name: 'user', autocomplete: 'off', spellcheck: 'false', maxlength: 128, required: true, placeholder: 'e.g. alice' });
  const submit = h('button', { type: 'submit', class: 'danger' }, 'Disconnect user');
  const result = outcome();
  const run = async () => {
    result.clear();
    const userId = user.value.trim();
    if (!(await ctx.confirm(`Disconnect every socket of user “${userId}”?`, 'Disconnect user'))) return;
    try {
      const { disconnected } = await ctx.api.disconnectUser(userId);
      result.ok(`Disconnected ${disconnected} socket${disconnected === 1 ? '' : 's'} of ${userId}.`);
    } catch (err) {
      result.error(describeError(err));
    }
  };
  return h(
    'form',
    {
      class: 'card form',
      'aria-labelledby': 'disconnect-heading',
      on: {
        submit: (e) => {
          e.preventDefault();
          void busy(submit, run);
        },
      },
    },
    h('h2', { id: 'disconnect-heading', class: 'card-title' }, 'Disconnect a user'),
    field('User id', user, 'Closes all of the user’s sockets on every node; clients may reconnect.'),
    h('div', { class: 'form-actions' }, submit),
    result.element,
  );
}

/** Sending and steering, for the `admin` role only (the server refuses the rest anyway). */
export function actionsView(ctx: ViewContext): View {
  return {
    title: 'Send and manage',
    element: h('div', { class: 'actions-grid' }, sendForm(ctx), h('div', { class: 'stack' }, subscriptionsForm(ctx), disconnectForm(ctx))),
  };
}

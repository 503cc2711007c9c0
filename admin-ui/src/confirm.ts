import { h, setText } from './dom.js';

/**
 * A modal question before a destructive action, on a native `<dialog>` (focus
 * is trapped and Escape cancels).
 */
export class ConfirmDialog {
  readonly element: HTMLDialogElement;
  private readonly question: HTMLElement;
  private readonly confirmButton: HTMLButtonElement;
  private answer: ((yes: boolean) => void) | undefined;

  constructor() {
    this.question = h('p', { id: 'confirm-question' });
    this.confirmButton = h('button', { type: 'button', class: 'danger', on: { click: () => this.close(true) } }, 'Confirm');
    const cancel = h('button', { type: 'button', class: 'secondary', on: { click: () => this.close(false) } }, 'Cancel');
    this.element = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-question' },
      h('h2', { id: 'confirm-title' }, 'Are you sure?'),
      this.question,
      h('div', { class: 'form-actions' }, cancel, this.confirmButton),
    );
    this.element.addEventListener('close', () => this.close(false));
  }

  ask(question: string, confirmLabel: string): Promise<boolean> {
    this.close(false);
    setText(this.question, question);
    setText(this.confirmButton, confirmLabel);
    this.element.showModal();
    return new Promise((resolve) => (this.answer = resolve));
  }

  private close(yes: boolean): void {
    const answer = this.answer;
    this.answer = undefined;
    if (this.element.open) this.element.close();
    answer?.(yes);
  }
}

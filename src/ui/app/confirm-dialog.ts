/**
 * The one confirmation dialog (`<dialog data-dialog=confirm>`). Its text names exactly what a
 * delete removes. Escape (the dialog's own `cancel`) and the Cancel button both answer false.
 */
import { h, replace, type Child } from './dom.js';

export interface Confirmation {
  title: string;
  /** What goes, one line each (already readable text). */
  body: Child[];
  confirmLabel: string;
}

export function createConfirmDialog(): { element: HTMLDialogElement; confirm: (what: Confirmation) => Promise<boolean> } {
  const heading = h('h2', { id: 'confirm-title' });
  const body = h('div', { class: 'dialog-body' });
  const confirmButton = h('button', { type: 'button', class: 'danger', 'data-action': 'confirm' });
  const cancelButton = h('button', { type: 'button', 'data-action': 'cancel' }, 'Cancel');
  const element = h('dialog', { 'data-dialog': 'confirm', 'aria-labelledby': 'confirm-title' }, heading, body, h('div', { class: 'dialog-actions' }, cancelButton, confirmButton));
  confirmButton.addEventListener('click', () => element.close('confirm'));
  cancelButton.addEventListener('click', () => element.close('cancel'));

  const confirm = (what: Confirmation): Promise<boolean> => {
    heading.textContent = what.title;
    replace(body, ...what.body);
    confirmButton.textContent = what.confirmLabel;
    element.returnValue = '';
    return new Promise((resolve) => {
      element.addEventListener('close', () => resolve(element.returnValue === 'confirm'), { once: true });
      element.showModal();
      // Start on Cancel: Enter on a freshly opened dialog must not delete anything.
      cancelButton.focus();
    });
  };
  return { element, confirm };
}

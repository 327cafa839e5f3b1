/** Small pieces several pages share: copy buttons, sizes, times, digests, facts, loading and errors. */
import { copyText } from './clipboard.js';
import { h, type Child } from './dom.js';
import { exactTime, humanBytes, relativeTime, shortDigest } from './format.js';
import { repositoriesHash, repositoryHash } from './routes.js';

/** `button[data-action=copy]` copying `text`; says "Copied" (or "Copy failed") for a moment. */
export function copyButton(text: string, what: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'copy', 'data-action': 'copy', 'aria-label': `Copy ${what}`, title: `Copy ${what}` }, 'Copy');
  button.addEventListener('click', async () => {
    const ok = await copyText(text);
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
  return button;
}

/** A human-readable size with the exact bytes in `data-bytes` and the title. */
export function sizeText(bytes: number): HTMLSpanElement {
  return h('span', { 'data-bytes': bytes, title: `${bytes.toLocaleString('en')} bytes` }, humanBytes(bytes));
}

/** `<time>` with the relative time as text and the exact time in the title. */
export function timeText(iso: string | null | undefined): Child {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: exactTime(iso) }, relativeTime(iso, Date.now()));
}

/** The short digest as text (full digest in the title) for tables and headings. */
export function digestText(digest: string): HTMLElement {
  return h('code', { class: 'digest', title: digest }, shortDigest(digest));
}

/**
 * A media type as code that may wrap after each `/`, `.` and `+` rather than in the middle of a
 * word (`application/` `vnd.` `oci.` ...): narrow table cells stay readable.
 */
export function mediaTypeCode(type: string, className = 'small'): HTMLElement {
  const parts = type.split(/(?<=[/.+])/);
  return h('code', { class: className }, parts.map((part, i) => (i === 0 ? part : [h('wbr'), part])));
}

export function loading(what = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', 'aria-live': 'polite' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), what);
}

/** One `dt`/`dd` pair of a page's facts list (`dl.facts`); a wide one spans two columns on wide screens. */
export function fact(label: string, value: Child, options: { wide?: boolean } = {}): HTMLElement {
  return h('div', options.wide ? { class: 'wide' } : null, h('dt', null, label), h('dd', null, value));
}

/** `Repositories /` on a repository's page, `Repositories / <name> /` on one of its images. */
export function breadcrumbs(repository?: string): HTMLElement {
  return h(
    'nav',
    { class: 'crumbs', 'aria-label': 'Breadcrumb' },
    h('a', { href: repositoriesHash() }, 'Repositories'),
    ' / ',
    repository === undefined ? null : [h('a', { href: repositoryHash(repository) }, repository), ' /'],
  );
}

/** An error shown to the user: `role=alert`, so screen readers announce it too. */
export function alertBox(message: string, ...extra: Child[]): HTMLElement {
  return h('div', { class: 'alert', role: 'alert' }, h('p', null, message), ...extra);
}

/** A table inside a box that scrolls sideways on narrow screens instead of widening the page. */
export function scrollBox(table: HTMLTableElement): HTMLElement {
  return h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': table.getAttribute('aria-label') ?? 'table' }, table);
}

/**
 * An error shown right after the control it is about (a delete button, a download link), so it
 * is seen where the user acted. Replaces the one that control showed before.
 */
export function alertAfter(control: Element, message: string): void {
  clearAlertAfter(control);
  const alert = h('span', { class: 'alert inline-alert', role: 'alert' }, message);
  control.after(alert);
  alert.scrollIntoView({ block: 'nearest' });
}

/** Removes the error `alertAfter` put after this control, if any (the retry worked). */
export function clearAlertAfter(control: Element): void {
  const next = control.nextElementSibling;
  if (next?.classList.contains('inline-alert')) next.remove();
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The repository list: a search box (debounced, kept in the address as `#/?q=`), one page of
 * repositories at a time with their tag count and last push, and previous/next buttons. The
 * API pages with a `last` cursor, so previous pages are remembered as a stack of cursors.
 */
import type { RepositoryPage } from '../api-types.js';
import { h, replace } from '../dom.js';
import { plural } from '../format.js';
import type { PageContext } from '../page-context.js';
import { repositoriesHash, repositoryHash } from '../routes.js';
import { alertBox, errorMessage, loading, scrollBox, timeText } from '../widgets.js';

const pageSize = 50;
const debounceMs = 250;

export function renderRepositories(context: PageContext, initialQuery: string): void {
  const { client, main } = context;
  context.setTitle('Repositories');
  const search = h('input', {
    type: 'search',
    name: 'q',
    id: 'repository-search',
    value: initialQuery,
    placeholder: 'Search repositories',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-keyshortcuts': '/',
  });
  const total = h('span', { 'data-field': 'total' });
  const results = h('div', { class: 'results' });
  const previous = h('button', { type: 'button', 'data-action': 'previous-page', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', 'data-action': 'next-page', disabled: true }, 'Next →');
  const pageInfo = h('span', { class: 'muted' });
  main.append(
    h('div', { class: 'toolbar' }, h('label', { for: 'repository-search', class: 'search-label' }, 'Search repositories'), search, h('p', { class: 'count' }, total)),
    results,
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, previous, pageInfo, next),
  );

  /** Cursors of the pages before the current one (`null`: the first page). */
  const cursors: Array<string | null> = [];
  let cursor: string | null = null;
  let nextCursor: string | null = null;
  let generation = 0;

  const load = async (): Promise<void> => {
    const mine = ++generation;
    // Until this page arrives there is no next page to go to: a second click on "Next" (or
    // "Previous") must not move the cursors again.
    previous.disabled = true;
    next.disabled = true;
    nextCursor = null;
    results.setAttribute('aria-busy', 'true');
    if (results.childElementCount === 0) replace(results, loading());
    const params = new URLSearchParams({ n: String(pageSize) });
    if (search.value !== '') params.set('q', search.value);
    if (cursor !== null) params.set('last', cursor);
    try {
      const page = await client.json<RepositoryPage>(`berth/v1/repositories?${params.toString()}`);
      if (mine !== generation || !context.isCurrent()) return;
      nextCursor = page.next;
      total.textContent = plural(page.total, 'repository', 'repositories');
      total.setAttribute('data-count', String(page.total));
      previous.disabled = cursors.length === 0;
      next.disabled = page.next === null;
      const first = cursors.length * pageSize + 1;
      pageInfo.textContent = page.repositories.length ? `${first}–${first + page.repositories.length - 1} of ${page.total}` : '';
      replace(results, page.repositories.length ? scrollBox(repositoryTable(page)) : h('p', { class: 'empty' }, search.value ? `No repository matches “${search.value}”.` : 'No repositories yet. Push an image to see it here.'));
    } catch (error) {
      if (mine !== generation || !context.isCurrent()) return;
      previous.disabled = cursors.length === 0;
      replace(results, alertBox(errorMessage(error)));
    } finally {
      if (mine === generation) results.removeAttribute('aria-busy');
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      // The user may have left the page while the timer ran: its address is no longer ours.
      if (!context.isCurrent()) return;
      // The address follows the search (so it can be shared or reloaded) without a page change.
      history.replaceState(null, '', repositoriesHash(search.value));
      cursors.length = 0;
      cursor = null;
      void load();
    }, debounceMs);
  });
  next.addEventListener('click', () => {
    if (nextCursor === null) return;
    cursors.push(cursor);
    cursor = nextCursor;
    void load();
  });
  previous.addEventListener('click', () => {
    if (cursors.length === 0) return;
    cursor = cursors.pop()!;
    void load();
  });
  void load();
}

function repositoryTable(page: RepositoryPage): HTMLTableElement {
  return h(
    'table',
    { 'data-table': 'repositories', 'aria-label': 'Repositories' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col', class: 'num' }, 'Tags'), h('th', { scope: 'col' }, 'Last push'))),
    h(
      'tbody',
      null,
      page.repositories.map((repository) =>
        h(
          'tr',
          { 'data-repository': repository.name },
          h('td', { class: 'name' }, h('a', { href: repositoryHash(repository.name) }, repository.name)),
          h('td', { 'data-field': 'tags', class: 'num' }, String(repository.tagCount)),
          h('td', { 'data-field': 'last-push' }, timeText(repository.lastPush)),
        ),
      ),
    ),
  );
}

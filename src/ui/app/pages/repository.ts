/**
 * One repository: its tag count, last push and storage use; copyable pull commands for the host
 * the browser used; the tag table (filter and sort in the page, since every tag is loaded), and
 * deleting a tag when the user may.
 */
import type { RepositorySummary, RepositoryUsage, TagPage, TagSummary } from '../api-types.js';
import { artifactLabel } from '../artifact-types.js';
import { append, h, replace } from '../dom.js';
import { plural } from '../format.js';
import type { PageContext } from '../page-context.js';
import { imageHash, namePath } from '../routes.js';
import { firstDirection, defaultTag, orderTags, type TagSort, type TagSortKey } from '../tag-order.js';
import { alertAfter, alertBox, breadcrumbs, copyButton, digestText, errorMessage, fact, loading, scrollBox, sizeText, timeText } from '../widgets.js';

/** Tags are loaded in pages of 1000 (the API's maximum), up to this many in all. */
const tagPageSize = 1000;
const maxTags = 20_000;
/** Rows drawn before "Show all" is pressed. */
const rowsAtFirst = 500;

export async function renderRepository(context: PageContext, name: string): Promise<void> {
  const { client, main } = context;
  context.setTitle(name);
  main.prepend(breadcrumbs());
  main.append(loading());
  const path = namePath(name);
  let summary: RepositorySummary;
  let tags: TagSummary[];
  let truncated: boolean;
  try {
    [summary, { tags, truncated }] = await Promise.all([client.json<RepositorySummary>(`berth/v1/repositories/${path}/_summary`), loadTags(context, path)]);
  } catch (error) {
    if (context.isCurrent()) main.lastElementChild!.replaceWith(alertBox(errorMessage(error)));
    return;
  }
  if (!context.isCurrent()) return;
  main.lastElementChild!.remove();

  const usage = h('span', { 'data-field': 'usage', 'aria-busy': 'true' }, '…');
  append(main, [
    h(
      'dl',
      { class: 'facts' },
      fact('Tags', String(summary.tagCount)),
      fact('Last push', timeText(summary.lastPush)),
      fact('Storage used', usage),
    ),
    pullCommands(name, defaultTag(tags)),
    tagSection(context, name, tags, summary.canDelete, summary.deleteEnabled, truncated),
  ]);
  void fillUsage(context, path, usage);
}

async function loadTags(context: PageContext, path: string): Promise<{ tags: TagSummary[]; truncated: boolean }> {
  const tags: TagSummary[] = [];
  let last: string | null = null;
  do {
    const params = new URLSearchParams({ n: String(tagPageSize) });
    if (last !== null) params.set('last', last);
    const page: TagPage = await context.client.json<TagPage>(`berth/v1/repositories/${path}/_tags?${params.toString()}`);
    tags.push(...page.tags);
    last = page.next;
  } while (last !== null && tags.length < maxTags && context.isCurrent());
  return { tags, truncated: last !== null };
}

/** Storage is counted separately: it reads every blob's size, so the tags do not wait for it. */
async function fillUsage(context: PageContext, path: string, target: HTMLElement): Promise<void> {
  try {
    const usage = await context.client.json<RepositoryUsage>(`berth/v1/repositories/${path}/_usage`);
    target.setAttribute('data-bytes', String(usage.bytes));
    replace(target, sizeText(usage.bytes), h('span', { class: 'muted' }, ` in ${plural(usage.blobs, 'blob')}`), usage.missing > 0 ? h('span', { class: 'warning' }, ` (${usage.missing} missing)`) : null);
  } catch (error) {
    replace(target, h('span', { class: 'muted', title: errorMessage(error) }, 'unavailable'));
  } finally {
    target.removeAttribute('aria-busy');
  }
}

/** `docker pull host/name:tag` and the podman one, for the host (and port) this page came from. */
function pullCommands(name: string, tag: string | undefined): HTMLElement {
  const reference = `${location.host}/${name}${tag ? `:${tag}` : ''}`;
  const command = (tool: 'docker' | 'podman'): HTMLElement => {
    const text = `${tool} pull ${reference}`;
    return h('div', { class: 'command' }, h('code', { 'data-field': `pull-${tool}` }, text), copyButton(text, `the ${tool} pull command`));
  };
  return h('section', { class: 'usage', 'aria-labelledby': 'pull-title' }, h('h2', { id: 'pull-title' }, 'Pull'), command('docker'), command('podman'));
}

const columns: Array<{ key?: TagSortKey; label: string; className?: string }> = [
  { key: 'tag', label: 'Tag' },
  { label: 'Digest' },
  { label: 'Type' },
  { key: 'size', label: 'Size', className: 'num' },
  { label: 'Platforms' },
  { key: 'created', label: 'Created' },
  { key: 'pushed', label: 'Pushed' },
];

function tagSection(context: PageContext, name: string, tags: TagSummary[], canDelete: boolean, deleteEnabled: boolean, truncated: boolean): HTMLElement {
  let sort: TagSort = { key: 'tag', descending: false };
  const filter = h('input', { type: 'search', name: 'tag-filter', id: 'tag-filter', placeholder: 'Filter tags', autocomplete: 'off', spellcheck: 'false' });
  const shown = h('span', { class: 'muted' });
  const body = h('tbody');
  const sortButtons = new Map<TagSortKey, HTMLButtonElement>();
  const headerCells = columns.map((column) => {
    if (!column.key) return h('th', { scope: 'col', class: column.className }, column.label);
    const key = column.key;
    const button = h('button', { type: 'button', class: 'sort', 'data-sort': key }, column.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }));
    button.addEventListener('click', () => {
      sort = sort.key === key ? { key, descending: !sort.descending } : { key, descending: firstDirection(key) };
      draw();
    });
    sortButtons.set(key, button);
    return h('th', { scope: 'col', class: column.className }, button);
  });
  const table = h('table', { 'data-table': 'tags', 'aria-label': `Tags of ${name}` }, h('thead', null, h('tr', null, headerCells, h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))), body);

  const draw = (): void => {
    const rows = orderTags(tags, filter.value, sort);
    for (const [key, button] of sortButtons) {
      const th = button.parentElement!;
      if (key === sort.key) th.setAttribute('aria-sort', sort.descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
      button.lastElementChild!.textContent = key === sort.key ? (sort.descending ? ' ▼' : ' ▲') : '';
    }
    shown.textContent = filter.value.trim() ? `${rows.length} of ${plural(tags.length, 'tag')}` : plural(tags.length, 'tag');
    const visible = showAll ? rows : rows.slice(0, rowsAtFirst);
    replace(body, rows.length ? visible.map((tag) => tagRow(context, name, tag, canDelete)) : h('tr', null, h('td', { colspan: columns.length + 1, class: 'empty' }, tags.length ? 'No tag matches the filter.' : 'This repository has no tags.')));
    more.hidden = visible.length === rows.length;
    more.textContent = `Show all ${rows.length} tags`;
  };
  // Drawing thousands of rows on every keystroke of the filter would lag: show the first few
  // hundred until asked for all.
  let showAll = false;
  const more = h('button', { type: 'button', 'data-action': 'show-all-tags', hidden: true });
  more.addEventListener('click', () => {
    showAll = true;
    draw();
  });
  filter.addEventListener('input', draw);
  draw();
  return h(
    'section',
    { 'aria-labelledby': 'tags-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'tags-title' }, 'Tags'), shown),
    h('div', { class: 'toolbar' }, h('label', { for: 'tag-filter', class: 'search-label' }, 'Filter tags'), filter),
    truncated ? h('p', { class: 'warning' }, `Only the first ${tags.length} tags are shown.`) : null,
    scrollBox(table),
    h('p', null, more),
    deleteEnabled ? null : h('p', { class: 'muted' }, 'Deleting is turned off in this registry’s configuration.'),
  );
}

function tagRow(context: PageContext, name: string, tag: TagSummary, canDelete: boolean): HTMLTableRowElement {
  const label = tag.kind === 'artifact' ? (artifactLabel(tag.artifactType) ?? tag.artifactType ?? 'artifact') : tag.kind;
  return h(
    'tr',
    { 'data-tag': tag.tag },
    h('td', { class: 'name' }, h('a', { href: imageHash(name, tag.digest), title: `Open ${name}:${tag.tag}` }, tag.tag)),
    h('td', { 'data-field': 'digest', 'data-digest': tag.digest, class: 'nowrap' }, digestText(tag.digest), ' ', copyButton(tag.digest, `the digest of ${tag.tag}`)),
    h('td', { 'data-field': 'type', title: tag.artifactType ? `${tag.mediaType}\nartifact type: ${tag.artifactType}` : tag.mediaType }, label),
    h('td', { 'data-field': 'size', 'data-bytes': tag.size, class: 'num nowrap' }, sizeText(tag.size)),
    h('td', { 'data-field': 'platforms' }, tag.platforms.length ? tag.platforms.join(', ') : h('span', { class: 'muted' }, '—')),
    h('td', { 'data-field': 'created', class: 'nowrap' }, timeText(tag.created)),
    h('td', { 'data-field': 'pushed', class: 'nowrap' }, timeText(tag.pushedAt)),
    h('td', { class: 'actions' }, canDelete ? deleteTagButton(context, name, tag) : null),
  );
}

function deleteTagButton(context: PageContext, name: string, tag: TagSummary): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'danger small', 'data-action': 'delete-tag', 'aria-label': `Delete tag ${tag.tag}` }, 'Delete');
  button.addEventListener('click', async () => {
    const confirmed = await context.confirm({
      title: 'Delete this tag?',
      body: [
        h('p', null, 'Repository: ', h('strong', null, name)),
        h('p', null, 'Tag: ', h('strong', null, tag.tag)),
        h('p', { class: 'muted' }, `Only the tag goes. The manifest ${tag.digest} stays, with any other tags pointing at it.`),
      ],
      confirmLabel: `Delete tag ${tag.tag}`,
    });
    if (!confirmed) return;
    button.disabled = true;
    try {
      await context.client.perform(`v2/${namePath(name)}/manifests/${encodeURIComponent(tag.tag)}`, { method: 'DELETE' });
      context.reload();
    } catch (error) {
      if (!context.isCurrent()) return;
      button.disabled = false;
      alertAfter(button, `Could not delete tag ${tag.tag}: ${errorMessage(error)}`);
    }
  });
  return button;
}

/**
 * One manifest: its facts and tags, for an index the platforms (each linked to its manifest),
 * for an image the config, build history and layers, then the referrers (signatures, SBOMs,
 * attestations) and the manifest itself as pretty JSON with every digest a link.
 */
import type { Descriptor, ImageDetails, ReferrersIndex, RepositorySummary } from '../api-types.js';
import { artifactLabel } from '../artifact-types.js';
import { blobLink } from '../blob-download.js';
import { configRows, historyEntries, type HistoryEntry } from '../config-fields.js';
import { append, h, replace } from '../dom.js';
import { shortDigest } from '../format.js';
import { prettyJson, splitDigests } from '../json-digests.js';
import type { PageContext } from '../page-context.js';
import { imageHash, namePath, repositoryHash } from '../routes.js';
import { alertAfter, alertBox, breadcrumbs, copyButton, digestText, errorMessage, fact, loading, mediaTypeCode, scrollBox, sizeText, timeText } from '../widgets.js';

export async function renderImage(context: PageContext, name: string, digest: string): Promise<void> {
  const { client, main } = context;
  context.setTitle(`${name}@${shortDigest(digest)}`);
  main.prepend(breadcrumbs(name));
  main.append(loading());
  const path = namePath(name);
  let image: ImageDetails;
  let summary: RepositorySummary | undefined;
  try {
    [image, summary] = await Promise.all([
      client.json<ImageDetails>(`berth/v1/repositories/${path}/_images/${digest}`),
      // Only decides whether a delete button shows; the page works without it.
      client.json<RepositorySummary>(`berth/v1/repositories/${path}/_summary`).catch(() => undefined),
    ]);
  } catch (error) {
    if (context.isCurrent()) main.lastElementChild!.replaceWith(alertBox(errorMessage(error)));
    return;
  }
  if (!context.isCurrent()) return;
  main.lastElementChild!.remove();

  const referrers = h('div', { 'aria-busy': 'true' }, loading('Looking for referrers…'));
  const history = historyEntries(image.config?.content);
  append(main, [
    facts(image),
    summary?.canDelete ? h('p', null, deleteManifestButton(context, image)) : null,
    image.manifests.length ? platformSection(image) : null,
    image.config?.content ? configSection(image) : null,
    history.length ? historySection(image, history) : null,
    image.kind !== 'index' || image.layers.length ? layerSection(context, image) : null,
    h('section', { 'data-section': 'referrers', 'aria-labelledby': 'referrers-title' }, h('h2', { id: 'referrers-title' }, 'Referrers'), referrers),
    manifestSection(context, image),
  ]);
  void fillReferrers(context, image, referrers);
}

function kindLabel(image: ImageDetails): string {
  if (image.kind === 'index') return 'Image index (multi-platform)';
  if (image.kind === 'artifact') return `Artifact${image.artifactType ? `: ${artifactLabel(image.artifactType) ?? image.artifactType}` : ''}`;
  return image.kind === 'image' ? 'Image' : 'Manifest';
}

function facts(image: ImageDetails): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    fact('Digest', [h('code', { class: 'digest full' }, image.digest), ' ', copyButton(image.digest, 'the digest')]),
    fact('Tags', h('span', { 'data-field': 'tags' }, image.tags.length ? image.tags.map((tag, i) => [i ? ', ' : '', h('strong', null, tag)]) : h('span', { class: 'muted' }, 'untagged'))),
    fact('Type', [kindLabel(image), h('br'), mediaTypeCode(image.mediaType, 'muted small'), image.artifactType ? [h('br'), mediaTypeCode(image.artifactType, 'muted small')] : null], { wide: true }),
    image.platform ? fact('Platform', image.platform) : null,
    fact('Total size', [h('span', { 'data-field': 'total-size', 'data-bytes': image.totalSize }, sizeText(image.totalSize)), h('span', { class: 'muted' }, ` (manifest ${image.size.toLocaleString('en')} bytes)`)]),
    image.created ? fact('Created', timeText(image.created)) : null,
    image.subject ? fact('Refers to', h('a', { href: imageHash(image.name, image.subject.digest) }, digestText(image.subject.digest))) : null,
    fact('Pull by digest', [h('code', { 'data-field': 'pull-digest' }, `${location.host}/${image.name}@${image.digest}`), ' ', copyButton(`${location.host}/${image.name}@${image.digest}`, 'the reference')]),
  );
}

function platformSection(image: ImageDetails): HTMLElement {
  const withPlatform = image.manifests.filter((child) => child.platform && child.platform !== 'unknown/unknown');
  const others = image.manifests.filter((child) => !withPlatform.includes(child));
  const table = h(
    'table',
    { 'data-table': 'platforms', 'aria-label': 'Platforms' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Platform'), h('th', { scope: 'col' }, 'Digest'), h('th', { scope: 'col', class: 'num' }, 'Size'))),
    h(
      'tbody',
      null,
      withPlatform.map((child) =>
        h(
          'tr',
          { 'data-platform': child.platform! },
          h('td', null, h('a', { href: imageHash(image.name, child.digest) }, child.platform!)),
          h('td', null, digestText(child.digest)),
          h('td', { class: 'num', 'data-bytes': child.totalSize ?? child.size }, child.totalSize === null ? h('span', { class: 'muted', title: 'not stored in this repository' }, 'missing') : sizeText(child.totalSize)),
        ),
      ),
    ),
  );
  return h(
    'section',
    { 'data-section': 'platforms', 'aria-labelledby': 'platforms-title' },
    h('h2', { id: 'platforms-title' }, 'Platforms'),
    withPlatform.length ? scrollBox(table) : h('p', { class: 'muted' }, 'No platform entries.'),
    others.length
      ? h(
          'p',
          { class: 'muted' },
          'Other manifests in this index (attestations and the like): ',
          others.map((child, i) => [i ? ', ' : '', h('a', { href: imageHash(image.name, child.digest) }, shortDigest(child.digest))]),
        )
      : null,
  );
}

function configSection(image: ImageDetails): HTMLElement {
  const rows = configRows(image.config!.content);
  return h(
    'section',
    { 'data-section': 'config', 'aria-labelledby': 'config-title' },
    h('h2', { id: 'config-title' }, 'Configuration'),
    rows.length
      ? h(
          'dl',
          { class: 'config' },
          rows.map((row) => h('div', { 'data-field': row.field }, h('dt', null, row.label), h('dd', null, row.lines.map((line) => h('code', { class: 'line' }, line))))),
        )
      : h('p', { class: 'muted' }, 'The configuration sets nothing to show.'),
  );
}

function historySection(image: ImageDetails, history: HistoryEntry[]): HTMLElement {
  // Layers line up with the history entries that are not empty layers, in order.
  let layer = 0;
  const rows = history.map((entry) => {
    const size = entry.emptyLayer ? undefined : image.layers[layer++]?.size;
    return h(
      'tr',
      null,
      h('td', { class: 'nowrap' }, timeText(entry.created)),
      h('td', null, h('code', { class: 'command-text' }, entry.step)),
      h('td', { class: 'num nowrap' }, size === undefined ? h('span', { class: 'muted' }, entry.emptyLayer ? '—' : '?') : sizeText(size)),
    );
  });
  return h(
    'section',
    { 'data-section': 'history', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'Build history'),
    scrollBox(h('table', { 'data-table': 'history', 'aria-label': 'Build history' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Step'), h('th', { scope: 'col', class: 'num' }, 'Layer'))), h('tbody', null, rows))),
  );
}

function layerSection(context: PageContext, image: ImageDetails): HTMLElement {
  const table = h(
    'table',
    { 'data-table': 'layers', 'aria-label': 'Layers' },
    h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'num narrow' }, '#'), h('th', { scope: 'col' }, 'Digest'), h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col' }, 'Media type'))),
    h(
      'tbody',
      null,
      image.layers.map((layer, i) =>
        h(
          'tr',
          { 'data-layer': layer.digest, 'data-bytes': layer.size },
          h('td', { class: 'num narrow' }, String(i + 1)),
          h('td', null, blobLink(context.client, image.name, layer.digest, digestText(layer.digest))),
          h('td', { class: 'num nowrap' }, sizeText(layer.size)),
          h('td', null, mediaTypeCode(layer.mediaType), layer.annotations?.['org.opencontainers.image.title'] ? [h('br'), layer.annotations['org.opencontainers.image.title']] : null),
        ),
      ),
    ),
  );
  return h(
    'section',
    { 'data-section': 'layers', 'aria-labelledby': 'layers-title' },
    h('h2', { id: 'layers-title' }, 'Layers'),
    image.layers.length ? scrollBox(table) : h('p', { class: 'muted' }, 'No layers.'),
  );
}

async function fillReferrers(context: PageContext, image: ImageDetails, target: HTMLElement): Promise<void> {
  let referrers: Descriptor[];
  try {
    const index = await context.client.json<ReferrersIndex>(`v2/${namePath(image.name)}/referrers/${image.digest}`);
    referrers = index.manifests ?? [];
  } catch (error) {
    if (context.isCurrent()) replace(target, alertBox(`Could not list referrers: ${errorMessage(error)}`));
    return;
  } finally {
    target.removeAttribute('aria-busy');
  }
  if (!context.isCurrent()) return;
  if (referrers.length === 0) {
    replace(target, h('p', { class: 'muted', 'data-field': 'no-referrers' }, 'No referrers: nothing (signature, SBOM, attestation) refers to this manifest.'));
    return;
  }
  const table = h(
    'table',
    { 'data-table': 'referrers', 'aria-label': 'Referrers' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Digest'), h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col' }, 'Created'))),
    h(
      'tbody',
      null,
      referrers.map((referrer) => {
        const type = referrer.artifactType ?? referrer.mediaType;
        const label = artifactLabel(type);
        return h(
          'tr',
          { 'data-referrer': referrer.digest },
          h('td', { 'data-field': 'artifact-type' }, label ? h('strong', null, label) : null, label ? h('br') : null, mediaTypeCode(type)),
          h('td', null, h('a', { href: imageHash(image.name, referrer.digest) }, digestText(referrer.digest))),
          h('td', { class: 'num nowrap', 'data-bytes': referrer.size }, sizeText(referrer.size)),
          h('td', { class: 'nowrap' }, timeText(referrer.annotations?.['org.opencontainers.image.created'])),
        );
      }),
    ),
  );
  replace(target, scrollBox(table));
}

function manifestSection(context: PageContext, image: ImageDetails): HTMLElement {
  const manifestDigests = new Set<string>(image.manifests.map((child) => child.digest));
  if (image.subject) manifestDigests.add(image.subject.digest);
  const pre = h('pre', { 'data-field': 'manifest', class: 'json', tabindex: 0 });
  for (const piece of splitDigests(prettyJson(image.manifest))) {
    if ('text' in piece) pre.append(piece.text);
    else if (manifestDigests.has(piece.digest)) pre.append(h('a', { href: imageHash(image.name, piece.digest), title: 'Open this manifest' }, piece.digest));
    else pre.append(blobLink(context.client, image.name, piece.digest, piece.digest));
  }
  return h(
    'section',
    { 'data-section': 'manifest', 'aria-labelledby': 'manifest-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'manifest-title' }, 'Manifest'), copyButton(image.manifest, 'the manifest')),
    pre,
  );
}

function deleteManifestButton(context: PageContext, image: ImageDetails): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'danger', 'data-action': 'delete-manifest' }, 'Delete manifest…');
  const path = namePath(image.name);
  const failed = (what: string, error: unknown): void => {
    if (!context.isCurrent()) return;
    button.disabled = false;
    alertAfter(button, `${what}: ${errorMessage(error)}`);
  };
  button.addEventListener('click', async () => {
    // Tags may have moved since the page was drawn: ask again, so the confirmation names every
    // tag that goes with the manifest.
    button.disabled = true;
    let tags: string[];
    try {
      tags = (await context.client.json<ImageDetails>(`berth/v1/repositories/${path}/_images/${image.digest}`)).tags;
    } catch (error) {
      failed('Could not check which tags point at the manifest', error);
      return;
    }
    if (!context.isCurrent()) return;
    button.disabled = false;
    const confirmed = await context.confirm({
      title: 'Delete this manifest?',
      body: [
        h('p', null, 'Repository: ', h('strong', null, image.name)),
        h('p', null, 'Manifest: ', h('code', { class: 'digest full' }, image.digest)),
        tags.length
          ? h('p', null, `With it go ${tags.length === 1 ? 'the tag' : `these ${tags.length} tags`}: `, tags.map((tag, i) => [i ? ', ' : '', h('strong', null, tag)]))
          : h('p', null, 'No tag points at it.'),
      ],
      confirmLabel: 'Delete manifest',
    });
    if (!confirmed) return;
    button.disabled = true;
    try {
      await context.client.perform(`v2/${path}/manifests/${image.digest}`, { method: 'DELETE' });
      // The manifest is gone, so its page is too: show the repository it was in.
      if (context.isCurrent()) location.hash = repositoryHash(image.name);
    } catch (error) {
      failed('Could not delete the manifest', error);
    }
  });
  return button;
}

/**
 * Links that download a blob. With auth off the link simply works. With auth on, a plain link
 * would make the browser ask for credentials itself, so a click fetches the blob with our
 * Authorization header and saves it from an object URL instead. A failure is shown next to the
 * link.
 */
import { h, type Child } from './dom.js';
import type { RegistryClient } from './registry-client.js';
import { RequestError, responseFailure } from './registry-error.js';
import { namePath } from './routes.js';
import { alertAfter, clearAlertAfter, errorMessage } from './widgets.js';

export function blobLink(client: RegistryClient, name: string, digest: string, ...content: Child[]): HTMLAnchorElement {
  const fileName = digest.replace(':', '-');
  const path = `v2/${namePath(name)}/blobs/${digest}`;
  const link = h('a', { href: client.url(path), download: fileName, class: 'blob-link', title: `Download blob ${digest}` }, ...content);
  link.addEventListener('click', async (event) => {
    if (client.scheme === 'none') return;
    event.preventDefault();
    link.setAttribute('aria-busy', 'true');
    try {
      const url = URL.createObjectURL(await fetchBlob(client, path));
      const save = h('a', { href: url, download: fileName, class: 'offscreen' });
      document.body.appendChild(save);
      save.click();
      save.remove();
      clearAlertAfter(link);
      // The download has started from the object URL; keep it alive a little, then free it.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      alertAfter(link, `Download failed: ${errorMessage(error)}`);
    } finally {
      link.removeAttribute('aria-busy');
    }
  });
  return link;
}

async function fetchBlob(client: RegistryClient, path: string): Promise<Blob> {
  // Not followed: a redirect goes to object storage on another origin, which the page's
  // Content-Security-Policy (`connect-src 'self'`) forbids, and the browser would only say
  // "failed to fetch".
  const response = await client.request(path, { redirect: 'manual' });
  if (response.type === 'opaqueredirect') {
    throw new RequestError('this registry keeps blobs in object storage, and those cannot be downloaded from the UI while auth is on. Use docker, podman, skopeo or oras instead.', 0);
  }
  if (!response.ok) throw await responseFailure(response);
  return response.blob();
}

/**
 * The user's credentials for this browser tab only: sessionStorage is gone when the tab closes
 * and is not shared with other tabs. "Log out" clears it.
 */
export interface Credentials {
  username: string;
  password: string;
}

const storageKey = 'berth.credentials';

export function loadCredentials(): Credentials | null {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null') as Partial<Credentials> | null;
    return parsed && typeof parsed.username === 'string' && typeof parsed.password === 'string' ? { username: parsed.username, password: parsed.password } : null;
  } catch {
    return null;
  }
}

export function saveCredentials(credentials: Credentials): void {
  sessionStorage.setItem(storageKey, JSON.stringify(credentials));
}

export function clearCredentials(): void {
  sessionStorage.removeItem(storageKey);
}

/** `Basic base64(user:password)`, with the text encoded as UTF-8 (what registries expect). */
export function basicAuthorization({ username, password }: Credentials): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

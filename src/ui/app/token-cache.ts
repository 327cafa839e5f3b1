/**
 * Bearer tokens by the challenge they answer (realm, service and scopes), kept until shortly
 * before they expire so a page's requests do not each go to the token server.
 */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The token for this key, unless it expires within the next 10 seconds (or already has). */
  get(key: string): string | undefined {
    const entry = this.tokens.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt - 10_000 <= this.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return entry.token;
  }

  /** The token server's `expires_in` (seconds); the spec's default is 60 when it says nothing. */
  put(key: string, token: string, expiresInSeconds: number | undefined): void {
    const seconds = typeof expiresInSeconds === 'number' && expiresInSeconds > 0 ? expiresInSeconds : 60;
    this.tokens.set(key, { token, expiresAt: this.now() + seconds * 1000 });
  }

  /**
   * Drops the token for this key when it is the one that was refused (`sent`, or any token when
   * `sent` is undefined), so the retry asks the token server instead of sending it again. A
   * token another request renewed meanwhile stays.
   */
  forget(key: string, sent?: string): void {
    const entry = this.tokens.get(key);
    if (entry && (sent === undefined || entry.token === sent)) this.tokens.delete(key);
  }

  clear(): void {
    this.tokens.clear();
  }
}

/**
 * Reading a registry's (or token server's) error body. No Node APIs: the web UI (src/ui/app)
 * bundles this too.
 */
import type { RegistryErrorBody } from './registry-error.js';

/** The first entry of a `{"errors":[...]}` body (token servers also answer `{"details": ...}`), or {}. */
export function firstError(text: string): RegistryErrorBody {
  try {
    const body = JSON.parse(text) as { errors?: RegistryErrorBody[]; details?: unknown; error?: unknown };
    const first = body.errors?.[0];
    if (first && typeof first === 'object') {
      return {
        code: typeof first.code === 'string' ? first.code : undefined,
        message: typeof first.message === 'string' ? first.message : undefined,
        detail: first.detail,
      };
    }
    if (typeof body.details === 'string') return { message: body.details };
    if (typeof body.error === 'string') return { message: body.error };
  } catch {
    // not JSON: a proxy's HTML page or plain text; the status says enough
  }
  return {};
}

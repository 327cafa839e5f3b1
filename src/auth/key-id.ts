import { createHash, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The key id libtrust gives a public key, which Docker token servers put in the JWT `kid`
 * header and Distribution 2.x matched against its root certificates: SHA-256 of the key's DER
 * SubjectPublicKeyInfo, the first 240 bits in base32, as twelve groups of four characters
 * joined by colons (`ABCD:EFGH:...`).
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const encoded = base32(createHash('sha256').update(spki).digest().subarray(0, 30));
  return encoded.match(/.{4}/g)!.join(':');
}

/** The RFC 7638 JWK thumbprint (SHA-256), the key id Distribution 3 uses for bundle certificates. */
export async function jwkThumbprint(publicKey: KeyObject): Promise<string> {
  return await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK, 'sha256');
}

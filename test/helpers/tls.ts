import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM files and as their contents. */
export interface CertFiles {
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PEM private key. */
  key: string;
  certPem: Buffer;
  keyPem: Buffer;
}

export interface TestCa extends CertFiles {
  /** Directory holding every file of this CA and the certificates it signed. */
  dir: string;
  /**
   * A server certificate for 127.0.0.1, ::1 and localhost (SAN), plus any extra DNS names.
   * `name` picks the file names (`<name>.crt`, `<name>.key`).
   */
  serverCert(name?: string, extraDnsNames?: readonly string[]): Promise<CertFiles>;
  /** A client certificate (extendedKeyUsage clientAuth) with the given common name. */
  clientCert(commonName: string): Promise<CertFiles>;
  /** Removes dir. */
  remove(): Promise<void>;
}

/**
 * A throwaway certificate authority made with the openssl CLI (node:crypto cannot make X.509
 * certificates), in a temp dir of its own (or under `parent`). EC P-256 keys, valid for a day.
 */
export async function createTestCa(name = 'Berth Test CA', parent = tmpdir()): Promise<TestCa> {
  const dir = await mkdtemp(join(parent, 'berth-tls-'));
  const ca = await keyPair(dir, 'ca');
  await openssl(['req', '-x509', '-new', '-key', ca.key, '-out', ca.cert, '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);

  let serial = 1;
  const sign = async (file: string, subject: string, extensions: string[]): Promise<CertFiles> => {
    const leaf = await keyPair(dir, file);
    const csr = join(dir, `${file}.csr`);
    const ext = join(dir, `${file}.ext`);
    await writeFile(ext, `${extensions.join('\n')}\n`);
    await openssl(['req', '-new', '-key', leaf.key, '-out', csr, '-subj', subject]);
    await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial++),
      '-out', leaf.cert, '-days', '1', '-extfile', ext]);
    return await loaded(leaf);
  };

  return {
    dir,
    ...(await loaded(ca)),
    serverCert: (file = 'server', extraDnsNames = []) =>
      sign(file, '/CN=localhost', [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${['DNS:localhost', ...extraDnsNames.map((n) => `DNS:${n}`), 'IP:127.0.0.1', 'IP:::1'].join(',')}`,
      ]),
    clientCert: (commonName) =>
      sign(`client-${commonName.replace(/[^\w.-]/g, '_')}`, `/CN=${commonName}`, [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=clientAuth',
      ]),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

async function keyPair(dir: string, file: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${file}.key`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  return { cert: join(dir, `${file}.crt`), key };
}

async function loaded(files: { cert: string; key: string }): Promise<CertFiles> {
  return { ...files, certPem: await readFile(files.cert), keyPem: await readFile(files.key) };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr ?? String(error)}`, { cause: error });
  }
}

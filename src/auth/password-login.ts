import { RegistryError } from '../protocol/errors.js';
import type { HtpasswdUsers } from './htpasswd.js';
import { LoginThrottledError, type LoginThrottle } from './login-throttle.js';

export interface PasswordLogin {
  readonly user: string;
  readonly password: string;
  /** The client's address as the socket sees it (`req.socket.remoteAddress`); forwarded-for headers are not trusted. */
  readonly address: string | undefined;
}

/**
 * Checks a user name and password against the htpasswd users, through the throttle when there is
 * one: the one way Basic auth and the token server check passwords. Answers the user name, or
 * undefined when the name or the password is wrong (the same for both). A login refused by the
 * throttle is a 429 TOOMANYREQUESTS with `Retry-After`, and its password is never looked at.
 */
export async function checkPassword(users: HtpasswdUsers, throttle: LoginThrottle | undefined, login: PasswordLogin): Promise<string | undefined> {
  const verify = () => users.verify(login.user, login.password);
  if (throttle === undefined) return await verify();
  try {
    return await throttle.attempt(login.user, login.address, verify);
  } catch (error) {
    if (!(error instanceof LoginThrottledError)) throw error;
    throw new RegistryError('TOOMANYREQUESTS', {
      message: `too many failed logins: try again in ${error.retryAfterSeconds} s`,
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
      cause: error,
    });
  }
}

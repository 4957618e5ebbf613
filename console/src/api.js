// The console API, on the page's own origin (CloudFront routes /api/* to API Gateway). A 401 means
// the token is gone or no longer accepted: the page goes back to the sign-in.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function createApi(base, auth, onSignedOut) {
  return async function api(path, init = {}) {
    const token = await auth.token();
    if (!token) {
      onSignedOut('Your session has ended: sign in again.');
      throw new ApiError(401, 'not signed in');
    }
    const response = await fetch(`${base}${path}`, {
      ...init,
      cache: 'no-store',
      headers: { Authorization: `Bearer ${token}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
    });
    if (response.status === 401) {
      await auth.forget();
      onSignedOut('The console no longer accepts your sign-in: sign in again.');
      throw new ApiError(401, 'unauthorized');
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body?.error?.message ?? body?.message ?? `HTTP ${response.status}`);
    return body;
  };
}

// Sign-in: the OAuth 2.0 authorization code flow with PKCE (S256) against the stack's Cognito
// hosted sign-in (or, in `npm start`, the local issuer that stands in for it), through
// oidc-client-ts. Tokens live in sessionStorage: closing the tab signs out of this page.
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';

export function createAuth(auth) {
  const redirect = `${window.location.origin}/`;
  const manager = new UserManager({
    authority: auth.issuer,
    client_id: auth.clientId,
    redirect_uri: redirect,
    post_logout_redirect_uri: redirect,
    response_type: 'code',
    scope: auth.scope,
    // The endpoints come from config.json: no discovery request to another origin.
    metadata: {
      issuer: auth.issuer,
      authorization_endpoint: auth.authorizationEndpoint,
      token_endpoint: auth.tokenEndpoint,
    },
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    loadUserInfo: false,
    // A refresh token renews the access token before it expires (no iframe).
    automaticSilentRenew: true,
  });

  return {
    /** The signed-in user, after completing a redirect back from the sign-in if there is one. */
    async start() {
      const params = new URLSearchParams(window.location.search);
      if (params.has('code') && params.has('state')) {
        try {
          const user = await manager.signinRedirectCallback();
          window.history.replaceState(null, '', '/');
          return user;
        } catch (error) {
          window.history.replaceState(null, '', '/');
          return { error: `Sign-in did not complete (${error.message})` };
        }
      }
      if (params.has('error')) {
        window.history.replaceState(null, '', '/');
        return { error: `Sign-in refused: ${params.get('error_description') ?? params.get('error')}` };
      }
      const user = await manager.getUser();
      return user && !user.expired ? user : null;
    },
    signIn: () => manager.signinRedirect(),
    /** The current access token (null once signed out or expired). */
    async token() {
      const user = await manager.getUser();
      return user && !user.expired ? user.access_token : null;
    },
    /** Forgets the tokens here. */
    forget: () => manager.removeUser(),
    /** Forgets the tokens, then ends the hosted session (Cognito's logout takes client_id and logout_uri). */
    async signOut() {
      await manager.removeUser();
      const url = new URL(auth.logoutEndpoint);
      url.searchParams.set('client_id', auth.clientId);
      url.searchParams.set('logout_uri', redirect);
      window.location.assign(url.toString());
    },
  };
}

/** Who a user is, from the ID token's claims. */
export function describeUser(user) {
  const p = user.profile ?? {};
  const groups = [].concat(p['cognito:groups'] ?? []);
  return { name: p['cognito:username'] ?? p.email ?? p.sub ?? 'signed in', groups };
}

/**
 * The console page's config.json: where it signs in, where its API is, which map tiles it draws.
 * `npm run deploy` writes it from the stack's outputs into the console bucket; `npm start` serves
 * it for the local token issuer. One shape, so the same page runs in both.
 */
import { CONSOLE_SIGN_IN_SCOPES } from './local-auth';

export interface ConsolePageConfig {
  environment: string;
  auth: {
    /** `iss` of the tokens (the user pool's URL, or the local issuer's). */
    issuer: string;
    clientId: string;
    authorizationEndpoint: string;
    tokenEndpoint: string;
    /** Cognito's logout endpoint: takes client_id and logout_uri. */
    logoutEndpoint: string;
    scope: string;
  };
  /** The API's base path on the page's own origin (CloudFront routes /api/* to API Gateway). */
  api: string;
  map: { tileUrl: string; attribution: string };
}

/** The outputs the console's upload needs: its bucket, and where its page signs in. */
export const CONSOLE_UPLOAD_OUTPUTS = ['ConsoleBucketName', 'ConsoleUserPoolId', 'ConsoleUserPoolClientId', 'ConsoleAuthDomain'] as const;

/** config.json of a deployed stack, from its outputs. */
export function deployedPageConfig(environment: string, region: string, outputs: Record<string, string>): ConsolePageConfig {
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`The stack has no ${key} output: deploy the template that has the console`);
    return value;
  };
  const authOrigin = need('ConsoleAuthDomain');
  return {
    environment,
    auth: {
      issuer: `https://cognito-idp.${region}.amazonaws.com/${need('ConsoleUserPoolId')}`,
      clientId: need('ConsoleUserPoolClientId'),
      authorizationEndpoint: `${authOrigin}/oauth2/authorize`,
      tokenEndpoint: `${authOrigin}/oauth2/token`,
      logoutEndpoint: `${authOrigin}/logout`,
      scope: CONSOLE_SIGN_IN_SCOPES.join(' '),
    },
    api: '/api',
    map: { tileUrl: outputs.ConsoleMapTileUrl ?? '', attribution: outputs.ConsoleMapAttribution ?? '' },
  };
}

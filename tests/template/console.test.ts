import { describe, expect, it } from 'vitest';
import { ACK_ATTRIBUTES, ALERT_STATE_TABLE, CONSOLE_GROUPS, CONSOLE_ROUTES, CONSOLE_SCOPE } from '../../contract';
import type { PolicyStatement } from '../../template/iam';
import { ACK_WRITABLE_ATTRIBUTES, API_PATH_PATTERN, CONSOLE_ORIGINS, MANAGED_POLICY, REWRITE_FUNCTION_CODE } from '../../template/layers/console';
import { LogicalId } from '../../template/names';
import { failingRules, resolveTemplate } from '../../scripts/lib/cfn-eval';
import { committedTemplate, resourcesOfType } from '../helpers/template';

const template = committedTemplate();
const R = template.Resources;
const props = (id: string) => R[id]!.Properties;
const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const PSEUDO: Record<string, string> = { 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws', EnvironmentSuffix: 'dev' };

/** A string-valued intrinsic rendered with pseudo parameters (Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Ref to a parameter). */
function render(node: unknown, params: Record<string, string>): string | string[] {
  if (typeof node === 'string') return node;
  const o = node as Record<string, any>;
  const values = { ...PSEUDO, ...params };
  if ('Ref' in o) return values[o.Ref] ?? `<${o.Ref}>`;
  if ('Fn::Sub' in o) return (o['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, (_m, n: string) => values[n] ?? `<${n}>`);
  if ('Fn::Join' in o) return (o['Fn::Join'][1] as unknown[]).map((p) => render(p, params)).join(o['Fn::Join'][0]);
  if ('Fn::Split' in o) return (render(o['Fn::Split'][1], params) as string).split(o['Fn::Split'][0]);
  if ('Fn::Select' in o) return (render(o['Fn::Select'][1], params) as string[])[o['Fn::Select'][0]]!;
  throw new Error(`cannot render ${JSON.stringify(node)}`);
}

const distribution = (params: Record<string, string> = {}) => resolveTemplate(template, params).resources[LogicalId.ConsoleDistribution]!.Properties.DistributionConfig;

describe('the console: a private bucket behind CloudFront', () => {
  it('keeps the bucket private: every public access blocked, ACLs off, KMS, versioned, access logged, no website endpoint', () => {
    const bucket = props(LogicalId.ConsoleBucket);
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': ['EncryptionKey', 'Arn'] } });
    expect(bucket.VersioningConfiguration.Status).toBe('Enabled');
    expect(bucket.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: LogicalId.ConsoleLogsBucket });
    expect(bucket.WebsiteConfiguration).toBeUndefined();
  });

  it('lets only this distribution read it, through origin access control, and only over TLS', () => {
    const statements: PolicyStatement[] = props(LogicalId.ConsoleBucketPolicy).PolicyDocument.Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(JSON.stringify(allows[0]!.Condition)).toContain('distribution/${ConsoleDistribution}');
    expect(statements.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
    expect(props(LogicalId.ConsoleOriginAccessControl).OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    const assets = distribution().Origins.find((o: { Id: string }) => o.Id === CONSOLE_ORIGINS.assets);
    expect(assets).toMatchObject({ OriginAccessControlId: { 'Fn::GetAtt': [LogicalId.ConsoleOriginAccessControl, 'Id'] }, S3OriginConfig: { OriginAccessIdentity: '' } });
    // CloudFront decrypts the SSE-KMS objects for the account's distributions only.
    const keyStatement = (props(LogicalId.EncryptionKey).KeyPolicy.Statement as PolicyStatement[]).find((s) => s.Sid === 'CloudFrontReadsConsoleAssets')!;
    expect(keyStatement.Action).toEqual(['kms:Decrypt']);
    expect(keyStatement.Condition).toHaveProperty('StringEquals.aws:SourceAccount');
  });

  it('serves only HTTPS (TLS 1.2 with a custom domain), the page and /api/* from their origins, the SPA rewrite on the page only', () => {
    const d = distribution();
    expect(d.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', CachePolicyId: MANAGED_POLICY.cachingOptimized, AllowedMethods: ['GET', 'HEAD'] });
    expect(d.DefaultCacheBehavior.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [LogicalId.ConsoleRewriteFunction, 'FunctionARN'] } }]);
    const api = d.CacheBehaviors.find((b: { PathPattern: string }) => b.PathPattern === API_PATH_PATTERN);
    expect(api).toMatchObject({ TargetOriginId: CONSOLE_ORIGINS.api, ViewerProtocolPolicy: 'https-only', CachePolicyId: MANAGED_POLICY.cachingDisabled, OriginRequestPolicyId: MANAGED_POLICY.allViewerExceptHostHeader });
    expect(api.FunctionAssociations).toBeUndefined();
    // No distribution-wide error pages: they would turn the API's 404s into the page.
    expect(d.CustomErrorResponses).toBeUndefined();
    expect(d.Origins.find((o: { Id: string }) => o.Id === CONSOLE_ORIGINS.api).CustomOriginConfig).toEqual({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'], HTTPSPort: 443 });
    expect(d.ViewerCertificate).toEqual({ CloudFrontDefaultCertificate: true });
    expect(d.Aliases).toBeUndefined();
    expect(d.Logging).toMatchObject({ Bucket: { 'Fn::GetAtt': [LogicalId.ConsoleLogsBucket, 'DomainName'] } });
    const custom = distribution({ ConsoleDomainName: 'traffic.city.example', ConsoleCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012' });
    expect(custom.Aliases).toEqual(['traffic.city.example']);
    expect(custom.ViewerCertificate).toMatchObject({ SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' });
  });

  it("attaches the city's WAF web ACL only when ConsoleWebAclArn is given", () => {
    const parameter = template.Parameters.ConsoleWebAclArn as { Default: string; AllowedPattern: string };
    expect(parameter.Default).toBe('');
    expect(distribution().WebACLId).toBeUndefined();
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/city-console/a1b2c3d4-5678-90ab-cdef-123456789012';
    expect(new RegExp(parameter.AllowedPattern).test(arn)).toBe(true);
    expect(new RegExp(parameter.AllowedPattern).test(arn.replace('us-east-1', 'eu-west-1'))).toBe(false);
    expect(distribution({ ConsoleWebAclArn: arn }).WebACLId).toBe(arn);
  });

  it('rewrites extension-less paths to index.html and leaves files alone', () => {
    const rewrite = new Function(`${REWRITE_FUNCTION_CODE}; return handler;`)() as (e: { request: { uri: string } }) => { uri: string };
    expect(rewrite({ request: { uri: '/zones/Z03' } }).uri).toBe('/index.html');
    expect(rewrite({ request: { uri: '/' } }).uri).toBe('/index.html');
    expect(rewrite({ request: { uri: '/assets/app-ABC123.js' } }).uri).toBe('/assets/app-ABC123.js');
    expect(props(LogicalId.ConsoleRewriteFunction).FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
  });

  it('has custom domain parameters that are empty by default and go together', () => {
    expect(template.Parameters).toMatchObject({ ConsoleDomainName: { Default: '' }, ConsoleCertificateArn: { Default: '' }, ConsoleMapTileUrl: { Default: '' } });
    expect(failingRules(template, { ConsoleDomainName: 'traffic.city.example' })).toEqual([expect.stringMatching(/ConsoleDomainName and ConsoleCertificateArn/)]);
    expect(failingRules(template, {})).toEqual([]);
  });
});

describe('the console: security headers', () => {
  const policy = () => props(LogicalId.ConsoleResponseHeadersPolicy).ResponseHeadersPolicyConfig.SecurityHeadersConfig;
  const csp = (params: Record<string, string> = {}) =>
    render(resolveTemplate(template, params).resources[LogicalId.ConsoleResponseHeadersPolicy]!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy, params) as string;

  it("sets a CSP without 'unsafe-inline' or 'unsafe-eval', never framed, talking to itself and the sign-in only", () => {
    const value = csp();
    expect(value).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(value).toContain("frame-ancestors 'none'");
    expect(value).toContain("script-src 'self'");
    expect(value).toContain("connect-src 'self' https://tapstack-dev-123456789012.auth.eu-west-1.amazoncognito.com;");
    expect(value).toContain("img-src 'self' data:;");
    // With map tiles, their host (and only it) may serve images.
    expect(csp({ ConsoleMapTileUrl: 'https://tiles.city.example/osm/{z}/{x}/{y}.png' })).toContain("img-src 'self' data: https://tiles.city.example;");
    expect(policy().ContentSecurityPolicy.Override).toBe(true);
  });

  it('sets HSTS for two years with subdomains, no framing, no sniffing, no referrer, on the page and the API', () => {
    const p = policy();
    expect(p.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true });
    expect(p.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(p.ContentTypeOptions).toEqual({ Override: true });
    expect(p.ReferrerPolicy.ReferrerPolicy).toBe('no-referrer');
    const d = distribution();
    for (const behaviour of [d.DefaultCacheBehavior, ...d.CacheBehaviors]) expect(behaviour.ResponseHeadersPolicyId).toEqual({ Ref: LogicalId.ConsoleResponseHeadersPolicy });
  });
});

describe('the console: sign-in', () => {
  it('has no self sign-up, a strong password policy, MFA as a parameter, and the two groups', () => {
    const pool = props(LogicalId.ConsoleUserPool);
    expect(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(pool.Policies.PasswordPolicy).toMatchObject({ MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true });
    expect(pool.MfaConfiguration).toEqual({ Ref: 'ConsoleMfa' });
    expect(template.Parameters).toMatchObject({ ConsoleMfa: { AllowedValues: ['OFF', 'OPTIONAL', 'ON'], Default: 'ON' } });
    expect(resolveTemplate(template, { ConsoleMfa: 'OFF' }).resources[LogicalId.ConsoleUserPool]!.Properties.EnabledMfas).toBeUndefined();
    expect(resolveTemplate(template).resources[LogicalId.ConsoleUserPool]!.Properties.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(resourcesOfType(template, 'AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties.GroupName).sort()).toEqual([...CONSOLE_GROUPS].sort());
    expect(props(LogicalId.ConsoleUserPoolDomain).Domain).toEqual({ 'Fn::Sub': 'tapstack-${EnvironmentSuffix}-${AWS::AccountId}' });
  });

  it('gives the page a public client: the authorization code flow only (PKCE), no secret, the API scope', () => {
    const client = props(LogicalId.ConsoleUserPoolClient);
    expect(client).toMatchObject({ GenerateSecret: false, AllowedOAuthFlows: ['code'], AllowedOAuthFlowsUserPoolClient: true, SupportedIdentityProviders: ['COGNITO'], PreventUserExistenceErrors: 'ENABLED' });
    expect(client.AllowedOAuthScopes).toContain(CONSOLE_SCOPE.full);
    expect(client.ExplicitAuthFlows).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
    expect(JSON.stringify(client.CallbackURLs)).toContain('ConsoleDistribution.DomainName');
  });
});

describe('the console: API', () => {
  it('puts the JWT authorizer (the pool as issuer, the client as audience) and the API scope on every route', () => {
    const authorizer = props(LogicalId.ConsoleApiAuthorizer);
    expect(authorizer).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    expect(authorizer.JwtConfiguration).toEqual({
      Issuer: { 'Fn::Sub': 'https://cognito-idp.${AWS::Region}.amazonaws.com/${ConsoleUserPool}' },
      Audience: [{ Ref: LogicalId.ConsoleUserPoolClient }],
    });
    const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(Object.values(CONSOLE_ROUTES).sort());
    for (const [id, r] of routes) {
      expect(r.Properties, id).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: LogicalId.ConsoleApiAuthorizer }, AuthorizationScopes: [CONSOLE_SCOPE.full] });
    }
  });

  it('throttles the stage and logs every request to an encrypted log group', () => {
    const stage = props(LogicalId.ConsoleApiStage);
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: { Ref: 'ConsoleApiRequestsPerSecond' }, ThrottlingBurstLimit: expect.any(Number) });
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [LogicalId.ConsoleApiAccessLogGroup, 'Arn'] });
    expect(JSON.parse(stage.AccessLogSettings.Format)).toMatchObject({ status: '$context.status', route: '$context.routeKey', user: '$context.authorizer.claims.username' });
    expect(props(LogicalId.ConsoleApiAccessLogGroup).KmsKeyId).toEqual({ 'Fn::GetAtt': ['EncryptionKey', 'Arn'] });
    expect(props(LogicalId.ConsoleApiFunction)).toMatchObject({ Handler: 'index.consoleApi', Runtime: 'nodejs24.x', Architectures: ['arm64'], ReservedConcurrentExecutions: 20 });
  });

  it("gives the API role one write: the acknowledgement's attributes of the alert state", () => {
    const statements: PolicyStatement[] = props(LogicalId.ConsoleApiRole).Policies.flatMap((p: { PolicyDocument: { Statement: PolicyStatement[] } }) => p.PolicyDocument.Statement);
    const READ = /^(dynamodb:(BatchGetItem|GetItem|Query|Scan)|iot:ListThings|cloudwatch:GetMetricData|kms:Decrypt|kms:GenerateDataKey|logs:(CreateLogStream|PutLogEvents))$/;
    const writes = statements.filter((s) => asList(s.Action).some((a) => String(a).startsWith('dynamodb:') && !READ.test(String(a))));
    expect(writes).toEqual([
      {
        Sid: 'AcknowledgeAlerts',
        Effect: 'Allow',
        Action: ['dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [LogicalId.AlertStateTable, 'Arn'] },
        Condition: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [ALERT_STATE_TABLE.partitionKey, ...Object.values(ACK_ATTRIBUTES)] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_NEW'] },
        },
      },
    ]);
    expect(ACK_WRITABLE_ATTRIBUTES).not.toContain('version');
    expect(statements.flatMap((s) => asList(s.Action)).filter((a) => !READ.test(String(a)) && a !== 'dynamodb:UpdateItem')).toEqual([]);
    // Its reads never scan the readings table: the city is the sensor-status table.
    const onReadings = statements.filter((s) => JSON.stringify(s.Resource).includes(LogicalId.ReadingsTable));
    expect(onReadings.flatMap((s) => asList(s.Action))).toEqual(['dynamodb:Query']);
  });
});

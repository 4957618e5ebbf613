/**
 * The traffic controllers' console: a static web app in a private S3 bucket behind CloudFront
 * (origin access control, TLS only, security headers, single-page-app routing), sign-in with a
 * Cognito user pool (no self sign-up, strong passwords, MFA, authorization code + PKCE), and a
 * read API (HTTP API with a JWT authorizer on every route, a Lambda entry point of the processor
 * bundle) that reads what the pipeline writes: the sensor-status items the processor keeps (each
 * sensor's latest reading), the alert state, a sensor's rollups; its one write is an
 * acknowledgement on the alert state. CloudFront serves the page and, under /api/*, the API, so
 * the page talks to its own origin only.
 *
 * Sources (AWS CloudFormation template reference unless noted):
 *  - CloudFront: AWS::CloudFront::Distribution (Origins with S3OriginConfig + OriginAccessControlId,
 *    CustomOriginConfig; DefaultCacheBehavior/CacheBehaviors with CachePolicyId,
 *    OriginRequestPolicyId, ResponseHeadersPolicyId, FunctionAssociations; ViewerCertificate;
 *    Logging; WebACLId takes a WAFv2 web ACL's ARN, arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>:
 *    https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/cloudfront/aws.sdk.kotlin.services.cloudfront.model/-distribution-config/-builder/web-acl-id.html),
 *    AWS::CloudFront::OriginAccessControl, AWS::CloudFront::ResponseHeadersPolicy
 *    (SecurityHeadersConfig), AWS::CloudFront::Function (cloudfront-js-2.0).
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-distribution.html
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cloudfront-originaccesscontrol-originaccesscontrolconfig.html
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cloudfront-responseheaderspolicy-securityheadersconfig.html
 *  - OAC: the bucket policy allows cloudfront.amazonaws.com with AWS:SourceArn = the distribution;
 *    an SSE-KMS bucket also needs kms:Decrypt for CloudFront in the key policy (template/layers/security.ts)
 *    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
 *  - Managed policies (ids): CachingOptimized 658327ea-f89d-4fab-a63d-7e88639e58f6, CachingDisabled
 *    4135ea2d-6df8-44a3-9df3-4b5a84be39ad, AllViewerExceptHostHeader b689b0a8-53d0-40ab-baf2-68738e2966ac
 *    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
 *    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
 *    With caching off, AllViewerExceptHostHeader forwards the Authorization header to the API
 *    (https://repost.aws/knowledge-center/cloudfront-authorization-header) and sends the API's own
 *    Host, which API Gateway requires.
 *  - Standard logs (legacy) need a bucket with ACLs enabled (ObjectOwnership BucketOwnerPreferred);
 *    S3 server access logs go to a bucket with SSE-S3 (not SSE-KMS):
 *    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/AccessLogs.html
 *    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
 *  - Cognito: AWS::Cognito::UserPool (AdminCreateUserConfig.AllowAdminCreateUserOnly,
 *    Policies.PasswordPolicy, MfaConfiguration OFF|ON|OPTIONAL, EnabledMfas, UserPoolTier),
 *    AWS::Cognito::UserPoolClient (AllowedOAuthFlows code, no secret: a public client with PKCE),
 *    AWS::Cognito::UserPoolDomain, AWS::Cognito::UserPoolGroup, AWS::Cognito::UserPoolResourceServer.
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpool.html
 *    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-sign-in-feature-plans.html
 *  - HTTP API: AWS::ApiGatewayV2::Authorizer (JWT: Issuer https://cognito-idp.<region>.amazonaws.com/<pool>,
 *    Audience = the app client; API Gateway checks kid, iss, aud or client_id, exp, nbf, iat and the
 *    route's scopes), Route (AuthorizationType JWT, AuthorizationScopes), Integration (AWS_PROXY,
 *    payload 2.0), Stage (AccessLogSettings, DefaultRouteSettings throttling).
 *    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigatewayv2-authorizer-jwtconfiguration.html
 *  - The acknowledgement's only write: UpdateItem limited to its attributes with
 *    ForAllValues:StringEquals dynamodb:Attributes, and no ReturnValues that would read others:
 *    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 *    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_dynamodb_attributes.html
 *  - IoT ListThings (the sensors' positions) has no resource type: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html
 *    CloudWatch GetMetricData (a zone's trend) neither: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
 */
import { ApiGatewayV2, CloudFront, Cognito, Lambda, Refs, S3 } from 'cloudform-types';
import {
  ACK_ATTRIBUTES,
  ALERT_STATE_TABLE,
  CONSOLE_GROUPS,
  CONSOLE_HSTS_MAX_AGE_SECONDS,
  CONSOLE_RESOURCES,
  CONSOLE_ROUTES,
  CONSOLE_SCOPE,
  CONSOLE_SETTINGS,
  consoleContentSecurityPolicy,
  SENSOR_STATUS_TABLE,
  type ConsoleRoute,
} from '../../contract';
import type { StackConfig } from '../config';
import { logGroup, PRIVATE_VERSIONED_BUCKET, onDemandTable, retainUnlessThrowaway, tags } from '../defaults';
import { bundledFunction, functionEnvironment, functionErrorsAlarm, functionStatements, lambdaRole } from '../functions';
import { allow, denyInsecureTransport, policyDocument, type PolicyStatement } from '../iam';
import { accountId, arnOf, getAtt, ifCondition, ref, sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { LogicalId, physicalName, type LogicalIdName } from '../names';
import { Cond, Param, param } from '../parameters';
import { SENSOR_THING_TYPE_BASE } from './provisioning';

type ConsoleConfig = Pick<StackConfig, 'project' | 'metricsNamespacePrefix'>;

/** CloudFront's managed policies, by id (see the sources above). */
export const MANAGED_POLICY = {
  cachingOptimized: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  cachingDisabled: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
  allViewerExceptHostHeader: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
} as const;

/** Where CloudFront sends /api/* (the HTTP API) and everything else (the bucket). */
export const CONSOLE_ORIGINS = { assets: 'console-assets', api: 'console-api' } as const;
export const API_PATH_PATTERN = '/api/*';

/** The route of each CONSOLE_ROUTES entry. */
export const ROUTE_IDS: Record<ConsoleRoute, LogicalIdName> = {
  city: LogicalId.ConsoleApiRouteCity,
  zone: LogicalId.ConsoleApiRouteZone,
  alerts: LogicalId.ConsoleApiRouteAlerts,
  sensorRollups: LogicalId.ConsoleApiRouteSensorRollups,
  sensors: LogicalId.ConsoleApiRouteSensors,
  acknowledge: LogicalId.ConsoleApiRouteAcknowledge,
};

/**
 * A path without a file extension is a route of the single-page app: the viewer gets index.html.
 * On the bucket's behaviour only, so that the API's own 404s stay 404s (a distribution-wide error
 * response would turn them into the page).
 */
export const REWRITE_FUNCTION_CODE = [
  'function handler(event) {',
  '  var request = event.request;',
  '  if (!/\\.[A-Za-z0-9]+$/.test(request.uri)) request.uri = "/index.html";',
  '  return request;',
  '}',
].join('\n');

/** The Cognito domain prefix: unique per account and environment (Cognito prefixes are global per Region). */
export const AUTH_DOMAIN_PREFIX = 'tapstack-${EnvironmentSuffix}-${AWS::AccountId}';
/** The hosted sign-in's origin, an Fn::Sub pattern. */
export const AUTH_ORIGIN = `https://${AUTH_DOMAIN_PREFIX}.auth.\${AWS::Region}.amazoncognito.com`;

/** The console's address: the custom domain, or the distribution's own. */
export const consoleUrl = () =>
  ifCondition(Cond.HasConsoleDomain, sub('https://${ConsoleDomainName}/'), sub(`https://\${${LogicalId.ConsoleDistribution}.DomainName}/`));

/** Burst the stage accepts above the steady rate: every controller's page reloading at once (50 × 6 requests). */
export const API_BURST_LIMIT = 500;
/**
 * The API function: one vCPU (Lambda allocates CPU in proportion to memory, a full vCPU at 1,769 MB:
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so that a refresh of a
 * 50,000-sensor city (tens of ms of decoding) holds up few requests.
 */
export const CONSOLE_API_MEMORY_MB = 1769;
export const CONSOLE_API_TIMEOUT_SECONDS = 10;
/**
 * At most this many containers. One answers hundreds of requests a second from its snapshot (a few
 * ms each), and each container reads the whole status table once a second: the cap bounds both the
 * read cost and what a flood of requests past the stage's throttle could spend, and keeps the
 * account's unreserved concurrency for the rest.
 */
export const CONSOLE_API_RESERVED_CONCURRENCY = 20;
/** Sign-in sessions: an access token lasts an hour; the refresh token a shift. */
export const TOKEN_VALIDITY = { accessMinutes: 60, idMinutes: 60, refreshHours: 12 } as const;

/** The access-log line of each API request (HTTP API $context variables). */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  route: '$context.routeKey',
  status: '$context.status',
  user: '$context.authorizer.claims.username',
  authorizerError: '$context.authorizer.error',
  integrationError: '$context.integrationErrorMessage',
  latencyMs: '$context.responseLatency',
  bytes: '$context.responseLength',
});

/** The API function's environment: its resources by binding, its settings from the parameters. */
export const consoleApiEnvironment = (config: Pick<StackConfig, 'metricsNamespacePrefix'>): Record<string, unknown> =>
  functionEnvironment(config, CONSOLE_RESOURCES, CONSOLE_SETTINGS, {
    // The type's name rather than its Ref: moto's CreateStack hands a Lambda a Ref to an
    // AWS::IoT::ThingType as an object it cannot serialize (GetFunctionConfiguration fails).
    sensorThingType: physicalName(SENSOR_THING_TYPE_BASE),
  });

/** The attributes the API may write: the acknowledgement, on an existing item (its key). */
export const ACK_WRITABLE_ATTRIBUTES = [ALERT_STATE_TABLE.partitionKey, ...Object.values(ACK_ATTRIBUTES)];

/**
 * The API role: each read grant of each binding; the acknowledgement, the only write, limited to
 * its own attributes; positions and trends (no resource types); the key; its logs.
 */
const consoleApiStatements = (): PolicyStatement[] =>
  functionStatements(CONSOLE_RESOURCES, LogicalId.ConsoleApiLogGroup, {
    then: [
      allow('AcknowledgeAlerts', ['dynamodb:UpdateItem'], arnOf(LogicalId.AlertStateTable), {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ACK_WRITABLE_ATTRIBUTES },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_NEW'] },
      }),
    ],
  });

/** Policy of the read actions that have no resource type, so IAM accepts only `*` (the security test's listed exception). */
export const UNSCOPED_CONSOLE_POLICY = 'console-reads-without-resource-types';

const consoleTags = (config: ConsoleConfig) => Object.fromEntries(tags(config).map((t) => [t.Key, t.Value]));

/** The buckets: the app (private, KMS, versioned) and the access logs (ACLs for CloudFront's standard logs, SSE-S3). */
function buckets(config: ConsoleConfig) {
  const logsArn = arnOf(LogicalId.ConsoleLogsBucket);
  const logs = retainUnlessThrowaway(
    new S3.Bucket({
      BucketName: sub('tapstack-${EnvironmentSuffix}-console-logs-${AWS::AccountId}-${AWS::Region}'),
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      ...PRIVATE_VERSIONED_BUCKET,
      // CloudFront's standard logs are written with an ACL, so this bucket keeps ACLs on (its owner still prefers ownership).
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      LifecycleConfiguration: {
        Rules: [
          { Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: param(Param.LogRetentionDays), NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
        ],
      },
      Tags: tags(config),
    }),
  );
  const logsPolicy = new S3.BucketPolicy({
    Bucket: ref(LogicalId.ConsoleLogsBucket),
    PolicyDocument: policyDocument(denyInsecureTransport('s3:*', [logsArn, sub(`\${${LogicalId.ConsoleLogsBucket}.Arn}/*`)]), {
      Sid: 'S3ServerAccessLogs',
      Effect: 'Allow',
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: sub(`\${${LogicalId.ConsoleLogsBucket}.Arn}/s3/*`),
      Condition: { ArnLike: { 'aws:SourceArn': arnOf(LogicalId.ConsoleBucket) }, StringEquals: { 'aws:SourceAccount': accountId } },
    }),
  });

  const siteArn = arnOf(LogicalId.ConsoleBucket);
  const site = retainUnlessThrowaway(
    new S3.Bucket({
      BucketName: sub('tapstack-${EnvironmentSuffix}-console-${AWS::AccountId}-${AWS::Region}'),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(LogicalId.EncryptionKey) }, BucketKeyEnabled: true },
        ],
      },
      ...PRIVATE_VERSIONED_BUCKET,
      // Each deploy uploads new content-hashed assets; old versions and assets go after a month.
      LifecycleConfiguration: { Rules: [{ Id: 'expire-old-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] },
      LoggingConfiguration: { DestinationBucketName: ref(LogicalId.ConsoleLogsBucket), LogFilePrefix: 's3/' },
      Tags: tags(config),
    }),
  );
  const sitePolicy = new S3.BucketPolicy({
    Bucket: ref(LogicalId.ConsoleBucket),
    PolicyDocument: policyDocument(denyInsecureTransport('s3:*', [siteArn, sub(`\${${LogicalId.ConsoleBucket}.Arn}/*`)]), {
      Sid: 'CloudFrontReadsThroughOriginAccessControl',
      Effect: 'Allow',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      Resource: sub(`\${${LogicalId.ConsoleBucket}.Arn}/*`),
      Condition: {
        StringEquals: { 'AWS:SourceArn': sub(`arn:\${AWS::Partition}:cloudfront::\${AWS::AccountId}:distribution/\${${LogicalId.ConsoleDistribution}}`) },
      },
    }),
  });
  return { site, sitePolicy, logs, logsPolicy };
}

/**
 * The page's Content-Security-Policy (contract/console.ts) with the hosted sign-in's origin in
 * connect-src and, when ConsoleMapTileUrl is set, the tiles' origin in img-src: the URL template's
 * third '/'-separated part (the parameter's pattern allows one https host).
 */
export function contentSecurityPolicyValue(): unknown {
  const AUTH = '@@AUTH@@';
  const TILE = '@@TILE@@';
  const text = consoleContentSecurityPolicy({ connect: [AUTH], img: [TILE] });
  const [beforeTile, afterTile] = text.split(` ${TILE}`) as [string, string];
  const tileOrigin = ifCondition(Cond.HasConsoleMapTiles, {
    'Fn::Join': ['', [' https://', { 'Fn::Select': [2, { 'Fn::Split': ['/', sub(`\${${Param.ConsoleMapTileUrl}}///`)] }] }]],
  }, '');
  const withAuth = (part: string) => part.split(AUTH).flatMap((piece, i) => (i === 0 ? [piece] : [sub(AUTH_ORIGIN), piece]));
  return { 'Fn::Join': ['', [...withAuth(beforeTile), tileOrigin, ...withAuth(afterTile)].filter((p) => p !== '')] };
}

/** The security headers of every response: CSP without 'unsafe-inline', HSTS, no framing, no sniffing, no referrer. */
function responseHeadersPolicy() {
  return new CloudFront.ResponseHeadersPolicy({
    ResponseHeadersPolicyConfig: {
      Name: physicalName('console-headers'),
      Comment: 'Security headers of the traffic controllers console',
      SecurityHeadersConfig: {
        ContentSecurityPolicy: { ContentSecurityPolicy: contentSecurityPolicyValue() as never, Override: true },
        StrictTransportSecurity: { AccessControlMaxAgeSec: CONSOLE_HSTS_MAX_AGE_SECONDS, IncludeSubdomains: true, Preload: false, Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
        ContentTypeOptions: { Override: true },
        ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      },
    },
  });
}

function distribution(config: ConsoleConfig) {
  return new CloudFront.Distribution({
    DistributionConfig: {
      Enabled: true,
      Comment: sub("TapStack ${EnvironmentSuffix}: the traffic controllers' console"),
      Aliases: ifCondition(Cond.HasConsoleDomain, [param(Param.ConsoleDomainName)]) as never,
      ViewerCertificate: ifCondition(
        Cond.HasConsoleCertificate,
        { AcmCertificateArn: param(Param.ConsoleCertificateArn), SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' },
        { CloudFrontDefaultCertificate: true },
      ) as never,
      // The city's AWS WAF web ACL when it has one (a CloudFront web ACL lives in us-east-1, so the stack takes its ARN).
      WebACLId: ifCondition(Cond.HasConsoleWebAcl, param(Param.ConsoleWebAclArn)),
      DefaultRootObject: 'index.html',
      HttpVersion: 'http2and3',
      IPV6Enabled: true,
      PriceClass: 'PriceClass_All',
      Origins: [
        {
          Id: CONSOLE_ORIGINS.assets,
          DomainName: getAtt(LogicalId.ConsoleBucket, 'RegionalDomainName'),
          S3OriginConfig: { OriginAccessIdentity: '' },
          OriginAccessControlId: getAtt(LogicalId.ConsoleOriginAccessControl, 'Id'),
        },
        {
          Id: CONSOLE_ORIGINS.api,
          DomainName: sub(`\${${LogicalId.ConsoleApi}}.execute-api.\${AWS::Region}.amazonaws.com`),
          CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'], HTTPSPort: 443 },
        },
      ],
      DefaultCacheBehavior: {
        TargetOriginId: CONSOLE_ORIGINS.assets,
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        CachePolicyId: MANAGED_POLICY.cachingOptimized,
        ResponseHeadersPolicyId: ref(LogicalId.ConsoleResponseHeadersPolicy),
        Compress: true,
        FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: getAtt(LogicalId.ConsoleRewriteFunction, 'FunctionARN') }],
      },
      CacheBehaviors: [
        {
          PathPattern: API_PATH_PATTERN,
          TargetOriginId: CONSOLE_ORIGINS.api,
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
          CachePolicyId: MANAGED_POLICY.cachingDisabled,
          OriginRequestPolicyId: MANAGED_POLICY.allViewerExceptHostHeader,
          ResponseHeadersPolicyId: ref(LogicalId.ConsoleResponseHeadersPolicy),
          Compress: true,
        },
      ],
      Logging: { Bucket: getAtt(LogicalId.ConsoleLogsBucket, 'DomainName'), Prefix: 'cloudfront/', IncludeCookies: false },
    },
    Tags: tags(config),
  });
}

function cognito(config: ConsoleConfig) {
  const pool = retainUnlessThrowaway(
    new Cognito.UserPool({
      UserPoolName: physicalName('console-users'),
      // The Lite plan has what the console uses (hosted sign-in, TOTP MFA, groups, resource-server scopes).
      UserPoolTier: 'LITE',
      // Controllers sign in with a user name (what an acknowledgement records) and get their
      // invitation and password resets at their email address.
      UsernameConfiguration: { CaseSensitive: false },
      Schema: [{ Name: 'email', AttributeDataType: 'String', Required: true, Mutable: true }],
      AutoVerifiedAttributes: ['email'],
      AdminCreateUserConfig: {
        AllowAdminCreateUserOnly: true,
        InviteMessageTemplate: {
          EmailSubject: "Your TapStack traffic controllers' console account",
          EmailMessage: {
            'Fn::Join': [
              '',
              ['Your console user name is {username} and your temporary password is {####}. Sign in at ', consoleUrl(), ' and choose a new password.'],
            ],
          } as never,
        },
      },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 3,
        },
      },
      MfaConfiguration: param(Param.ConsoleMfa),
      EnabledMfas: ifCondition(Cond.IsConsoleMfaOff, Refs.NoValue, ['SOFTWARE_TOKEN_MFA']) as never,
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
      UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
      DeletionProtection: ifCondition(Cond.IsThrowaway, 'INACTIVE', 'ACTIVE'),
      UserPoolTags: consoleTags(config),
    }),
  );
  const domain = new Cognito.UserPoolDomain({ Domain: sub(AUTH_DOMAIN_PREFIX), UserPoolId: ref(LogicalId.ConsoleUserPool), ManagedLoginVersion: 1 });
  const resourceServer = new Cognito.UserPoolResourceServer({
    UserPoolId: ref(LogicalId.ConsoleUserPool),
    Identifier: CONSOLE_SCOPE.resourceServer,
    Name: 'TapStack console API',
    Scopes: [{ ScopeName: CONSOLE_SCOPE.name, ScopeDescription: "Use the traffic controllers' console API" }],
  });
  const callback = ifCondition(Cond.HasConsoleDomain, [sub('https://${ConsoleDomainName}/')], [sub(`https://\${${LogicalId.ConsoleDistribution}.DomainName}/`)]);
  const client = new Cognito.UserPoolClient({
    ClientName: physicalName('console'),
    UserPoolId: ref(LogicalId.ConsoleUserPool),
    // A browser app: no secret; the authorization code flow with PKCE (S256).
    GenerateSecret: false,
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthFlows: ['code'],
    AllowedOAuthScopes: ['openid', 'email', 'profile', CONSOLE_SCOPE.full],
    CallbackURLs: callback as never,
    LogoutURLs: callback as never,
    SupportedIdentityProviders: ['COGNITO'],
    ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
    PreventUserExistenceErrors: 'ENABLED',
    EnableTokenRevocation: true,
    AccessTokenValidity: TOKEN_VALIDITY.accessMinutes,
    IdTokenValidity: TOKEN_VALIDITY.idMinutes,
    RefreshTokenValidity: TOKEN_VALIDITY.refreshHours,
    TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'hours' },
  }).dependsOn(LogicalId.ConsoleResourceServer);
  const groups = Object.fromEntries(
    CONSOLE_GROUPS.map((name, i) => [
      name,
      new Cognito.UserPoolGroup({
        GroupName: name,
        UserPoolId: ref(LogicalId.ConsoleUserPool),
        Description: name === 'supervisors' ? 'Supervisors: see the console and acknowledge alerts' : 'Traffic controllers: see the console and acknowledge alerts',
        Precedence: CONSOLE_GROUPS.length - i,
      }),
    ]),
  ) as Record<(typeof CONSOLE_GROUPS)[number], Cognito.UserPoolGroup>;
  return { pool, domain, resourceServer, client, groups };
}

function api(config: ConsoleConfig) {
  const apiResource = new ApiGatewayV2.Api({
    Name: physicalName('console-api'),
    ProtocolType: 'HTTP',
    Description: "Read API of the traffic controllers' console (behind CloudFront at /api/*)",
    Tags: consoleTags(config),
  });
  const authorizer = new ApiGatewayV2.Authorizer({
    ApiId: ref(LogicalId.ConsoleApi),
    Name: 'console-users',
    AuthorizerType: 'JWT',
    IdentitySource: ['$request.header.Authorization'],
    JwtConfiguration: {
      Issuer: sub(`https://cognito-idp.\${AWS::Region}.amazonaws.com/\${${LogicalId.ConsoleUserPool}}`),
      Audience: [ref(LogicalId.ConsoleUserPoolClient)],
    },
  });
  const integration = new ApiGatewayV2.Integration({
    ApiId: ref(LogicalId.ConsoleApi),
    IntegrationType: 'AWS_PROXY',
    IntegrationUri: arnOf(LogicalId.ConsoleApiFunction),
    PayloadFormatVersion: '2.0',
    TimeoutInMillis: CONSOLE_API_TIMEOUT_SECONDS * 1000,
  });
  const routes = Object.fromEntries(
    (Object.entries(CONSOLE_ROUTES) as [ConsoleRoute, string][]).map(([name, key]) => [
      ROUTE_IDS[name],
      new ApiGatewayV2.Route({
        ApiId: ref(LogicalId.ConsoleApi),
        RouteKey: key,
        AuthorizationType: 'JWT',
        AuthorizerId: ref(LogicalId.ConsoleApiAuthorizer),
        AuthorizationScopes: [CONSOLE_SCOPE.full],
        Target: sub(`integrations/\${${LogicalId.ConsoleApiIntegration}}`),
      }),
    ]),
  );
  const accessLogs = logGroup(config, '/tapstack/${EnvironmentSuffix}/console-api-access');
  const stage = new ApiGatewayV2.Stage({
    ApiId: ref(LogicalId.ConsoleApi),
    StageName: '$default',
    AutoDeploy: true,
    DefaultRouteSettings: { ThrottlingRateLimit: param(Param.ConsoleApiRequestsPerSecond), ThrottlingBurstLimit: API_BURST_LIMIT },
    AccessLogSettings: { DestinationArn: arnOf(LogicalId.ConsoleApiAccessLogGroup), Format: ACCESS_LOG_FORMAT },
    Tags: consoleTags(config),
  });
  const permission = new Lambda.Permission({
    Action: 'lambda:InvokeFunction',
    FunctionName: ref(LogicalId.ConsoleApiFunction),
    Principal: 'apigateway.amazonaws.com',
    SourceArn: sub(`arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${LogicalId.ConsoleApi}}/*`),
  });
  return { apiResource, authorizer, integration, routes, accessLogs, stage, permission };
}

function apiFunction(config: ConsoleConfig) {
  const role = lambdaRole(config, 'Console API: read sensor status, alert state and rollups; write alert acknowledgements only', [
    { PolicyName: 'console-api', PolicyDocument: policyDocument(...consoleApiStatements()) },
    {
      PolicyName: UNSCOPED_CONSOLE_POLICY,
      PolicyDocument: policyDocument(
        // The sensors' positions: things of the sensor type with their attributes.
        allow('ReadSensorPositions', ['iot:ListThings'], '*'),
        // A zone's trend: the processor's per-zone metrics, in the stack's namespace only.
        allow('ReadZoneTrends', ['cloudwatch:GetMetricData'], '*'),
      ),
    },
  ]);
  const logs = logGroup(config, '/aws/lambda/tapstack-${EnvironmentSuffix}-console-api');
  const fn = bundledFunction(config, {
    name: 'console-api',
    description: "The traffic controllers' console API (index.consoleApi of the processor bundle)",
    handler: 'index.consoleApi',
    role: LogicalId.ConsoleApiRole,
    logGroup: LogicalId.ConsoleApiLogGroup,
    memorySize: CONSOLE_API_MEMORY_MB,
    timeout: CONSOLE_API_TIMEOUT_SECONDS,
    reservedConcurrency: CONSOLE_API_RESERVED_CONCURRENCY,
    environment: consoleApiEnvironment(config),
  });
  return { role, logs, fn };
}

export function buildConsole(config: ConsoleConfig): Layer {
  // Written by every processor batch, read by the console: on demand, no capacity to plan.
  const statusTable = onDemandTable(config, 'sensor-status', SENSOR_STATUS_TABLE.partitionKey);
  const { site, sitePolicy, logs, logsPolicy } = buckets(config);
  const oac = new CloudFront.OriginAccessControl({
    OriginAccessControlConfig: {
      Name: physicalName('console'),
      Description: 'CloudFront signs every request to the console bucket',
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    },
  });
  const rewrite = new CloudFront.Function({
    Name: physicalName('console-rewrite'),
    AutoPublish: true,
    FunctionCode: REWRITE_FUNCTION_CODE,
    FunctionConfig: { Comment: 'Single-page app: extension-less paths get index.html', Runtime: 'cloudfront-js-2.0' },
  });
  const signIn = cognito(config);
  const http = api(config);
  const fn = apiFunction(config);

  const apiDims = { ApiId: ref(LogicalId.ConsoleApi), Stage: '$default' };
  return {
    resources: {
      SensorStatusTable: statusTable,
      ConsoleLogsBucket: logs,
      ConsoleLogsBucketPolicy: logsPolicy,
      ConsoleBucket: site,
      ConsoleBucketPolicy: sitePolicy,
      ConsoleOriginAccessControl: oac,
      ConsoleRewriteFunction: rewrite,
      ConsoleResponseHeadersPolicy: responseHeadersPolicy(),
      ConsoleDistribution: distribution(config),
      ConsoleUserPool: signIn.pool,
      ConsoleUserPoolDomain: signIn.domain,
      ConsoleResourceServer: signIn.resourceServer,
      ConsoleUserPoolClient: signIn.client,
      ConsoleControllersGroup: signIn.groups.controllers,
      ConsoleSupervisorsGroup: signIn.groups.supervisors,
      ConsoleApi: http.apiResource,
      ConsoleApiAuthorizer: http.authorizer,
      ConsoleApiIntegration: http.integration,
      ...http.routes,
      ConsoleApiAccessLogGroup: http.accessLogs,
      ConsoleApiStage: http.stage,
      ConsoleApiInvokePermission: http.permission,
      ConsoleApiLogGroup: fn.logs,
      ConsoleApiRole: fn.role,
      ConsoleApiFunction: fn.fn,
    },
    outputs: {
      ConsoleUrl: exported("The traffic controllers' console", consoleUrl(), 'ConsoleUrl'),
      ConsoleDistributionDomainName: exported(
        'CloudFront address of the console (point ConsoleDomainName here)',
        // Sub rather than GetAtt: moto's CreateStack validates an output's GetAtt against the types it models.
        sub(`\${${LogicalId.ConsoleDistribution}.DomainName}`),
        'ConsoleDistributionDomainName',
      ),
      ConsoleDistributionId: exported('CloudFront distribution of the console (npm run deploy invalidates index.html)', ref(LogicalId.ConsoleDistribution), 'ConsoleDistributionId'),
      ConsoleBucketName: exported('Private bucket of the console app (npm run deploy uploads it)', ref(LogicalId.ConsoleBucket), 'ConsoleBucketName'),
      ConsoleUserPoolId: exported('Cognito user pool of the console (npm run users)', ref(LogicalId.ConsoleUserPool), 'ConsoleUserPoolId'),
      ConsoleUserPoolClientId: exported('App client of the console page', ref(LogicalId.ConsoleUserPoolClient), 'ConsoleUserPoolClientId'),
      ConsoleAuthDomain: exported('Hosted sign-in of the console', sub(AUTH_ORIGIN), 'ConsoleAuthDomain'),
      ConsoleApiEndpoint: exported('The console API (also at <ConsoleUrl>api/ through CloudFront)', sub(`https://\${${LogicalId.ConsoleApi}}.execute-api.\${AWS::Region}.amazonaws.com`), 'ConsoleApiEndpoint'),
      ConsoleMapTileUrl: exported('Map tiles of the console (npm run deploy writes them into its config.json)', param(Param.ConsoleMapTileUrl), 'ConsoleMapTileUrl'),
      ConsoleMapAttribution: exported('Attribution of the map tiles', param(Param.ConsoleMapAttribution), 'ConsoleMapAttribution'),
      SensorStatusTableName: exported("Each sensor's latest reading, for the console", ref(LogicalId.SensorStatusTable), 'SensorStatusTableName'),
    },
    alarms: [
      functionErrorsAlarm({
        id: LogicalId.ConsoleApiErrorsAlarm,
        name: 'console-api-errors',
        description: "The console API function failed requests: controllers' pages show an error instead of the city",
        runbook:
          'Read the function log group `/aws/lambda/tapstack-<env>-console-api` (JSON; every error has its request id). ' +
          'A DynamoDB or IoT throttle retries by itself; a configuration error names the variable.',
        fn: LogicalId.ConsoleApiFunction,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      }),
      {
        id: LogicalId.ConsoleApiServerErrorsAlarm,
        name: 'console-api-5xx',
        description: 'The console API answered 5xx (function errors, timeouts or throttling of the integration)',
        runbook:
          'The API access log group `/tapstack/<env>/console-api-access` has a line per request with its status and ' +
          '`integrationError`; then see `console-api-errors`. 429s are throttling: raise `ConsoleApiRequestsPerSecond`.',
        namespace: 'AWS/ApiGateway',
        metric: '5xx',
        dimensions: apiDims,
        threshold: 5,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
    ],
  };
}

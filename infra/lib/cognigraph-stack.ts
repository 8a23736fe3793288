// cognigraph on AWS: the user pool, its three triggers, the service on Lambda behind an HTTP
// API, and Aurora PostgreSQL (Serverless v2), with the least IAM each part needs.

import * as path from "node:path";

import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  aws_apigatewayv2 as apigw,
  aws_apigatewayv2_integrations as integrations,
  aws_cognito as cognito,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_rds as rds,
} from "aws-cdk-lib";
import type { Construct } from "constructs";

/** The groups granting cognigraph's roles (the service's `ROLE_GROUP_*` defaults). */
export const ROLE_GROUPS = ["admin", "editor", "viewer"] as const;

/** What the service's role may do on the pool: user management (README, "Managing members"). */
export const SERVICE_POOL_ACTIONS = [
  "cognito-idp:AdminGetUser",
  "cognito-idp:AdminCreateUser",
  "cognito-idp:AdminDeleteUser",
  "cognito-idp:AdminAddUserToGroup",
  "cognito-idp:AdminRemoveUserFromGroup",
  "cognito-idp:AdminDisableUser",
  "cognito-idp:AdminEnableUser",
  "cognito-idp:AdminUserGlobalSignOut",
];

/** What the post-confirmation trigger may do on the pool (crates/triggers/README.md). */
export const POST_CONFIRMATION_POOL_ACTIONS = [
  "cognito-idp:AdminUpdateUserAttributes",
  "cognito-idp:AdminAddUserToGroup",
];

export interface CognigraphStackProps extends StackProps {
  /**
   * The folder holding `cognigraph/bootstrap` and `cognigraph-triggers/bootstrap`, as
   * `cargo lambda build --release --arm64` writes them (`target/lambda`).
   */
  readonly lambdaAssets: string;
  /** The web client's OAuth callback URLs (code flow). */
  readonly callbackUrls: string[];
  /** The web client's sign-out URLs. */
  readonly logoutUrls: string[];
  /** Email domains whose sign-ups are confirmed at once (`SIGNUP_AUTO_CONFIRM_DOMAINS`). */
  readonly autoConfirmDomains?: string[];
  /** Email domains that may not sign up by themselves (`SIGNUP_CLOSED_DOMAINS`). */
  readonly closedDomains?: string[];
  /** Keep the user pool and the database when the stack is deleted (default: true). */
  readonly retainData?: boolean;
}

export class CognigraphStack extends Stack {
  readonly userPool: cognito.UserPool;
  readonly webClient: cognito.UserPoolClient;
  readonly api: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: CognigraphStackProps) {
    super(scope, id, props);
    const retain = props.retainData ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // --- Network and database -------------------------------------------------------------
    // Functions in private subnets reach Cognito (keys, admin calls) through one NAT gateway;
    // the database sits in isolated subnets, reachable from the functions only.
    const vpc = new ec2.Vpc(this, "Network", {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC },
        { name: "functions", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: "database", subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const functionsSecurityGroup = new ec2.SecurityGroup(this, "FunctionsSecurityGroup", {
      vpc,
      description: "cognigraph functions",
    });
    // Generated credentials, with the database name, in the format the functions read
    // (DATABASE_SECRET): they fetch the secret at init, so no password is in their configuration.
    const databaseSecret = new rds.DatabaseSecret(this, "DatabaseSecret", {
      username: "cognigraph",
      dbname: "cognigraph",
    });
    const database = new rds.DatabaseCluster(this, "Database", {
      engine: rds.DatabaseClusterEngine.auroraPostgres({
        version: rds.AuroraPostgresEngineVersion.VER_17_5,
      }),
      credentials: rds.Credentials.fromSecret(databaseSecret),
      defaultDatabaseName: "cognigraph",
      writer: rds.ClusterInstance.serverlessV2("Writer"),
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      removalPolicy,
    });
    database.connections.allowDefaultPortFrom(functionsSecurityGroup, "cognigraph functions");

    // --- The triggers -------------------------------------------------------------------------
    const triggersCode = lambda.Code.fromAsset(path.join(props.lambdaAssets, "cognigraph-triggers"));
    const trigger = (name: string, description: string, environment: Record<string, string>, inVpc: boolean) =>
      new lambda.Function(this, name, {
        description,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: "bootstrap",
        code: triggersCode,
        memorySize: 256,
        // Cognito waits 5 s for a trigger.
        timeout: Duration.seconds(5),
        environment: { RUST_LOG: "info", ...environment },
        logGroup: new logs.LogGroup(this, `${name}Logs`, {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        ...(inVpc
          ? {
              vpc,
              vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
              securityGroups: [functionsSecurityGroup],
            }
          : {}),
      });
    const preSignUp = trigger(
      "PreSignUp",
      "cognigraph: auto-confirmed and closed email domains",
      {
        SIGNUP_AUTO_CONFIRM_DOMAINS: (props.autoConfirmDomains ?? []).join(","),
        SIGNUP_CLOSED_DOMAINS: (props.closedDomains ?? []).join(","),
      },
      false,
    );
    const postConfirmation = trigger(
      "PostConfirmation",
      "cognigraph: a self-signed-up user founds a tenant",
      { ROLE_GROUP_ADMIN: "admin", DATABASE_SECRET: databaseSecret.secretArn },
      true,
    );
    const preTokenGeneration = trigger(
      "PreTokenGeneration",
      "cognigraph: custom:tenant in access tokens (V2), groups kept",
      {},
      false,
    );

    // --- The user pool ------------------------------------------------------------------------
    this.userPool = new cognito.UserPool(this, "Users", {
      userPoolName: "cognigraph",
      featurePlan: cognito.FeaturePlan.ESSENTIALS, // access-token customisation (trigger V2)
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        // Writable by admins and the post-confirmation trigger; never by the app client.
        tenant: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: true }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(7),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { sms: false, otp: true },
      deletionProtection: retain,
      removalPolicy,
      lambdaTriggers: {
        preSignUp,
        postConfirmation,
      },
    });
    this.userPool.addTrigger(
      cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG,
      preTokenGeneration,
      cognito.LambdaVersion.V2_0,
    );
    ROLE_GROUPS.forEach((group, precedence) => {
      new cognito.UserPoolGroup(this, `Group-${group}`, {
        userPool: this.userPool,
        groupName: group,
        precedence,
        description: `cognigraph role ${group.toUpperCase()}`,
      });
    });
    // The trigger's rights on the pool, in a policy of its own: attached to the function's
    // role, it does not make the pool (which names the function) depend on itself.
    new iam.Policy(this, "PostConfirmationPoolAccess", {
      roles: [postConfirmation.role!],
      statements: [
        new iam.PolicyStatement({
          actions: POST_CONFIRMATION_POOL_ACTIONS,
          resources: [this.userPool.userPoolArn],
        }),
      ],
    });

    this.webClient = this.userPool.addClient("Web", {
      userPoolClientName: "cognigraph-web",
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [
          cognito.OAuthScope.OPENID,
          cognito.OAuthScope.EMAIL,
          cognito.OAuthScope.PROFILE,
          cognito.OAuthScope.COGNITO_ADMIN,
        ],
        callbackUrls: props.callbackUrls,
        logoutUrls: props.logoutUrls,
      },
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true })
        .withCustomAttributes("tenant"),
      // Not custom:tenant: users must not move themselves into another tenant.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });

    // --- The service --------------------------------------------------------------------------
    const service = new lambda.Function(this, "Service", {
      description: "cognigraph: the GraphQL API",
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: "bootstrap",
      code: lambda.Code.fromAsset(path.join(props.lambdaAssets, "cognigraph")),
      memorySize: 512,
      timeout: Duration.seconds(30),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [functionsSecurityGroup],
      logGroup: new logs.LogGroup(this, "ServiceLogs", {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        COGNITO_REGION: this.region,
        COGNITO_USER_POOL_ID: this.userPool.userPoolId,
        COGNITO_CLIENT_ID: this.webClient.userPoolClientId,
        // The pre-token trigger puts custom:tenant into access tokens: no GetUser per request.
        TENANT_SOURCE: "claim",
        USER_MANAGEMENT: "true",
        DATABASE_SECRET: databaseSecret.secretArn,
        // One advisory-locked migration run per deploy, by whichever instance starts first.
        MIGRATE_ON_START: "true",
        LOG_FORMAT: "json",
        RUST_LOG: "info",
      },
    });
    databaseSecret.grantRead(service);
    databaseSecret.grantRead(postConfirmation);
    service.addToRolePolicy(
      new iam.PolicyStatement({
        actions: SERVICE_POOL_ACTIONS,
        resources: [this.userPool.userPoolArn],
      }),
    );
    this.api = new apigw.HttpApi(this, "Api", {
      apiName: "cognigraph",
      description: "cognigraph's GraphQL API ($default stage)",
      defaultIntegration: new integrations.HttpLambdaIntegration("ServiceIntegration", service),
    });

    // --- What a front end needs, named as the seed's settings -----------------------------------
    const outputs: Record<string, [string, string]> = {
      CognitoRegion: ["COGNITO_REGION", this.region],
      CognitoUserPoolId: ["COGNITO_USER_POOL_ID", this.userPool.userPoolId],
      CognitoClientId: ["COGNITO_CLIENT_ID", this.webClient.userPoolClientId],
      ApiUrl: ["COGNIGRAPH_API_URL", `${this.api.apiEndpoint}/graphql`],
    };
    for (const [id, [variable, value]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description: variable });
    }
  }
}

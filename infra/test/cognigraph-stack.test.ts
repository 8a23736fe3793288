// The synthesized template, checked setting by setting (offline: no AWS account, no Docker).
// The functions' code is a placeholder `bootstrap` in a temporary folder: the template names
// assets by their hash, and nothing here runs them.

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";

import {
  CognigraphStack,
  POST_CONFIRMATION_POOL_ACTIONS,
  ROLE_GROUPS,
  SERVICE_POOL_ACTIONS,
} from "../lib/cognigraph-stack";

function placeholderAssets(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "cognigraph-assets-"));
  for (const name of ["cognigraph", "cognigraph-triggers"]) {
    fs.mkdirSync(path.join(folder, name));
    fs.writeFileSync(path.join(folder, name, "bootstrap"), `placeholder for ${name}\n`);
  }
  return folder;
}

const template = Template.fromStack(
  new CognigraphStack(new App(), "Cognigraph", {
    lambdaAssets: placeholderAssets(),
    callbackUrls: ["https://app.example.com/callback"],
    logoutUrls: ["https://app.example.com/"],
    autoConfirmDomains: ["acme.example"],
    closedDomains: ["closed.example"],
  }),
);

function only(type: string): Record<string, unknown> {
  const resources = template.findResources(type);
  const values = Object.values(resources);
  assert.equal(values.length, 1, `one ${type}`);
  return (values[0] as { Properties: Record<string, unknown> }).Properties;
}

/** The logical id of the function whose description starts with `prefix`. */
function functionId(prefix: string): string {
  const found = Object.entries(template.findResources("AWS::Lambda::Function")).filter(([, r]) =>
    String((r as { Properties: { Description?: string } }).Properties.Description ?? "").startsWith(prefix),
  );
  assert.equal(found.length, 1, prefix);
  return found[0][0];
}

test("the user pool: email sign-in, verification, recovery, MFA, passwords, plan, tenant", () => {
  const pool = only("AWS::Cognito::UserPool");
  assert.deepEqual(pool.UsernameAttributes, ["email"]);
  assert.deepEqual(pool.AutoVerifiedAttributes, ["email"]);
  assert.deepEqual(pool.AccountRecoverySetting, {
    RecoveryMechanisms: [{ Name: "verified_email", Priority: 1 }],
  });
  assert.equal(pool.MfaConfiguration, "OPTIONAL");
  assert.deepEqual(pool.EnabledMfas, ["SOFTWARE_TOKEN_MFA"]);
  assert.equal(pool.UserPoolTier, "ESSENTIALS");
  assert.deepEqual(pool.AdminCreateUserConfig, { AllowAdminCreateUserOnly: false });
  assert.deepEqual(pool.Policies, {
    PasswordPolicy: {
      MinimumLength: 12,
      RequireLowercase: true,
      RequireUppercase: true,
      RequireNumbers: true,
      RequireSymbols: true,
      TemporaryPasswordValidityDays: 7,
    },
  });
  const tenant = (pool.Schema as Array<Record<string, unknown>>).find((a) => a.Name === "tenant");
  assert.deepEqual(tenant, {
    Name: "tenant",
    AttributeDataType: "String",
    Mutable: true,
    StringAttributeConstraints: { MinLength: "1", MaxLength: "64" },
  });
});

test("the three triggers, pre token generation as version 2.0", () => {
  const pool = only("AWS::Cognito::UserPool");
  const config = pool.LambdaConfig as Record<string, unknown>;
  const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
  assert.deepEqual(config.PreSignUp, arnOf(functionId("cognigraph: auto-confirmed")));
  assert.deepEqual(config.PostConfirmation, arnOf(functionId("cognigraph: a self-signed-up")));
  assert.deepEqual(config.PreTokenGenerationConfig, {
    LambdaArn: arnOf(functionId("cognigraph: custom:tenant")),
    LambdaVersion: "V2_0",
  });
  template.hasResourceProperties("AWS::Lambda::Function", {
    Description: Match.stringLikeRegexp("auto-confirmed"),
    Runtime: "provided.al2023",
    Architectures: ["arm64"],
    Timeout: 5,
    Environment: {
      Variables: Match.objectLike({
        SIGNUP_AUTO_CONFIRM_DOMAINS: "acme.example",
        SIGNUP_CLOSED_DOMAINS: "closed.example",
      }),
    },
  });
});

test("the groups admin, editor and viewer", () => {
  const groups = Object.values(template.findResources("AWS::Cognito::UserPoolGroup")).map(
    (g) => (g as { Properties: { GroupName: string } }).Properties.GroupName,
  );
  assert.deepEqual(groups.sort(), [...ROLE_GROUPS].sort());
});

test("the web client: code flow, no user existence errors, token lifetimes, no writable tenant", () => {
  const client = only("AWS::Cognito::UserPoolClient");
  assert.equal(client.PreventUserExistenceErrors, "ENABLED");
  assert.equal(client.GenerateSecret, false);
  assert.deepEqual(client.AllowedOAuthFlows, ["code"]);
  assert.deepEqual(
    [...(client.AllowedOAuthScopes as string[])].sort(),
    ["aws.cognito.signin.user.admin", "email", "openid", "profile"],
  );
  assert.deepEqual(client.CallbackURLs, ["https://app.example.com/callback"]);
  assert.deepEqual(client.LogoutURLs, ["https://app.example.com/"]);
  assert.deepEqual(
    [...(client.ExplicitAuthFlows as string[])].sort(),
    ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
  );
  assert.equal(client.AccessTokenValidity, 60);
  assert.equal(client.IdTokenValidity, 60);
  assert.equal(client.RefreshTokenValidity, 43200);
  assert.deepEqual(client.TokenValidityUnits, {
    AccessToken: "minutes",
    IdToken: "minutes",
    RefreshToken: "minutes",
  });
  assert.ok((client.ReadAttributes as string[]).includes("custom:tenant"));
  assert.deepEqual(client.WriteAttributes, ["email"]);
});

test("the service on Lambda behind an HTTP API's $default stage, tenant from the claim", () => {
  template.hasResourceProperties("AWS::Lambda::Function", {
    Description: "cognigraph: the GraphQL API",
    Runtime: "provided.al2023",
    Handler: "bootstrap",
    Environment: {
      Variables: Match.objectLike({
        TENANT_SOURCE: "claim",
        USER_MANAGEMENT: "true",
        MIGRATE_ON_START: "true",
        COGNITO_USER_POOL_ID: { Ref: Match.stringLikeRegexp("^Users") },
        DATABASE_SECRET: { Ref: Match.stringLikeRegexp("^DatabaseSecret") },
      }),
    },
    VpcConfig: Match.anyValue(),
  });
  const api = only("AWS::ApiGatewayV2::Api");
  assert.equal(api.ProtocolType, "HTTP");
  template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
    StageName: "$default",
    AutoDeploy: true,
  });
  template.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$default" });
});

test("PostgreSQL: Aurora Serverless v2 in isolated subnets, encrypted, with a generated secret", () => {
  const cluster = only("AWS::RDS::DBCluster");
  assert.equal(cluster.Engine, "aurora-postgresql");
  assert.equal(cluster.StorageEncrypted, true);
  assert.deepEqual(cluster.ServerlessV2ScalingConfiguration, { MinCapacity: 0.5, MaxCapacity: 4 });
  template.resourceCountIs("AWS::SecretsManager::Secret", 1);
  template.hasResourceProperties("AWS::RDS::DBInstance", { DBInstanceClass: "db.serverless" });
});

test("no password in any function's configuration: the database comes from its secret", () => {
  const functions = template.findResources("AWS::Lambda::Function");
  for (const [id, resource] of Object.entries(functions)) {
    const variables =
      (resource as { Properties: { Environment?: { Variables?: Record<string, unknown> } } })
        .Properties.Environment?.Variables ?? {};
    assert.ok(!("DATABASE_URL" in variables), id);
    assert.ok(!JSON.stringify(variables).includes("resolve:secretsmanager"), id);
  }
  const readers = Object.entries(functions)
    .filter(([, resource]) =>
      JSON.stringify((resource as { Properties: unknown }).Properties).includes('"DATABASE_SECRET"'),
    )
    .map(([id]) => id)
    .sort();
  assert.deepEqual(readers, [functionId("cognigraph: a self-signed-up"), functionId("cognigraph: the GraphQL API")].sort());
  // The secret RDS uses, with the fields the functions read.
  const secret = only("AWS::SecretsManager::Secret");
  const generated = secret.GenerateSecretString as Record<string, string>;
  assert.deepEqual(JSON.parse(generated.SecretStringTemplate), {
    username: "cognigraph",
    dbname: "cognigraph",
  });
  assert.equal(generated.GenerateStringKey, "password");
  template.resourceCountIs("AWS::SecretsManager::SecretTargetAttachment", 1);
});

test("least IAM: the service and the trigger get exactly their actions on the pool", () => {
  const statements = Object.entries(template.findResources("AWS::IAM::Policy")).flatMap(
    ([, policy]) =>
      (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } })
        .Properties.PolicyDocument.Statement,
  );
  const cognito = statements.filter((s) =>
    [s.Action].flat().some((a) => String(a).startsWith("cognito-idp:")),
  );
  const actions = cognito.map((s) => [s.Action].flat().map(String).sort());
  assert.deepEqual(
    actions.sort(),
    [[...SERVICE_POOL_ACTIONS].sort(), [...POST_CONFIRMATION_POOL_ACTIONS].sort()].sort(),
  );
  for (const statement of cognito) {
    assert.equal(statement.Effect, "Allow");
    const resource = statement.Resource as { "Fn::GetAtt": [string, string] };
    assert.ok(resource["Fn::GetAtt"][0].startsWith("Users"), JSON.stringify(statement));
    assert.equal(resource["Fn::GetAtt"][1], "Arn");
  }
  // The secret: read by the service's and the post-confirmation trigger's roles only.
  const secretReads = Object.values(template.findResources("AWS::IAM::Policy")).filter((policy) =>
    (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } })
      .Properties.PolicyDocument.Statement.some((s) =>
        [s.Action].flat().includes("secretsmanager:GetSecretValue"),
      ),
  );
  const rolesOf = (policy: unknown) =>
    ((policy as { Properties: { Roles: Array<{ Ref: string }> } }).Properties.Roles ?? []).map((r) => r.Ref);
  const readerRoles = secretReads.flatMap(rolesOf).sort();
  assert.equal(readerRoles.length, 2, JSON.stringify(readerRoles));
  assert.ok(readerRoles.some((role) => role.startsWith("ServiceServiceRole")), JSON.stringify(readerRoles));
  assert.ok(readerRoles.some((role) => role.startsWith("PostConfirmationServiceRole")), JSON.stringify(readerRoles));
  for (const statement of statements.filter((s) => [s.Action].flat().includes("secretsmanager:GetSecretValue"))) {
    assert.ok((statement.Resource as { Ref: string }).Ref.startsWith("DatabaseSecret"), JSON.stringify(statement));
  }
  // Nothing grants cognito-idp on "*".
  assert.ok(!statements.some((s) => s.Resource === "*" && String(s.Action).startsWith("cognito-idp")));
});

test("outputs for a front end, named as the seed's settings", () => {
  const outputs = template.findOutputs("*");
  const described = Object.values(outputs).map((o) => (o as { Description: string }).Description);
  assert.deepEqual(described.sort(), [
    "COGNIGRAPH_API_URL",
    "COGNITO_CLIENT_ID",
    "COGNITO_REGION",
    "COGNITO_USER_POOL_ID",
  ]);
});

#!/usr/bin/env node
// The CDK app: one stack, `Cognigraph`. Context (`cdk deploy -c key=value`):
// - lambdaAssets: where `cargo lambda build --release --arm64` put the functions
//   (default: ../target/lambda);
// - callbackUrls, logoutUrls: the web client's URLs, comma-separated
//   (default: http://localhost:3000/);
// - autoConfirmDomains, closedDomains: the pre sign-up trigger's email domains, comma-separated;
// - retainData: "false" to delete the user pool and database with the stack (default: kept).

import * as path from "node:path";

import { App } from "aws-cdk-lib";

import { CognigraphStack } from "../lib/cognigraph-stack";

const app = new App();
const list = (key: string, fallback: string[]): string[] => {
  const raw: unknown = app.node.tryGetContext(key);
  if (typeof raw !== "string" || raw.trim() === "") {
    return fallback;
  }
  return raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
};
const assets: unknown = app.node.tryGetContext("lambdaAssets");

new CognigraphStack(app, "Cognigraph", {
  description: "cognigraph: Cognito user pool, triggers, GraphQL API on Lambda, Aurora PostgreSQL",
  lambdaAssets:
    typeof assets === "string" && assets !== ""
      ? path.resolve(assets)
      : path.resolve(__dirname, "..", "..", "..", "target", "lambda"),
  callbackUrls: list("callbackUrls", ["http://localhost:3000/"]),
  logoutUrls: list("logoutUrls", ["http://localhost:3000/"]),
  autoConfirmDomains: list("autoConfirmDomains", []),
  closedDomains: list("closedDomains", []),
  retainData: app.node.tryGetContext("retainData") !== "false",
});

// The VS Code side of dealrules: starts `dealrules lsp` for `.deals` and `.rules` files.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("dealrules").get("path") || "dealrules";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "dealrules",
    "dealrules",
    { run: server, debug: server },
    { documentSelector: [{ language: "dealrules" }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

// Tokenises every file of rules/ and examples/*.deals with the TextMate grammar, as VS Code
// does, and fails on any text that no rule of the grammar scopes; then checks the exact scopes
// of a few pinned lines. Run with `npm ci && npm test` in editors/vscode.
"use strict";

const fs = require("fs");
const path = require("path");
const assert = require("assert");
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

const root = path.join(__dirname, "..", "..", "..");
const grammarPath = path.join(__dirname, "..", "syntaxes", "dealrules.tmLanguage.json");

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.dealrules"
        ? textmate.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
        : null,
  });
  return registry.loadGrammar("source.dealrules");
}

// Every line of `text` as a list of tokens: [text, scopes below the root, joined by spaces].
function tokenize(grammar, text) {
  let stack = textmate.INITIAL;
  return text.split("\n").map((line) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    return result.tokens.map((t) => [
      line.slice(t.startIndex, t.endIndex),
      t.scopes.slice(1).join(" "),
    ]);
  });
}

function files() {
  const rules = fs
    .readdirSync(path.join(root, "rules"))
    .filter((f) => f.endsWith(".rules"))
    .map((f) => path.join("rules", f));
  const examples = fs
    .readdirSync(path.join(root, "examples"))
    .filter((f) => f.endsWith(".deals") || f.endsWith(".rules"))
    .map((f) => path.join("examples", f));
  return [...rules, ...examples].sort();
}

// The tokens of the first line of `file` that is `line` once trimmed, whitespace dropped.
function pinned(tokenized, file, line) {
  const text = fs.readFileSync(path.join(root, file), "utf8").split("\n");
  const index = text.findIndex((l) => l.trim() === line);
  assert.notStrictEqual(index, -1, `${file} has no line \`${line}\``);
  return tokenized[file][index].filter(([t]) => t.trim() !== "");
}

async function main() {
  const grammar = await loadGrammar();
  const tokenized = {};
  const unscoped = [];
  let lines = 0;
  for (const file of files()) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    tokenized[file] = tokenize(grammar, text);
    tokenized[file].forEach((tokens, i) => {
      lines += 1;
      let column = 0;
      for (const [t, scopes] of tokens) {
        if (scopes === "" && t.trim() !== "") {
          unscoped.push(`${file}:${i + 1}:${column + 1}: \`${t}\` has only the root scope`);
        }
        column += t.length;
      }
    });
  }
  assert.deepStrictEqual(unscoped, [], unscoped.join("\n"));

  const checks = [
    [
      "rules/vendor_financing.rules",
      "rule vendor_financing \"Supplier finances a customer's purchases of its own goods\" {",
      [
        ["rule", "keyword.declaration.dealrules"],
        ["vendor_financing", "entity.name.function.dealrules"],
        ["\"", "string.quoted.double.dealrules punctuation.definition.string.begin.dealrules"],
        ["Supplier finances a customer's purchases of its own goods", "string.quoted.double.dealrules"],
        ["\"", "string.quoted.double.dealrules punctuation.definition.string.end.dealrules"],
        ["{", "punctuation.section.braces.dealrules"],
      ],
    ],
    [
      "rules/vendor_financing.rules",
      "severity: high",
      [
        ["severity", "entity.other.attribute-name.dealrules"],
        [":", "punctuation.separator.key-value.dealrules"],
        ["high", "variable.other.dealrules"],
      ],
    ],
    [
      "rules/vendor_financing.rules",
      "match inv: deal where inv.kind == investment",
      [
        ["match", "keyword.control.dealrules"],
        ["inv", "variable.parameter.dealrules"],
        [":", "punctuation.separator.key-value.dealrules"],
        ["deal", "storage.type.dealrules"],
        ["where", "keyword.control.dealrules"],
        ["inv", "variable.other.dealrules"],
        [".", "punctuation.accessor.dealrules"],
        ["kind", "variable.other.property.dealrules"],
        ["==", "keyword.operator.comparison.dealrules"],
        ["investment", "variable.other.dealrules"],
      ],
    ],
    [
      "examples/ai-compute-2025.deals",
      "amount:                     up to 100B USD",
      [
        ["amount", "entity.other.attribute-name.dealrules"],
        [":", "punctuation.separator.key-value.dealrules"],
        ["up to", "keyword.other.ceiling.dealrules"],
        ["100B", "constant.numeric.dealrules"],
        ["USD", "support.constant.currency.dealrules"],
      ],
    ],
    [
      "examples/ai-compute-2025.deals",
      "announced:                  2025-09-22",
      [
        ["announced", "entity.other.attribute-name.dealrules"],
        [":", "punctuation.separator.key-value.dealrules"],
        ["2025-09-22", "constant.numeric.date.dealrules"],
      ],
    ],
    [
      "examples/ai-compute-2025.deals",
      "// AI-compute deals, 2023-2025 (with early-2026 follow-ups).",
      [
        ["//", "comment.line.double-slash.dealrules punctuation.definition.comment.dealrules"],
        [" AI-compute deals, 2023-2025 (with early-2026 follow-ups).", "comment.line.double-slash.dealrules"],
      ],
    ],
    [
      "rules/commitments.rules",
      "param high_share = 35%",
      [
        ["param", "keyword.control.dealrules"],
        ["high_share", "variable.other.dealrules"],
        ["=", "keyword.operator.assignment.dealrules"],
        ["35", "constant.numeric.dealrules"],
        ["%", "keyword.other.unit.percent.dealrules"],
      ],
    ],
    [
      "examples/ai-compute-2025.deals",
      "deal nvidia_openai_loi \"Nvidia to invest up to 100B USD in OpenAI, progressively per GW deployed\" {",
      [
        ["deal", "keyword.declaration.dealrules"],
        ["nvidia_openai_loi", "entity.name.type.dealrules"],
        ["\"", "string.quoted.double.dealrules punctuation.definition.string.begin.dealrules"],
        ["Nvidia to invest up to 100B USD in OpenAI, progressively per GW deployed", "string.quoted.double.dealrules"],
        ["\"", "string.quoted.double.dealrules punctuation.definition.string.end.dealrules"],
        ["{", "punctuation.section.braces.dealrules"],
      ],
    ],
  ];
  for (const [file, line, expected] of checks) {
    assert.deepStrictEqual(pinned(tokenized, file, line), expected, `${file}: ${line}`);
  }

  // A flag message: the placeholder is an expression inside the string; a unit after a number.
  const [flag] = tokenize(grammar, "flag \"{inv.investor} buys 4.5 GW\" capacity: 10 GW");
  assert.deepStrictEqual(
    flag.filter(([t]) => t.trim() !== ""),
    [
      ["flag", "keyword.control.dealrules"],
      ["\"", "string.quoted.double.dealrules punctuation.definition.string.begin.dealrules"],
      ["{", "string.quoted.double.dealrules meta.embedded.placeholder.dealrules punctuation.section.embedded.begin.dealrules"],
      ["inv", "string.quoted.double.dealrules meta.embedded.placeholder.dealrules variable.other.dealrules"],
      [".", "string.quoted.double.dealrules meta.embedded.placeholder.dealrules punctuation.accessor.dealrules"],
      ["investor", "string.quoted.double.dealrules meta.embedded.placeholder.dealrules variable.other.property.dealrules"],
      ["}", "string.quoted.double.dealrules meta.embedded.placeholder.dealrules punctuation.section.embedded.end.dealrules"],
      [" buys 4.5 GW", "string.quoted.double.dealrules"],
      ["\"", "string.quoted.double.dealrules punctuation.definition.string.end.dealrules"],
      ["capacity", "entity.other.attribute-name.dealrules"],
      [":", "punctuation.separator.key-value.dealrules"],
      ["10", "constant.numeric.dealrules"],
      ["GW", "keyword.other.unit.dealrules"],
    ],
  );

  // Declarations and clauses that the shipped files may not show on one line.
  const written = {
    "fx USD/CNY 7.10 on 2025-10-01": [
      ["fx", "keyword.declaration.dealrules"],
      ["USD/CNY", "support.constant.currency.dealrules"],
      ["7.10", "constant.numeric.dealrules"],
      ["on", "keyword.control.dealrules"],
      ["2025-10-01", "constant.numeric.date.dealrules"],
    ],
    "match c: cycle flow max 5 hops where hop.amount > 1000亿美元": [
      ["match", "keyword.control.dealrules"],
      ["c", "variable.parameter.dealrules"],
      [":", "punctuation.separator.key-value.dealrules"],
      ["cycle", "keyword.control.dealrules"],
      ["flow", "variable.other.dealrules"],
      ["max", "keyword.control.dealrules"],
      ["5", "constant.numeric.dealrules"],
      ["hops", "keyword.control.dealrules"],
      ["where", "keyword.control.dealrules"],
      ["hop", "variable.other.dealrules"],
      [".", "punctuation.accessor.dealrules"],
      ["amount", "variable.other.property.dealrules"],
      [">", "keyword.operator.comparison.dealrules"],
      ["1000亿", "constant.numeric.dealrules"],
      ["美元", "support.constant.currency.dealrules"],
    ],
    "schema entity spv \"An SPV\" { sponsor: entity }": [
      ["schema", "keyword.declaration.dealrules"],
      ["entity", "storage.type.dealrules"],
      ["spv", "entity.name.type.kind.dealrules"],
      ["\"", "string.quoted.double.dealrules punctuation.definition.string.begin.dealrules"],
      ["An SPV", "string.quoted.double.dealrules"],
      ["\"", "string.quoted.double.dealrules punctuation.definition.string.end.dealrules"],
      ["{", "punctuation.section.braces.dealrules"],
      ["sponsor", "entity.other.attribute-name.dealrules"],
      [":", "punctuation.separator.key-value.dealrules"],
      ["entity", "storage.type.dealrules"],
      ["}", "punctuation.section.braces.dealrules"],
    ],
    "defaults { timezone: Asia/Shanghai  fiscal_year_end: \"06-30\" }": [
      ["defaults", "keyword.declaration.dealrules"],
      ["{", "punctuation.section.braces.dealrules"],
      ["timezone", "entity.other.attribute-name.dealrules"],
      [":", "punctuation.separator.key-value.dealrules"],
      ["Asia", "variable.other.dealrules"],
      ["/", "keyword.operator.arithmetic.dealrules"],
      ["Shanghai", "variable.other.dealrules"],
      ["fiscal_year_end", "entity.other.attribute-name.dealrules"],
      [":", "punctuation.separator.key-value.dealrules"],
      ["\"", "string.quoted.double.dealrules punctuation.definition.string.begin.dealrules"],
      ["06-30", "string.quoted.double.dealrules"],
      ["\"", "string.quoted.double.dealrules punctuation.definition.string.end.dealrules"],
      ["}", "punctuation.section.braces.dealrules"],
    ],
  };
  for (const [line, expected] of Object.entries(written)) {
    const [tokens] = tokenize(grammar, line);
    assert.deepStrictEqual(tokens.filter(([t]) => t.trim() !== ""), expected, line);
  }

  console.log(`ok: ${files().length} files, ${lines} lines, every token scoped; ${checks.length + 1 + Object.keys(written).length} pinned lines`);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});

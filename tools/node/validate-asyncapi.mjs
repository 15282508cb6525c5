// Validates AsyncAPI documents with the AsyncAPI Initiative's own parser; prints its diagnostics as JSON.
// Usage: node validate-asyncapi.mjs FILE...  Exit 0 when no document has an error, 1 otherwise.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "info", "hint"];
const parser = new Parser();
let failed = false;
const report = [];
for (const file of process.argv.slice(2)) {
  const diagnostics = await parser.validate(await readFile(file, "utf8"), { source: file });
  for (const d of diagnostics) {
    const severity = SEVERITY[d.severity] ?? String(d.severity);
    if (severity === "error") failed = true;
    report.push({ file, severity, code: d.code, message: d.message, path: d.path.join("/") });
  }
}
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
process.exit(failed ? 1 : 0);

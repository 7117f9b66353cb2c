import { extname } from "node:path";
import { UsageError } from "./usage-error.js";

/** The interpreter `sandkit run` uses for each file extension (lower case, with the dot). */
export const INTERPRETERS: Readonly<Record<string, readonly string[]>> = {
  ".py": ["python3"],
  ".js": ["node"],
  ".mjs": ["node"],
  ".cjs": ["node"],
  ".sh": ["sh"],
  ".rb": ["ruby"],
  ".pl": ["perl"],
};

/**
 * The interpreter argv (without the file) for a script, chosen by its extension. An extension
 * sandkit does not know is a {@link UsageError} that lists the ones it does.
 */
export function interpreterFor(file: string): readonly string[] {
  const extension = extname(file).toLowerCase();
  const interpreter = INTERPRETERS[extension];
  if (interpreter === undefined) {
    const known = Object.entries(INTERPRETERS)
      .map(([ext, argv]) => `${ext} (${argv.join(" ")})`)
      .join(", ");
    const what = extension === "" ? "has no extension" : `has the extension ${extension}`;
    throw new UsageError(`cannot tell how to run ${JSON.stringify(file)}: it ${what}; known: ${known}. Use "sandkit exec" to name the interpreter yourself.`);
  }
  return interpreter;
}

/** Quotes one word for bash (single quotes; an embedded `'` becomes `'\''`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** An argv as one bash command line (`bash -c` runs it), optionally in a directory. */
export function commandLine(argv: readonly string[], cwd?: string): string {
  const run = `exec ${argv.map(shellQuote).join(" ")}`;
  return cwd === undefined ? run : `cd -- ${shellQuote(cwd)} && ${run}`;
}

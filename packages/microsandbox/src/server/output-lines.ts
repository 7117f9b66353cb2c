/** One line of output as the protocol sends it (§5.4): the newline removed. */
export interface OutputLine {
  readonly stream: "stdout" | "stderr";
  readonly text: string;
}

/**
 * Turns pieces of stdout and stderr text into protocol lines in arrival order: a line is emitted
 * when its newline arrives, and what is left of each stream is emitted by {@link LineAssembler.finish}.
 * Keeps at most `maxChars` characters in total; past that, output is dropped.
 */
export class LineAssembler {
  readonly #lines: OutputLine[] = [];
  readonly #pending = { stdout: "", stderr: "" };
  #kept = 0;
  readonly #maxChars: number;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** Adds a piece of one stream's text. */
  push(stream: "stdout" | "stderr", text: string): void {
    if (this.#kept >= this.#maxChars) return;
    const piece = text.slice(0, this.#maxChars - this.#kept);
    this.#kept += piece.length;
    const parts = (this.#pending[stream] + piece).split("\n");
    this.#pending[stream] = parts.pop()!;
    for (const line of parts) this.#lines.push({ stream, text: line });
  }

  /** Flushes unterminated lines (stdout first) and returns every line. */
  finish(): OutputLine[] {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#pending[stream].length > 0) this.#lines.push({ stream, text: this.#pending[stream] });
      this.#pending[stream] = "";
    }
    return this.#lines;
  }
}

/** Splits a whole stream's text into protocol lines (a final newline adds no empty line). */
export function splitLines(stream: "stdout" | "stderr", text: string): OutputLine[] {
  if (text.length === 0) return [];
  const parts = text.split("\n");
  if (parts.at(-1) === "") parts.pop();
  return parts.map((line) => ({ stream, text: line }));
}

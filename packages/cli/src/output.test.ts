import { describe, expect, it } from "vitest";
import { relayOutput } from "./output.ts";

function sink(): { text: string; write(t: string): void } {
  return {
    text: "",
    write(t: string) {
      this.text += t;
    },
  };
}

describe("relayOutput", () => {
  it("writes each stream to its own sink as it arrives, and nothing twice at the end", () => {
    const out = sink();
    const err = sink();
    const relay = relayOutput(out, err);
    relay.onStdout("a");
    relay.onStderr("b");
    relay.onStdout("c");
    expect(out.text).toBe("ac");
    expect(err.text).toBe("b");
    expect(relay.finish({ stdout: "ac", stderr: "b" })).toBe(true);
    expect(out.text).toBe("ac");
    expect(err.text).toBe("b");
  });

  it("writes the returned output when the backend never streamed it", () => {
    const out = sink();
    const err = sink();
    const relay = relayOutput(out, err);
    expect(relay.finish({ stdout: "late\n", stderr: "oops\n" })).toBe(false);
    expect(out.text).toBe("late\n");
    expect(err.text).toBe("oops\n");
  });
});

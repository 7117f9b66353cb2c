import { describe, expect, it } from "vitest";
import { goDuration, podNameOf, rfc3339Seconds } from "./wire-format.js";

describe("wire formats", () => {
  it("pod names are sbx- and 10 hex digits of SHA-256 of the session id (protocol §1 examples)", () => {
    expect(podNameOf("s1")).toBe("sbx-e8bc163c82");
    expect(podNameOf("my-session")).toBe("sbx-01165fb373");
  });

  it("times are RFC 3339 UTC with whole seconds and Z", () => {
    expect(rfc3339Seconds(Date.UTC(2026, 0, 2, 12, 34, 56, 789))).toBe("2026-01-02T12:34:56Z");
  });

  it("durations print like Go's time.Duration", () => {
    expect(goDuration(2)).toBe("2s");
    expect(goDuration(59)).toBe("59s");
    expect(goDuration(300)).toBe("5m0s");
    expect(goDuration(90)).toBe("1m30s");
    expect(goDuration(3600)).toBe("1h0m0s");
    expect(goDuration(3661)).toBe("1h1m1s");
  });
});

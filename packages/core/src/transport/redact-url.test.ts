import { describe, expect, it } from "vitest";
import { Secret } from "../secret.ts";
import { redactUrl } from "./redact-url.ts";

describe("redactUrl", () => {
  it("drops credentials and the fragment, and hides credential-like query values", () => {
    expect(redactUrl("http://user:pa55word@example.test:8080/v1/x?dest=%2Fw+s&api_key=k-1&token=t-2&X-Amz-Signature=s-3#frag")).toBe(
      "http://example.test:8080/v1/x?dest=%2Fw%20s&api_key=[redacted]&token=[redacted]&X-Amz-Signature=[redacted]",
    );
  });

  it("hides a registered secret wherever it appears in the URL", () => {
    const secret = new Secret("path-secret-98765");
    expect(redactUrl(`http://h/${secret.reveal()}/x`)).toBe("http://h/[redacted]/x");
  });

  it("does not throw on an unparseable URL", () => {
    expect(redactUrl("not a url?token=abc")).toBe("not a url");
  });
});

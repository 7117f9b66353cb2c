import type { SandboxConfig } from "@sandkit/core";
import { expect, it } from "vitest";
import { provisioner } from "./index.ts";

it("createSandbox by name takes this adapter's own options once its types are loaded (checked by tsc)", () => {
  const config: SandboxConfig = { backend: "provisioner", url: "http://p:8002", apiKey: "k", threadId: "t-1", userId: "u1", readyTimeoutMs: 60_000 };
  // @ts-expect-error readyTimeoutMs is a number of milliseconds, not a string
  const wrong: SandboxConfig = { backend: "provisioner", readyTimeoutMs: "60s" };
  expect(config.backend).toBe("provisioner");
  expect(wrong.backend).toBe("provisioner");
  expect(typeof provisioner).toBe("function");
});

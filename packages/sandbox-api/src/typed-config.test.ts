import type { SandboxConfig } from "@sandkit/core";
import { expect, it } from "vitest";
import { sandboxApi } from "./index.ts";

it("createSandbox by name takes this adapter's own options once its types are loaded (checked by tsc)", () => {
  const config: SandboxConfig = { backend: "sandbox-api", url: "http://127.0.0.1:7000", budgetMs: 20_000, exactOutput: false, baseEnvironment: "dae5f9a3-a911-4df4-82f8-b9343241ece5" };
  // @ts-expect-error budgetMs is a number of milliseconds, not a string
  const wrong: SandboxConfig = { backend: "sandbox-api", budgetMs: "10s" };
  expect(config.backend).toBe("sandbox-api");
  expect(wrong.backend).toBe("sandbox-api");
  expect(typeof sandboxApi).toBe("function");
});

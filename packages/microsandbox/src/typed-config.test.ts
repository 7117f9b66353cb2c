import type { SandboxConfig } from "@sandkit/core";
import { expect, it } from "vitest";
import { microsandbox } from "./index.js";

it("createSandbox by name takes this adapter's own options once its types are loaded (checked by tsc)", () => {
  const config: SandboxConfig = { backend: "microsandbox", url: "http://127.0.0.1:5555", namespace: "team-a", cpus: 2, memoryMiB: 1024 };
  // @ts-expect-error cpus is a whole number, not a string
  const wrong: SandboxConfig = { backend: "microsandbox", cpus: "2" };
  expect(config.backend).toBe("microsandbox");
  expect(wrong.backend).toBe("microsandbox");
  expect(typeof microsandbox).toBe("function");
});

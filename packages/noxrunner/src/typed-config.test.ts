import type { SandboxConfig } from "@sandkit/core";
import { expect, it } from "vitest";
import { noxrunner } from "./index.js";

it("createSandbox by name takes this adapter's own options once its types are loaded (checked by tsc)", () => {
  const config: SandboxConfig = { backend: "noxrunner", url: "http://127.0.0.1:8080", serviceKey: "k-0123456789", ttlSeconds: 600, cpuLimit: "500m" };
  // @ts-expect-error ttlSeconds is a number
  const wrong: SandboxConfig = { backend: "noxrunner", ttlSeconds: "600" };
  expect(config.backend).toBe("noxrunner");
  expect(wrong.backend).toBe("noxrunner");
  expect(typeof noxrunner).toBe("function");
});

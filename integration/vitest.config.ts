import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "integration",
    include: ["src/**/*.test.ts"],
    // Packing and installing with npm and pnpm takes seconds each; the whole file stays under a minute.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

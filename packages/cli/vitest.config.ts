import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "cli",
    include: ["src/**/*.test.ts"],
    // The bin tests start a Node process (and a sandbox) per CLI call; on a busy 2-core machine
    // a few calls in a row can take longer than vitest's default 5 s.
    testTimeout: 30_000,
  },
});

import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "sandbox-api",
    include: ["src/**/*.test.ts"],
  },
});

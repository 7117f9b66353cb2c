import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "microsandbox",
    include: ["src/**/*.test.ts"],
  },
});

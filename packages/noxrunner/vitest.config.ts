import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "noxrunner",
    include: ["src/**/*.test.ts"],
  },
});

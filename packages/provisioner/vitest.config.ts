import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "provisioner",
    include: ["src/**/*.test.ts"],
  },
});

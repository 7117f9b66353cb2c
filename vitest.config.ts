import { defineConfig } from "vitest/config";

// `npm test` (scripts/sk.sh) sets --maxWorkers: a root maxWorkers here would not reach the
// projects, which have their own config files.
export default defineConfig({
  test: {
    projects: ["packages/*", "integration"],
  },
});

// The packages as users get them: packed with `pnpm pack` (which rewrites workspace: ranges to
// versions), installed from the tarballs into a new app outside the monorepo, first with npm (flat
// node_modules), then with pnpm (isolated node_modules), and run with plain Node.
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const quickstart = join(repo, "examples/quickstart/dist/main.js");
const PACKAGES = ["core", "local"] as const;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Variables a script runner (`npm test`, `pnpm exec`) sets for the monorepo's own script, which
 * must not leak into installs and runs in another directory. NODE_PATH above all: pnpm's bin shims
 * point it at the monorepo's node_modules/.pnpm/node_modules, where every workspace package is
 * visible, and the app would find packages it never installed. The rest of `npm_config_*` stays: it carries
 * the machine's registry settings (cafile, proxy, globalconfig) that the child npm and pnpm need.
 */
const SCRIPT_CONTEXT = /^(npm_(package|lifecycle)_.*|npm_command|npm_execpath|npm_node_execpath|npm_config_(local_prefix|prefix|global_prefix|loglevel|user_agent|verify_deps_before_run)|INIT_CWD|NODE_OPTIONS|NODE_PATH|PNPM_.*)$/i;

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!SCRIPT_CONTEXT.test(key)) env[key] = value;
  }
  return { ...env, NO_COLOR: "1", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
}

const STEP_TIMEOUT_MS = 90_000;

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024, timeout: STEP_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      const note = error?.killed === true ? `\n[killed by ${error.signal ?? "a signal"} after ${STEP_TIMEOUT_MS} ms]` : "";
      resolve({ code, stdout, stderr: stderr + note });
    });
  });
}

async function mustRun(command: string, args: readonly string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result.stdout;
}

/** Asks for a backend whose package is not installed and prints what the error says, as JSON. */
const MISSING_BACKEND = `
import { BackendNotInstalledError, createSandbox } from "@sandkit/core";
try {
  const sbx = await createSandbox({ backend: "noxrunner", url: "http://127.0.0.1:9" });
  await sbx.close();
  console.log(JSON.stringify({ created: true }));
} catch (error) {
  console.log(JSON.stringify({
    isInstance: BackendNotInstalledError.isInstance(error),
    code: error.code,
    packageName: error.packageName,
    message: error.message,
  }));
}
`;

/**
 * Loads core by file URL from a script outside the app, with the working directory outside the
 * app too: only core's own resolution can then find @sandkit/local.
 */
function fromCoreAlone(app: string): string {
  const core = pathToFileURL(join(app, "node_modules/@sandkit/core/dist/index.js")).href;
  return `
const { createSandbox } = await import(${JSON.stringify(core)});
await using sbx = await createSandbox();
const r = await sbx.exec(["sh", "-c", "echo core-alone $((6 * 7))"]);
console.log(JSON.stringify({ backend: sbx.backend, exitCode: r.exitCode, stdout: r.stdout }));
`;
}

let work: string;
const tarballs: string[] = [];

beforeAll(async () => {
  expect(existsSync(quickstart), `build first (npm test does): ${quickstart} is missing`).toBe(true);
  work = await mkdtemp(join(tmpdir(), "sandkit-integration-"));
  for (const name of PACKAGES) {
    const destination = join(work, "tarballs", name);
    await mkdir(destination, { recursive: true });
    await mustRun("pnpm", ["pack", "--pack-destination", destination], join(repo, "packages", name));
    const [tarball, ...others] = (await readdir(destination)).filter((file) => file.endsWith(".tgz"));
    expect(tarball, `pnpm pack made one tarball for ${name}`).toBeDefined();
    expect(others).toEqual([]);
    tarballs.push(join(destination, tarball!));
  }
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

async function newApp(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const app = join(work, name);
  await mkdir(app);
  const manifest = { name, version: "1.0.0", private: true, type: "module", ...extra };
  await writeFile(join(app, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await copyFile(quickstart, join(app, "quickstart.mjs"));
  await writeFile(join(app, "missing-backend.mjs"), MISSING_BACKEND);
  return app;
}

async function checkApp(app: string): Promise<void> {
  const demo = await run(process.execPath, ["quickstart.mjs"], app);
  expect(demo.stderr).toBe("");
  expect(demo.code).toBe(0);
  expect(demo.stdout).toContain('on backend "local"');
  expect(demo.stdout).toContain("Hello from the sandbox! 6 * 7 = 42");
  expect(demo.stdout).toContain("exit code 0");
  expect(demo.stdout).toMatch(/report\.json: \{"answer": 42/);

  const missing = await run(process.execPath, ["missing-backend.mjs"], app);
  expect(missing.code, missing.stderr).toBe(0);
  const error: unknown = JSON.parse(missing.stdout);
  expect(error).toMatchObject({ isInstance: true, code: "BACKEND_NOT_INSTALLED", packageName: "@sandkit/noxrunner" });
  expect((error as { message: string }).message).toContain("npm install @sandkit/noxrunner");

  const outside = join(work, `outside-${Date.now()}`);
  await mkdir(outside);
  await writeFile(join(outside, "core-alone.mjs"), fromCoreAlone(app));
  const alone = await run(process.execPath, ["core-alone.mjs"], outside);
  expect(alone.stderr).toBe("");
  expect(JSON.parse(alone.stdout)).toEqual({ backend: "local", exitCode: 0, stdout: "core-alone 42\n" });
}

describe("packed @sandkit/core + @sandkit/local in a new app", () => {
  it("work when npm installs them (flat node_modules)", async () => {
    const app = await newApp("npm-app");
    await mustRun("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], app);
    await checkApp(app);
  });

  it("work when pnpm installs them (isolated node_modules)", async () => {
    // @sandkit/local depends on @sandkit/core ^0.1.0, which is not on the registry yet. npm
    // satisfies it with the core tarball installed beside it; pnpm resolves each dependency on its
    // own, so point it at the same tarball, as the registry would once core is published.
    const app = await newApp("pnpm-app", { pnpm: { overrides: { "@sandkit/core": `file:${tarballs[0]}` } } });
    await mustRun("pnpm", ["add", "--reporter=append-only", ...tarballs], app);
    // Isolated layout: core's own folder holds no @sandkit/local next to it.
    expect(existsSync(join(app, "node_modules/.pnpm"))).toBe(true);
    await checkApp(app);
  });
});

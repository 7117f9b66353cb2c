import { type BackendCapabilitiesV1, ValidationError } from "@sandkit/core";
import { expect } from "vitest";
import { expectSandboxError, expectUnsupported } from "../assertions.js";
import { type ConformanceCase, noteUnsupported } from "../case.js";
import { capabilityMismatches } from "../options.js";

/** Asserts that `capabilities` has the shape and modes of `BackendCapabilitiesV1`. */
function expectValidCapabilities(capabilities: BackendCapabilitiesV1): void {
  expect(["live", "buffered"]).toContain(capabilities.exec.stream);
  for (const key of ["stdin", "env", "cwd"] as const) expect(typeof capabilities.exec[key], `exec.${key}`).toBe("boolean");
  expect(["native-archive", "per-file", "emulated", "none"]).toContain(capabilities.files);
  expect(["keep-alive", "fixed", "none"]).toContain(capabilities.ttl);
  expect(typeof capabilities.metrics).toBe("boolean");
  expect(Array.isArray(capabilities.codeLanguages)).toBe(true);
  for (const language of capabilities.codeLanguages) expect(typeof language).toBe("string");
  expect(typeof capabilities.attach).toBe("boolean");
  expect(["none", "namespace", "container", "microvm", "unknown"]).toContain(capabilities.isolation);
}

/** Cases about capabilities: the declaration, and typed errors for what is missing. */
export const capabilityCases = {
  "capabilities.declared": {
    title: "sandbox.capabilities is well formed and matches what the backend declared to the suite",
    async run(h, t) {
      await using sbx = await h.open();
      expectValidCapabilities(sbx.capabilities);
      expect(capabilityMismatches(sbx.capabilities, h.options.capabilities)).toEqual([]);
      if (Object.keys(h.options.capabilities).length === 0) {
        await t.annotate("no capabilities declared: the suite follows sandbox.capabilities", "notice");
      }
    },
  },

  "capabilities.run-code": {
    title: "runCode runs each declared language; an unknown language is a ValidationError (CapabilityUnsupportedError without runCode)",
    timeoutMs: 60_000,
    async run(h, t) {
      await using sbx = await h.open();
      const languages = h.capabilities(sbx).codeLanguages;
      if (languages.length === 0) {
        await expectUnsupported(() => sbx.runCode("print(6 * 7)", { language: "python" }), "runCode");
        return noteUnsupported(t, "runCode");
      }
      await expectSandboxError(() => sbx.runCode("1", { language: "sandkit-no-such-language" }), ValidationError, "runCode of an unknown language");
      for (const language of languages) {
        const sample = h.options.codeSamples[language];
        if (sample === undefined) {
          await t.annotate(`no sample code for ${language}: pass options.codeSamples to check it`, "warning");
          continue;
        }
        const r = await sbx.runCode(sample.code, { language, timeoutMs: h.scaled(30_000) });
        expect(r, `runCode ${language}: ${r.stderr}`).toMatchObject({ exitCode: 0, timedOut: false });
        expect(r.stdout.trim(), `runCode ${language}`).toBe(sample.stdout);
      }
    },
  },

  "capabilities.metrics": {
    title: "metrics returns figures in stated units (CapabilityUnsupportedError without metrics)",
    async run(h, t) {
      await using sbx = await h.open();
      if (!h.capabilities(sbx).metrics) {
        await expectUnsupported(() => sbx.metrics(), "metrics");
        return noteUnsupported(t, "metrics");
      }
      const metrics = await sbx.metrics();
      expect(metrics.takenAt).toBeInstanceOf(Date);
      for (const key of ["cpuPercent", "memoryBytes", "diskBytes"] as const) {
        const value = metrics[key];
        if (value !== undefined) expect(Number.isFinite(value) && value >= 0, `${key} = ${value}`).toBe(true);
      }
      if (metrics.running !== undefined) expect(metrics.running).toBe(true);
    },
  },

  "capabilities.keep-alive": {
    title: "keepAlive extends the sandbox's life (CapabilityUnsupportedError unless ttl is keep-alive)",
    async run(h, t) {
      await using sbx = await h.open();
      if (h.capabilities(sbx).ttl !== "keep-alive") {
        await expectUnsupported(() => sbx.keepAlive(), "keepAlive");
        return noteUnsupported(t, "keepAlive");
      }
      const before = Date.now();
      const result = await sbx.keepAlive({ ttlMs: 60_000 });
      if (result.expiresAt !== undefined) {
        expect(result.expiresAt).toBeInstanceOf(Date);
        expect(result.expiresAt.getTime(), "the new expiry is in the future").toBeGreaterThan(before);
      }
      expect((await sbx.exec(["echo", "alive"])).stdout).toBe("alive\n");
    },
  },
} satisfies Record<string, ConformanceCase>;

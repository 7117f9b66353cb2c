/** The package that provides each backend name, and the module export core calls. */
export const KNOWN_BACKENDS: Readonly<Record<string, { readonly packageName: string }>> = {
  local: { packageName: "@sandkit/local" },
  noxrunner: { packageName: "@sandkit/noxrunner" },
  provisioner: { packageName: "@sandkit/provisioner" },
  "sandbox-api": { packageName: "@sandkit/sandbox-api" },
  microsandbox: { packageName: "@sandkit/microsandbox" },
};

/** The names of {@link KNOWN_BACKENDS}, sorted. */
export const KNOWN_BACKEND_NAMES: readonly string[] = Object.keys(KNOWN_BACKENDS).sort();

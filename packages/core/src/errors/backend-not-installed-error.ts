import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link BackendNotInstalledError}. */
export interface BackendNotInstalledErrorOptions extends SandboxErrorOptions {
  /** The npm package that provides the backend, e.g. `"@sandkit/noxrunner"`. */
  readonly packageName: string;
}

/** The backend was named in the configuration but its package is not installed. */
export class BackendNotInstalledError extends SandboxError {
  static override readonly code = "BACKEND_NOT_INSTALLED";
  readonly packageName: string;
  constructor(message: string, options: BackendNotInstalledErrorOptions) {
    super(message, { suggestion: `Install it: npm install ${options.packageName}`, ...options });
    this.packageName = options.packageName;
  }
}
defineErrorMarker(BackendNotInstalledError, "BackendNotInstalledError");

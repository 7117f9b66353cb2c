import type { CapabilityName } from "../spec/v1/capabilities.js";
import { defineErrorMarker, SandboxError, type SandboxErrorOptions } from "./sandbox-error.js";

/** Options of {@link CapabilityUnsupportedError}. */
export interface CapabilityUnsupportedErrorOptions extends SandboxErrorOptions {
  readonly capability: CapabilityName;
}

/** The backend cannot do this, natively or through honest emulation. Names the backend and the capability. */
export class CapabilityUnsupportedError extends SandboxError {
  static override readonly code = "CAPABILITY_UNSUPPORTED";
  readonly capability: CapabilityName;
  constructor(message: string, options: CapabilityUnsupportedErrorOptions) {
    super(message, { suggestion: "Check sandbox.capabilities before calling, or choose another backend.", ...options });
    this.capability = options.capability;
  }
}
defineErrorMarker(CapabilityUnsupportedError, "CapabilityUnsupportedError");
